import math

import numpy as np
import pytest
import scipy.sparse as sps

from kexue.embeddings import (
    WordVectors,
    build_vocab,
    cooccurrence,
    evaluate_analogy,
    evaluate_similarity,
    ppmi,
    svd_embeddings,
    train_ppmi_svd,
    train_sgns,
)

TOY = [["a", "b", "c", "a"], ["b", "c", "d"], ["a", "x"]]


def brute_counts(sentences, vocab, window, dynamic):
    idx = {w: i for i, w in enumerate(vocab)}
    m = np.zeros((len(vocab), len(vocab)))
    for s in sentences:
        s = [w for w in s if w in idx]
        for i, w in enumerate(s):
            for j, c in enumerate(s):
                d = abs(i - j)
                if 1 <= d <= window:
                    m[idx[w], idx[c]] += (window - d + 1) / window if dynamic else 1
    return m


@pytest.mark.parametrize("window,dynamic", [(1, False), (2, True), (3, False), (5, True)])
def test_cooccurrence_matches_brute_force(window, dynamic):
    rng = np.random.default_rng(window)
    sents = [[f"w{rng.zipf(1.6) % 12}" for _ in range(rng.integers(1, 15))] for _ in range(40)]
    vocab, counts = cooccurrence(sents, window=window, min_count=2, dynamic_window=dynamic)
    assert sps.issparse(counts) and counts.shape == (len(vocab), len(vocab))
    np.testing.assert_allclose(counts.toarray(), brute_counts(sents, vocab, window, dynamic))
    assert abs(counts - counts.T).max() < 1e-12


@pytest.mark.parametrize("V,window", [(5, 3), (70_000, 2), (3_000, 1000)])  # uint32 keys; uint64 keys (twice)
def test_count_pairs_packed_keys_match_a_dictionary(V, window):
    from collections import Counter

    from kexue.embeddings import _count_pairs

    rng = np.random.default_rng(V)
    ids = rng.integers(0, V, size=600) if V > 5 else rng.integers(0, V, size=60)
    sent = np.sort(rng.integers(0, 9, size=len(ids)))
    ref = Counter()
    for i in range(len(ids)):
        for j in range(i + 1, min(i + window, len(ids) - 1) + 1):
            if sent[i] == sent[j]:
                ref[int(ids[i]), int(ids[j])] += window - (j - i) + 1
                ref[int(ids[j]), int(ids[i])] += window - (j - i) + 1
    m = _count_pairs(ids, sent, V, window, dynamic_window=True).tocoo()
    got = {(int(r), int(c)): v for r, c, v in zip(m.row, m.col, m.data)}
    assert got.keys() == ref.keys()
    assert all(got[k] == pytest.approx(v / window, rel=1e-12) for k, v in ref.items())


def test_vocab_order_and_oov_deleted_before_windowing():
    vocab, counts = build_vocab(TOY, min_count=2)
    assert vocab == ["a", "b", "c"] and counts.tolist() == [3, 2, 2]
    vocab, m = cooccurrence([["a", "zz", "b"]] * 2, window=1, min_count=2, dynamic_window=False)
    # "zz" is in the vocabulary here, so a and b are not adjacent
    assert m[vocab.index("a"), vocab.index("b")] == 0
    vocab, m = cooccurrence([["a", "zz", "b"], ["a", "b"]], window=1, min_count=2, dynamic_window=False)
    assert vocab == ["a", "b"] and m[0, 1] == 2  # zz (count 1) deleted first: a, b become neighbours


def test_drop_isolated_removes_words_without_neighbours():
    from kexue.embeddings import drop_isolated

    vocab, counts = cooccurrence([["a", "b"], ["c"], ["a", "b"], ["c"]], window=1, min_count=1)
    vocab2, counts2 = drop_isolated(vocab, counts)
    assert vocab2 == ["a", "b"] and counts2.shape == (2, 2)
    ppmi(counts2)  # no empty rows any more
    with pytest.raises(ValueError, match="empty rows"):
        ppmi(counts)


