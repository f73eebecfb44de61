import itertools

import numpy as np
import pytest

from kexue.tagging import ALLOWED, END, START, TAGS, tags_to_words, viterbi, words_to_tags


def test_words_to_tags_and_back():
    words = ["迈向", "充满", "希望", "的", "新", "世纪", "——", "一九九八年"]
    tags = words_to_tags(words)
    assert tags[:5] == ["b", "e", "b", "e", "b"]
    assert "".join(tags[-5:]) == "bmmme"
    assert tags_to_words("".join(words), tags) == words


def test_tags_to_words_never_alters_text_on_invalid_sequences():
    text = "abcdef"
    for tags in itertools.product(TAGS, repeat=len(text)):
        assert "".join(tags_to_words(text, tags)) == text


@pytest.mark.parametrize("bad,exc,match", [("中国", TypeError, "words"), (["中", ""], ValueError, "empty"),
                                           ([1], TypeError, r"words\[i\]")])
def test_words_to_tags_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        words_to_tags(bad)


def test_tags_to_words_bad_input():
    with pytest.raises(ValueError, match="one tag per character"):
        tags_to_words("ab", ["s"])
    with pytest.raises(ValueError, match="tags must be among"):
        tags_to_words("ab", ["s", "x"])


def brute_force(log_probs, allowed, start, end, transitions=None):
    T, S = log_probs.shape
    best, arg = -np.inf, None
    for path in itertools.product(range(S), repeat=T):
        if path[0] not in start or path[-1] not in end:
            continue
        if any(not allowed[a, b] for a, b in zip(path, path[1:])):
            continue
        s = sum(log_probs[t, y] for t, y in enumerate(path))
        if transitions is not None:
            s += sum((transitions[t] if transitions.ndim == 3 else transitions)[a, b]
                     for t, (a, b) in enumerate(zip(path, path[1:])))
        if s > best:
            best, arg = s, path
    return np.array(arg)


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_matches_brute_force_with_bmes_constraints(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 7))
    lp = np.log(rng.dirichlet(np.ones(4), size=T))
    path = viterbi(lp, ALLOWED, START, END)
    np.testing.assert_array_equal(path, brute_force(lp, ALLOWED, START, END))
    tags = [TAGS[i] for i in path]
    assert tags[0] in "sb" and tags[-1] in "se"


@pytest.mark.parametrize("seed", range(10))
def test_viterbi_with_per_step_transitions_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    T, S = 5, 3
    lp = rng.normal(size=(T, S))
    tr = rng.normal(size=(T - 1, S, S))
    allowed = np.ones((S, S), dtype=bool)
    np.testing.assert_array_equal(viterbi(lp, transitions=tr), brute_force(lp, allowed, range(S), range(S), tr))
    tr2 = rng.normal(size=(S, S))
    np.testing.assert_array_equal(viterbi(lp, transitions=tr2), brute_force(lp, allowed, range(S), range(S), tr2))


def test_viterbi_edge_cases_and_bad_input():
    assert viterbi(np.zeros((0, 4))).shape == (0,)
    with pytest.raises(TypeError, match="log_probs"):
        viterbi(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="log_probs"):
        viterbi(np.zeros(4))
    with pytest.raises(ValueError, match="allowed"):
        viterbi(np.zeros((3, 4)), np.ones((3, 3), dtype=bool))
    with pytest.raises(TypeError, match="allowed must be a bool array"):
        viterbi(np.zeros((3, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="transitions"):
        viterbi(np.zeros((3, 4)), transitions=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="start state"):
        viterbi(np.zeros((3, 4)), start=[4])
    # a single character can only be 's' under BMES rules
    assert TAGS[viterbi(np.log(np.array([[0.01, 0.97, 0.01, 0.01]])), ALLOWED, START, END)[0]] == "s"
    with pytest.raises(ValueError, match="no state path"):
        viterbi(np.zeros((1, 4)), ALLOWED, start=[2], end=END)  # a lone "m" cannot end


def test_viterbi_batch_matches_viterbi_rowwise():
    from kexue.tagging import viterbi_batch

    rng = np.random.default_rng(0)
    lengths = np.array([0, 1, 2, 5, 9, 9, 3])
    lp = rng.normal(size=(len(lengths), 9, 4))
    lp[np.arange(9)[None, :] >= lengths[:, None]] = 123.0  # padding must be ignored
    trans = rng.normal(size=(4, 4))
    for kw in ({}, {"transitions": trans}):
        paths = viterbi_batch(lp, lengths, ALLOWED, START, END, **kw)
        assert paths.shape == lp.shape[:2]
        for b, n in enumerate(lengths):
            ref = viterbi(lp[b, :n], ALLOWED, START, END, **kw)
            assert paths[b, :n].tolist() == ref.tolist()
            assert (paths[b, n:] == -1).all()


def test_viterbi_batch_bad_input():
    from kexue.tagging import viterbi_batch

    lp = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="log_probs"):
        viterbi_batch(np.zeros((3, 4)), np.array([1, 2]))
    with pytest.raises(TypeError, match="lengths"):
        viterbi_batch(lp, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="lengths"):
        viterbi_batch(lp, np.array([1, 4]))
    with pytest.raises(ValueError, match="transitions"):
        viterbi_batch(lp, np.array([1, 2]), transitions=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="allowed"):
        viterbi_batch(lp, np.array([1, 2]), allowed=np.ones((4, 4)))
    with pytest.raises(ValueError, match="start"):
        viterbi_batch(lp, np.array([1, 2]), start=(7,))
    with pytest.raises(ValueError, match="no state path"):
        viterbi_batch(lp, np.array([1, 2]), allowed=np.zeros((4, 4), bool))
