import numpy as np
import pytest
import torch

from kexue import _checks as c


def test_check_type_names_argument():
    assert c.check_type(3, "n", int) == 3
    with pytest.raises(TypeError, match="n must be int, got str"):
        c.check_type("3", "n", int)
    with pytest.raises(TypeError, match="x must be int or float"):
        c.check_type(None, "x", (int, float))


def test_check_choice():
    assert c.check_choice("a", "mode", ["a", "b"]) == "a"
    with pytest.raises(ValueError, match="mode must be one of 'a', 'b'; got 'c'"):
        c.check_choice("c", "mode", ["a", "b"])


@pytest.mark.parametrize("bad", [True, "1", None, [1.0]])
def test_check_number_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="gamma must be a real number"):
        c.check_number(bad, "gamma")


def test_check_number_bounds_and_finiteness():
    assert c.check_number(0.0, "a", low=0.0) == 0.0
    with pytest.raises(ValueError, match="a must be > 0"):
        c.check_number(0.0, "a", low=0.0, low_inclusive=False)
    with pytest.raises(ValueError, match="a must be <= 1"):
        c.check_number(1.5, "a", high=1)
    with pytest.raises(ValueError, match="a must be finite"):
        c.check_number(float("nan"), "a")
    assert c.check_number(np.float64(0.5), "a", low=0, high=1) == 0.5


def test_check_int():
    assert c.check_int(np.int64(3), "k", low=1) == 3
    with pytest.raises(TypeError, match="k must be an int"):
        c.check_int(3.0, "k")
    with pytest.raises(TypeError, match="k must be an int"):
        c.check_int(True, "k")
    with pytest.raises(ValueError, match="k must be >= 1"):
        c.check_int(0, "k", low=1)


def test_check_tensor_kind_rank_shape():
    x = torch.zeros(2, 3)
    assert c.check_tensor(x, "x", kind="float", ndim=2, shape=(2, None)) is x
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        c.check_tensor(np.zeros(3), "x")
    with pytest.raises(TypeError, match="x must have an integer dtype"):
        c.check_tensor(x, "x", kind="int")
    with pytest.raises(TypeError, match="t must have a floating-point dtype"):
        c.check_tensor(torch.zeros(3, dtype=torch.long), "t", kind="float")
    with pytest.raises(TypeError, match="integer dtype"):
        c.check_tensor(torch.zeros(3, dtype=torch.bool), "t", kind="int")
    with pytest.raises(ValueError, match=r"x must have 1 or 3 dimension\(s\)"):
        c.check_tensor(x, "x", ndim=(1, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(3, '\?'\)"):
        c.check_tensor(x, "x", shape=(3, None))
    with pytest.raises(ValueError, match="at least 3"):
        c.check_tensor(x, "x", min_ndim=3)
    with pytest.raises(ValueError, match="finite"):
        c.check_tensor(torch.tensor([1.0, float("inf")]), "x", finite=True)


def test_check_array():
    a = np.zeros((4,), dtype=np.int32)
    assert c.check_array(a, "a", kind="int", ndim=1) is a
    with pytest.raises(TypeError, match="a must be a numpy.ndarray"):
        c.check_array([1, 2], "a")
    with pytest.raises(TypeError, match="floating-point"):
        c.check_array(a, "a", kind="float")
    with pytest.raises(ValueError, match="finite"):
        c.check_array(np.array([np.nan]), "a", finite=True)


def test_check_same_shape_and_reduction():
    c.check_same_shape(torch.zeros(2), torch.ones(2), "a", "b")
    with pytest.raises(ValueError, match=r"targets must have the same shape as logits"):
        c.check_same_shape(torch.zeros(2), torch.ones(3), "logits", "targets")
    assert c.check_reduction("sum") == "sum"
    with pytest.raises(ValueError, match="reduction must be one of"):
        c.check_reduction("avg")
    with pytest.raises(TypeError, match="reduction must be str"):
        c.check_reduction(None)