def test_ppmi_matches_float64_formula():
    rng = np.random.default_rng(0)
    c = rng.poisson(2.0, size=(6, 7)).astype(float) + np.eye(6, 7)
    c[:, c.sum(0) == 0] = 1
    for cds, k in [(1.0, 1.0), (0.75, 1.0), (0.75, 5.0)]:
        pc = c.sum(0) ** cds
        pmi = np.log(c * pc.sum() / (c.sum(1, keepdims=True) * pc))
        expected = np.where(c > 0, np.maximum(pmi - math.log(k), 0), 0)
        np.testing.assert_allclose(ppmi(sps.csr_matrix(c), cds=cds, shift=k).toarray(), expected, atol=1e-12)
        np.testing.assert_allclose(ppmi(c, cds=cds, shift=k).toarray(), expected, atol=1e-12)


def test_svd_embeddings_reconstruct_low_rank_and_are_deterministic():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 20))
    e = svd_embeddings(a, 3, eig=1.0)
    u, s, _ = np.linalg.svd(a)
    np.testing.assert_allclose(np.abs(e), np.abs(u[:, :3] * s[:3]), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(e, svd_embeddings(a, 3, eig=1.0))
    np.testing.assert_allclose(np.linalg.norm(svd_embeddings(a, 3, eig=0.0), axis=0), 1, rtol=1e-5)


def test_word_vectors_queries():
    wv = WordVectors(["a", "b", "c", "d"], np.array([[1.0, 0], [0.9, 0.1], [0, 1], [-1, 0]]))
    assert "a" in wv and "z" not in wv and len(wv) == 4
    assert wv.similarity("a", "d") == pytest.approx(-1)
    near = wv.most_similar("a", n=3)
    assert [w for w, _ in near] == ["b", "c", "d"] and near[0][1] == pytest.approx(0.9 / math.hypot(0.9, 0.1))
    np.testing.assert_array_equal(wv["c"], [0, 1])
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        wv["z"]


def test_evaluate_similarity_and_analogy():
    wv = WordVectors(["man", "woman", "king", "queen", "apple"],
                     np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=float))
    rho, cov = evaluate_similarity(wv, [("man", "woman", 5), ("king", "queen", 6), ("man", "apple", 0),
                                        ("man", "zzz", 3)])
    assert cov == 0.75 and rho == pytest.approx(1.0)
    for method in ("3cosadd", "3cosmul"):
        acc, cov = evaluate_analogy(wv, [("man", "woman", "king", "queen"), ("a", "b", "c", "d")], method=method)
        assert (acc, cov) == (1.0, 0.5)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: cooccurrence("a b c"), TypeError, "sentences"),
        (lambda: cooccurrence([["a"]], window=0), ValueError, "window"),
        (lambda: cooccurrence([["a"]], min_count=5), ValueError, "min_count"),
        (lambda: ppmi([[1, 2]]), TypeError, "counts"),
        (lambda: ppmi(np.ones((2, 2)), cds=0), ValueError, "cds"),
        (lambda: ppmi(np.ones((2, 2)), shift=0.5), ValueError, "shift"),
        (lambda: ppmi(-np.ones((2, 2))), ValueError, "non-negative"),
        (lambda: ppmi(np.array([[1.0, 0], [1, 0]])), ValueError, "empty"),
        (lambda: svd_embeddings(np.ones((4, 3)), 3), ValueError, "dim"),
        (lambda: svd_embeddings(np.ones((4, 3)), 1, eig=2), ValueError, "eig"),
        (lambda: WordVectors(["a"], np.ones((2, 2))), ValueError, "disagree"),
        (lambda: WordVectors(["a", "a"], np.ones((2, 2))), ValueError, "distinct"),
        (lambda: WordVectors(["a"], [[1.0]]), TypeError, "vectors"),
        (lambda: evaluate_analogy(WordVectors(["a"], np.ones((1, 2))), [("a",)]), ValueError, "4-tuples"),
        (lambda: evaluate_analogy(WordVectors(["a"], np.ones((1, 2))), [], method="x"), ValueError, "method"),
        (lambda: evaluate_similarity(WordVectors(["a"], np.ones((1, 2))), []), ValueError, "empty"),
        (lambda: train_sgns(TOY, min_count=1, negative=0), ValueError, "negative"),
        (lambda: train_sgns(TOY, min_count=1, ns_exponent=2), ValueError, "ns_exponent"),
        (lambda: train_sgns(TOY, min_count=1, threads=0), ValueError, "threads"),
        (lambda: train_sgns(TOY, min_count=1, chunk_tokens=0), ValueError, "chunk_tokens"),
        (lambda: train_sgns(TOY, min_count=1, batch_size=0), ValueError, "batch_size"),
        (lambda: svd_embeddings(np.ones((4, 3)), 1, method="lapack"), ValueError, "method"),
        (lambda: svd_embeddings(np.ones((4, 3)), 1, n_iter=-1), ValueError, "n_iter"),
        (lambda: svd_embeddings(np.ones((4, 3)), 1, threads=0), ValueError, "threads"),
        (lambda: train_sgns(TOY, min_count=1, loss_every=0), ValueError, "loss_every"),
        (lambda: build_vocab([["a", 1]], min_count=1), TypeError, "tokens"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def planted_corpus(seed=0, n_sent=3000):
    """Two topics whose words co-occur only within their topic."""
    rng = np.random.default_rng(seed)
    topics = [[f"x{i}" for i in range(10)], [f"y{i}" for i in range(10)]]
    return [list(rng.choice(topics[rng.integers(2)], size=8)) for _ in range(n_sent)]


@pytest.mark.parametrize("train", [train_ppmi_svd, train_sgns])
def test_training_recovers_planted_topics(train):
    corpus = planted_corpus(n_sent=1500)
    kwargs = dict(dim=8, window=3, min_count=1)
    if train is train_sgns:
        kwargs.update(epochs=3, sample=0.0, progress=False, batch_size=32)
    wv = train(corpus, **kwargs)
    same = np.mean([wv.similarity("x0", f"x{i}") for i in range(1, 10)])
    other = np.mean([wv.similarity("x0", f"y{i}") for i in range(10)])
    assert same > other + 0.3
    assert all(w.startswith("x") for w, _ in wv.most_similar("x0", n=5))


def test_sgns_is_deterministic():
    corpus = planted_corpus(1, 500)
    kw = dict(dim=4, window=2, epochs=1, min_count=1, sample=0.0, seed=3, progress=False, batch_size=16)
    a, b = train_sgns(corpus, **kw), train_sgns(corpus, **kw)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.contexts, b.contexts)
    assert not np.array_equal(a.vectors, train_sgns(corpus, **{**kw, "seed": 4}).vectors)


