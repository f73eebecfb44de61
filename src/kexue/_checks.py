"""Argument checking shared by every module.

Each helper raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, bad value)
with a message that names the argument, and returns the value unchanged so that it can be used inline.
Nothing is coerced silently.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "check_type",
    "check_choice",
    "check_number",
    "check_int",
    "check_tensor",
    "check_array",
    "check_same_shape",
    "check_reduction",
]


def _typename(value: Any) -> str:
    return type(value).__name__


def check_type(value: Any, name: str, types: type | tuple[type, ...]) -> Any:
    """Raise ``TypeError`` unless ``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        wanted = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise TypeError(f"{name} must be {wanted}, got {_typename(value)}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real number (not bool) within ``[low, high]`` (bounds optional, inclusivity per side)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_typename(value)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value!r}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {value!r}")
    return value


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not bool) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_typename(value)}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return int(value)


def _check_kind(dtype_is_floating: bool, dtype_is_int: bool, dtype_repr: str, name: str, kind: str | None) -> None:
    if kind is None:
        return
    if kind == "float" and not dtype_is_floating:
        raise TypeError(f"{name} must have a floating-point dtype, got {dtype_repr}")
    if kind == "int" and not dtype_is_int:
        raise TypeError(f"{name} must have an integer dtype, got {dtype_repr}")


def _check_dims(shape: Sequence[int], name: str, ndim: int | Sequence[int] | None, min_ndim: int | None,
                shape_spec: Sequence[int | None] | None) -> None:
    nd = len(shape)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if nd not in allowed:
            want = " or ".join(map(str, allowed))
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(shape)}")
    if min_ndim is not None and nd < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(shape)}")
    if shape_spec is not None:
        if len(shape_spec) != nd or any(s is not None and s != d for s, d in zip(shape_spec, shape)):
            spec = tuple("?" if s is None else s for s in shape_spec)
            raise ValueError(f"{name} must have shape {spec}, got {tuple(shape)}")


def check_tensor(
    x: Any,
    name: str,
    *,
    kind: str | None = None,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = False,
):
    """A ``torch.Tensor`` with optional dtype kind (``"float"``/``"int"``), rank and shape (``None`` = any)."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_typename(x)}")
    _check_kind(x.is_floating_point(), not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool,
                str(x.dtype), name, kind)
    _check_dims(x.shape, name, ndim, min_ndim, shape)
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must contain only finite values")
    return x


def check_array(
    x: Any,
    name: str,
    *,
    kind: str | None = None,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = False,
):
    """A ``numpy.ndarray`` with optional dtype kind, rank and shape; see :func:`check_tensor`."""
    import numpy as np

    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {_typename(x)}")
    _check_kind(np.issubdtype(x.dtype, np.floating), np.issubdtype(x.dtype, np.integer), str(x.dtype), name, kind)
    _check_dims(x.shape, name, ndim, min_ndim, shape)
    if finite and np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError(f"{name} must contain only finite values")
    return x


def check_same_shape(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a.shape == b.shape``."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{name_b} must have the same shape as {name_a}: {tuple(b.shape)} != {tuple(a.shape)}")


REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: Any, name: str = "reduction") -> str:
    """One of ``"none"``, ``"mean"``, ``"sum"``."""
    check_type(reduction, name, str)
    return check_choice(reduction, name, REDUCTIONS)
