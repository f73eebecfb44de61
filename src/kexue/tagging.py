"""Character tagging and constrained Viterbi decoding, shared by several chapters.

* Word segmentation (notebooks/05-nncws) tags each character ``s`` (single-character word),
  ``b``/``m``/``e`` (begin/middle/end of a longer word) and decodes with hard transition rules.
* Couplet decoding (notebooks/06-couplet) and OCR correction (notebooks/07-ocr) run the same
  dynamic programme over top-k candidates per position with bigram transition scores.

Conventions: scores are log-probabilities (or any additive scores); ``-inf`` forbids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_array, check_int, check_type

__all__ = ["TAGS", "ALLOWED", "START", "END", "words_to_tags", "tags_to_words", "viterbi", "viterbi_batch"]

#: The BMES tag set in index order.
TAGS = ("s", "b", "m", "e")
_IDX = {t: i for i, t in enumerate(TAGS)}
#: ``ALLOWED[i, j]``: may tag ``TAGS[j]`` follow tag ``TAGS[i]``?  (s,e → s,b;  b,m → m,e)
ALLOWED = np.array(
    [[True, True, False, False],
     [False, False, True, True],
     [False, False, True, True],
     [True, True, False, False]]
)
#: Tags a sentence may start / end with.
START = (_IDX["s"], _IDX["b"])
END = (_IDX["s"], _IDX["e"])


def words_to_tags(words: Sequence[str]) -> list[str]:
    """BMES tags, one per character: ``["中国", "人"] -> ["b", "e", "s"]``.

    Raises ``TypeError`` unless ``words`` is a sequence of str, ``ValueError`` for an empty word.
    """
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise TypeError(f"words must be a sequence of str (not a str), got {type(words).__name__}")
    tags: list[str] = []
    for w in words:
        check_type(w, "words[i]", str)
        if not w:
            raise ValueError("words must not contain empty strings")
        tags.extend(["s"] if len(w) == 1 else ["b"] + ["m"] * (len(w) - 2) + ["e"])
    return tags


def tags_to_words(text: str, tags: Sequence[str]) -> list[str]:
    """Cut ``text`` into words according to BMES ``tags`` (one per character).

    A word ends after ``s`` or ``e``; the input is never altered, so ``"".join(result) == text``
    even for an invalid tag sequence (``b`` followed by ``s``, say, closes the open word first).
    Raises ``ValueError`` if the lengths differ or a tag is not one of s/b/m/e.
    """
    check_type(text, "text", str)
    if len(tags) != len(text):
        raise ValueError(f"tags must have one tag per character: {len(tags)} tags for {len(text)} characters")
    words: list[str] = []
    start = 0
    for i, t in enumerate(tags):
        if t not in _IDX:
            raise ValueError(f"tags must be among {TAGS}, got {t!r} at position {i}")
        if t in ("s", "b") and start < i:  # a new word begins: close an unfinished one
            words.append(text[start:i])
            start = i
        if t in ("s", "e"):
            words.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        words.append(text[start:])
    return words


def _check_allowed(allowed: np.ndarray | None, S: int) -> None:
    """``allowed`` is None or a bool array [S, S]."""
    if allowed is not None:
        check_array(allowed, "allowed", shape=(S, S))
        if allowed.dtype != np.bool_:
            raise TypeError(f"allowed must be a bool array, got {allowed.dtype}")


def _state_masks(S: int, start: Sequence[int] | None, end: Sequence[int] | None) -> dict[str, np.ndarray]:
    """Bool masks [S] of the permitted first (``"start"``) and last (``"end"``) states (None: all)."""
    masks = {}
    for name, states in (("start", start), ("end", end)):
        mask = np.zeros(S, dtype=bool)
        if states is None:
            mask[:] = True
        else:
            for s in states:
                check_int(s, f"{name} state", low=0, high=S - 1)
                mask[s] = True
        masks[name] = mask
    return masks


def viterbi(
    log_probs: np.ndarray,
    allowed: np.ndarray | None = None,
    start: Sequence[int] | None = None,
    end: Sequence[int] | None = None,
    transitions: np.ndarray | None = None,
) -> np.ndarray:
    """Highest-scoring state path under hard and soft transition constraints.

    Maximises ``sum_t log_probs[t, y_t] + sum_t transitions[(t,) y_t, y_{t+1}]`` over paths with
    ``allowed[y_t, y_{t+1}]`` true, ``y_0`` in ``start`` and ``y_{T-1}`` in ``end``.

    Shapes: ``log_probs`` [T, S] float; ``allowed`` [S, S] bool (None: all allowed);
    ``transitions`` [S, S] or [T-1, S, S] float (None: zero), e.g. per-position bigram scores
    between the top-k candidates of OCR or couplet decoding. Returns int64 indices [T]
    (empty for T = 0). Raises ``ValueError`` for bad shapes, out-of-range start/end states, or if
    no path satisfies the constraints.
    """
    check_array(log_probs, "log_probs", kind="float", ndim=2)
    T, S = log_probs.shape
    if S == 0:
        raise ValueError("log_probs must have at least one state (shape [T, S] with S >= 1)")
    _check_allowed(allowed, S)
    if transitions is not None:
        check_array(transitions, "transitions", kind="float", ndim=(2, 3))
        if transitions.shape[-2:] != (S, S) or (transitions.ndim == 3 and transitions.shape[0] != max(T - 1, 0)):
            raise ValueError(f"transitions must have shape [{S}, {S}] or [{max(T - 1, 0)}, {S}, {S}], "
                             f"got {transitions.shape}")
    masks = _state_masks(S, start, end)
    if T == 0:
        return np.zeros(0, dtype=np.int64)

    neg = -np.inf
    trans_fixed = np.zeros((S, S)) if transitions is None or transitions.ndim == 3 else transitions.astype(np.float64)
    if allowed is not None:
        trans_fixed = np.where(allowed, trans_fixed, neg)
    score = np.where(masks["start"], log_probs[0].astype(np.float64), neg)
    back = np.zeros((T, S), dtype=np.int64)
    for t in range(1, T):
        trans = trans_fixed
        if transitions is not None and transitions.ndim == 3:
            trans = transitions[t - 1].astype(np.float64)
            if allowed is not None:
                trans = np.where(allowed, trans, neg)
        cand = score[:, None] + trans  # [from, to]
        back[t] = np.argmax(cand, axis=0)
        score = cand[back[t], np.arange(S)] + log_probs[t]
    score = np.where(masks["end"], score, neg)
    last = int(np.argmax(score))
    if not np.isfinite(score[last]):
        raise ValueError("no state path satisfies the constraints (allowed/start/end) with finite score")
    path = np.empty(T, dtype=np.int64)
    path[-1] = last
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def viterbi_batch(
    log_probs: np.ndarray,
    lengths: np.ndarray,
    allowed: np.ndarray | None = None,
    start: Sequence[int] | None = None,
    end: Sequence[int] | None = None,
    transitions: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`viterbi` for a padded batch of sequences, vectorised over the batch.

    Shapes: ``log_probs`` [B, T, S] float (positions ``t >= lengths[b]`` are ignored);
    ``lengths`` [B] int in ``[0, T]``; ``allowed`` [S, S] bool; ``transitions`` [S, S] float (one
    matrix for every position). Returns int64 paths [B, T], padded with -1 after each sequence's
    end. Each row equals ``viterbi(log_probs[b, :lengths[b]], ...)`` (ties may resolve alike).
    Raises ``ValueError`` for bad shapes or lengths, out-of-range start/end states, or if some
    sequence has no path satisfying the constraints.
    """
    check_array(log_probs, "log_probs", kind="float", ndim=3)
    B, T, S = log_probs.shape
    if S == 0:
        raise ValueError("log_probs must have at least one state (shape [B, T, S] with S >= 1)")
    check_array(lengths, "lengths", kind="int", shape=(B,))
    if B and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"lengths must lie in [0, {T}], got range [{lengths.min()}, {lengths.max()}]")
    trans = np.zeros((S, S))
    if transitions is not None:
        check_array(transitions, "transitions", kind="float", shape=(S, S))
        trans = transitions.astype(np.float64)
    if allowed is not None:
        _check_allowed(allowed, S)
        trans = np.where(allowed, trans, -np.inf)
    masks = _state_masks(S, start, end)
    paths = np.full((B, T), -1, dtype=np.int64)
    if B == 0 or T == 0:
        return paths
    lengths = lengths.astype(np.int64)
    dtype = np.float64 if log_probs.dtype == np.float64 else np.float32
    trans = trans.astype(dtype)
    score = np.where(masks["start"], log_probs[:, 0].astype(dtype), -np.inf)  # [B, S]
    final = np.full((B, S), -np.inf, dtype=dtype)
    done = lengths == 1
    final[done] = score[done]
    back = np.zeros((T, B, S), dtype=np.int8 if S <= 127 else np.int64)
    for t in range(1, T):
        cand = score[:, :, None] + trans  # [B, from, to]
        arg = np.argmax(cand, axis=1)  # [B, to]
        back[t] = arg
        score = np.take_along_axis(cand, arg[:, None, :], axis=1)[:, 0, :] + log_probs[:, t]
        ends = lengths == t + 1
        if ends.any():
            final[ends] = score[ends]
    final = np.where(masks["end"], final, -np.inf)
    last = np.argmax(final, axis=1)
    live = lengths > 0
    if not np.isfinite(final[np.arange(B), last][live]).all():
        raise ValueError("no state path satisfies the constraints (allowed/start/end) with finite score")
    state = last.copy()
    rows = np.arange(B)
    for t in range(T - 1, -1, -1):
        on = lengths > t  # sequences that reach position t
        at_end = lengths == t + 1
        state = np.where(at_end, last, state)
        paths[on, t] = state[on]
        if t > 0:
            state = np.where(on, back[t, rows, state].astype(np.int64), state)
    return paths