def test_sgns_divergence_is_an_error_not_nan():
    with pytest.raises(FloatingPointError, match="diverged"):
        train_sgns(planted_corpus(), dim=8, window=3, min_count=1, epochs=1, sample=0.0, alpha=50.0,
                   batch_size=4096, progress=False)


def test_vocab_and_ids_match_a_slow_reference():
    from collections import Counter

    from kexue.embeddings import _vocab_and_ids

    rng = np.random.default_rng(5)
    sents = [[f"w{rng.zipf(1.5) % 30}" for _ in range(rng.integers(0, 12))] for _ in range(60)]
    vocab, counts, ids, sent = _vocab_and_ids(sents, 3)
    c = Counter(w for s in sents for w in s)
    ref = sorted((w for w in c if c[w] >= 3), key=lambda w: (-c[w], w))
    assert vocab == ref and counts.tolist() == [c[w] for w in ref]
    index = {w: i for i, w in enumerate(ref)}
    ref_ids = [index[w] for s in sents for w in s if w in index]
    ref_sent = [i for i, s in enumerate(sents) for w in s if w in index]
    assert ids.tolist() == ref_ids and sent.tolist() == ref_sent


def test_sgns_windows_and_chunks_match_loops():
    from kexue.embeddings import _sentence_chunks, _sgns_windows

    rng = np.random.default_rng(2)
    sent = np.repeat(np.arange(30), rng.integers(1, 9, size=30))
    ids = rng.integers(0, 50, size=len(sent))
    reach = rng.integers(1, 4, size=len(sent))
    for r in (1, 2, 3):
        centre, ctx, mask = _sgns_windows(ids, sent, reach, r)
        expected = []
        for i in np.flatnonzero(reach == r):
            row = [ids[j] for j in range(i - r, i + r + 1) if j != i and 0 <= j < len(ids) and sent[j] == sent[i]]
            expected.append(sorted(row))
        got = [sorted(ctx[b][mask[b] == 1].tolist()) for b in range(len(centre))]
        assert got == expected and centre.tolist() == ids[reach == r].tolist()
    pieces = _sentence_chunks(sent, 7)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(sent)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:]))  # contiguous
    assert all(a == 0 or sent[a] != sent[a - 1] for a, _ in pieces)  # cut only at sentence starts


