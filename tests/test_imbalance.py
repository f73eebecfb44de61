"""Tests for kexue.imbalance: data makers, metrics against hand-computed values, trainers, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kexue.focal import binary_focal_loss, focal_loss
from kexue.imbalance import (
    binary_metrics,
    expected_calibration_error,
    long_tail_counts,
    long_tailed_digits,
    make_blobs,
    make_long_tailed_blobs,
    multiclass_metrics,
    train_binary_mlps,
    train_softmax_classifier,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: a second thread only adds stalls on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_make_blobs_counts_and_determinism():
    X, y = make_blobs(2000, pos_frac=0.015, seed=3)
    assert X.shape == (2000, 2) and y.shape == (2000,) and X.dtype == np.float32
    assert y.sum() == 30 and set(np.unique(y)) == {0.0, 1.0}
    X2, y2 = make_blobs(2000, pos_frac=0.015, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    # the positives are shifted by sep/√2 in each coordinate
    assert abs(X[y == 0].mean(0)).max() < 0.1
    assert np.allclose(X[y == 1].mean(0) - X[y == 0].mean(0), 2.5 / np.sqrt(2), atol=0.5)


def test_ece_hand_values():
    # binary: every prediction 0.9, every label 1 -> |0.9 - 1| = 0.1
    assert expected_calibration_error(np.full(10, 0.9), np.ones(10)) == pytest.approx(0.1)
    # perfectly calibrated bin: p = 0.3 with 3 of 10 positive
    assert expected_calibration_error(np.full(10, 0.3), np.array([1, 1, 1] + [0] * 7)) == pytest.approx(0.0)
    # two bins of 2: (0.2, labels 0,0) -> 0.2; (0.8, labels 1,0) -> 0.3; weighted mean 0.25
    assert expected_calibration_error(np.array([0.2, 0.2, 0.8, 0.8]), np.array([0, 0, 1, 0])) == pytest.approx(0.25)
    # multi-class top label: confidence 0.7 and 0.6, one right one wrong -> bins apart: (0.3 + 0.6) / 2
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2]])
    assert expected_calibration_error(probs, np.array([0, 0])) == pytest.approx((0.3 + 0.6) / 2)


def test_binary_metrics_perfect_and_logloss():
    y = np.array([0, 0, 1, 1], dtype=np.float32)
    m = binary_metrics(np.array([-5.0, -3.0, 4.0, 6.0], dtype=np.float32), y)
    assert m["ap"] == 1.0 and m["f1"] == 1.0
    z = np.array([0.0, 0.0, 0.0, 0.0], dtype=np.float32)
    assert binary_metrics(z, y)["logloss"] == pytest.approx(np.log(2))


def test_long_tail_counts_and_digits():
    c = long_tail_counts(100, 50.0, 10)
    assert c[0] == 100 and c[-1] == 2 and c == sorted(c, reverse=True) and c[0] / c[-1] >= 50
    Xtr, ytr, Xte, yte, order = long_tailed_digits(ratio=50.0, n_max=100, n_test=70, seed=1)
    assert Xtr.shape[1] == 64 and Xtr.max() <= 1.0 and Xtr.min() >= 0.0
    assert [int((ytr == d).sum()) for d in order] == c
    assert np.bincount(yte).tolist() == [70] * 10
    assert sorted(order.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="n_test"):
        long_tailed_digits(n_test=150, n_max=100)


def test_long_tailed_blobs():
    Xtr, ytr, Xte, yte = make_long_tailed_blobs(ratio=10.0, n_max=100, n_classes=4, n_test=20, seed=0)
    assert np.bincount(ytr).tolist() == long_tail_counts(100, 10.0, 4)
    assert np.bincount(yte).tolist() == [20] * 4 and Xtr.dtype == np.float32


def test_train_binary_mlps_learns_and_counts():
    d = [make_blobs(1200, pos_frac=0.1, sep=5.0, seed=s) for s in range(2)]
    X, y = np.stack([a[0] for a in d]), np.stack([a[1] for a in d])
    out = train_binary_mlps(X[:, :600], y[:, :600], X[:, 600:], lambda z, t: binary_focal_loss(z, t, gamma=0.0,
                            reduction="none"), epochs=10, batch_size=64, seed=0)
    assert out["test_logits"].shape == (2, 600) and out["crossings"].shape == (2, 600)
    assert np.array_equal(out["crossings"], out["gate_crossings"])  # margin 0
    for s in range(2):
        assert binary_metrics(out["test_logits"][s], y[s, 600:])["ap"] > 0.9
    # a vanishing learning rate moves nothing: no sample crosses
    frozen = train_binary_mlps(X, y, X, lambda z, t: binary_focal_loss(z, t, reduction="none"), epochs=2, lr=1e-12)
    assert frozen["crossings"].sum() == 0


def test_train_softmax_classifier_and_metrics():
    Xtr, ytr, Xte, yte = make_long_tailed_blobs(ratio=5.0, n_max=100, n_classes=4, spread=0.3, seed=0)
    pred = train_softmax_classifier(Xtr, ytr, lambda z, t: focal_loss(z, t, gamma=2.0), n_classes=4, steps=200)
    m = multiclass_metrics(pred(Xte), yte, minority=[3])
    assert m["accuracy"] > 0.95 and m["macro_f1"] > 0.95 and m["minority_recall"] > 0.9
    pred_lin = train_softmax_classifier(Xtr, ytr, lambda z, t: F.cross_entropy(z, t), n_classes=4, hidden=0, steps=200)
    assert pred_lin(Xte).shape == (len(yte), 4)
    perfect = np.eye(3)[[0, 1, 2, 2]] * 10
    assert multiclass_metrics(perfect, np.array([0, 1, 2, 2]), minority=[2])["macro_f1"] == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="pos_frac"):
        make_blobs(100, pos_frac=0.0)
    with pytest.raises(ValueError, match="n"):
        make_blobs(1)
    with pytest.raises(TypeError, match="seed"):
        make_blobs(100, seed=1.5)
    with pytest.raises(ValueError, match="labels"):
        expected_calibration_error(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(np.zeros(3), np.zeros(3), n_bins=0)
    with pytest.raises(TypeError, match="probs"):
        expected_calibration_error([0.5], np.zeros(1))
    with pytest.raises(ValueError, match="y"):
        binary_metrics(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="ratio"):
        long_tail_counts(100, 0.5, 10)
    with pytest.raises(ValueError, match="n_classes"):
        long_tail_counts(100, 5.0, 1)
    X, y = np.zeros((2, 10, 2), np.float32), np.zeros((2, 10), np.float32)
    loss = lambda z, t: binary_focal_loss(z, t, reduction="none")  # noqa: E731
    with pytest.raises(ValueError, match="X_train"):
        train_binary_mlps(X[0], y, X, loss)
    with pytest.raises(ValueError, match="y_train"):
        train_binary_mlps(X, y[:, :5], X, loss)
    with pytest.raises(ValueError, match="X_test"):
        train_binary_mlps(X, y, X[:1], loss)
    with pytest.raises(TypeError, match="loss_fn"):
        train_binary_mlps(X, y, X, "ce")
    with pytest.raises(ValueError, match="prior"):
        train_binary_mlps(X, y, X, loss, prior=1.0)
    with pytest.raises(ValueError, match="lr"):
        train_binary_mlps(X, y, X, loss, lr=0.0)
    with pytest.raises(TypeError, match="y"):
        train_softmax_classifier(np.zeros((4, 2), np.float32), np.zeros(4, np.float32), loss, n_classes=2)
    with pytest.raises(ValueError, match="n_classes"):
        train_softmax_classifier(np.zeros((4, 2), np.float32), np.zeros(4, np.int64), loss, n_classes=1)
    with pytest.raises(ValueError, match="y"):
        multiclass_metrics(np.zeros((4, 3)), np.zeros(3, np.int64), minority=[0])