def test_sgns_manual_gradient_equals_autograd_of_negative_sampling_loss():
    import torch

    from kexue.embeddings import _sgns_batch_grads
    from kexue.nce import negative_sampling_loss

    g = torch.Generator().manual_seed(0)
    B, m, K, d = 7, 4, 6, 5
    inp = torch.randn(B, m, d, generator=g, dtype=torch.float64, requires_grad=True)
    out = torch.randn(B, K, d, generator=g, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(B, m, generator=g) < 0.7).double()
    # reference: loop over the real (context, centre) pairs, the loss straight from kexue.nce
    total = 0.0
    for b in range(B):
        for i in range(m):
            if mask[b, i]:
                scores = out[b] @ inp[b, i]  # [K]: the centre word, then the negatives
                total = total + negative_sampling_loss(scores[:1], scores[1:].unsqueeze(0), reduction="sum")
    total.backward()
    loss, g_inp, g_out = _sgns_batch_grads(inp.detach(), out.detach(), mask)
    assert float(loss) == pytest.approx(float(total.detach()), rel=1e-12)
    torch.testing.assert_close(g_inp, inp.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_out, out.grad, rtol=1e-10, atol=1e-12)


def test_sgns_scaled_gradients_and_skipped_loss():
    import torch

    from kexue.embeddings import _sgns_batch_grads

    g = torch.Generator().manual_seed(1)
    inp, out = torch.randn(3, 4, 5, generator=g), torch.randn(3, 6, 5, generator=g)
    mask = torch.tensor([[1.0, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    loss, gi, go = _sgns_batch_grads(inp, out, mask)
    none, si, so = _sgns_batch_grads(inp, out, mask, scale=-0.025, with_loss=False)
    assert none is None and float(loss) > 0
    torch.testing.assert_close(si, -0.025 * gi)
    torch.testing.assert_close(so, -0.025 * go)


def test_randomized_svd_is_the_same_on_one_or_two_threads():
    rng = np.random.default_rng(4)
    a = sps.random(300, 200, density=0.05, random_state=rng, format="csr")
    one = svd_embeddings(a, 10, threads=1)
    two = svd_embeddings(a, 10, threads=2)
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-5 * np.abs(one).max())


def test_randomized_svd_agrees_with_arpack():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(200, 12)) @ np.diag(np.linspace(10, 1, 12)) @ rng.normal(size=(12, 150))
    a = sps.csr_matrix(a * (rng.random(a.shape) < 0.5))  # sparse, full rank, decaying spectrum
    fast = svd_embeddings(a, 5, eig=1.0, method="randomized", n_iter=6)
    ref = svd_embeddings(a, 5, eig=1.0, method="arpack")
    np.testing.assert_allclose(np.linalg.norm(fast, axis=0), np.linalg.norm(ref, axis=0), rtol=1e-3)
    np.testing.assert_allclose(fast, ref, atol=1e-2 * np.abs(ref).max())  # same signs after the sign fix


def test_sgns_reports_decreasing_loss_and_runs_hogwild():
    corpus = planted_corpus(2, 800)
    kw = dict(dim=8, window=3, epochs=3, min_count=1, sample=0.0, progress=False, batch_size=64, chunk_tokens=1000)
    wv = train_sgns(corpus, **kw)
    assert len(wv.losses) == 3 and wv.losses[0] > wv.losses[-1] > 0
    wv2 = train_sgns(corpus, threads=2, **kw)  # two workers, lock-free: not reproducible, but must learn
    same = np.mean([wv2.similarity("x0", f"x{i}") for i in range(1, 10)])
    other = np.mean([wv2.similarity("x0", f"y{i}") for i in range(10)])
    assert same > other + 0.3
