"""Training on class probabilities: the MLP's soft targets are row expansion, exactly, and
label smoothing is Keras's and PyTorch's."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn._consensus import fit_soft_targets

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(load, n_samples=240, seed=0):
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X[:n_samples])
    y = y[:n_samples]
    rng = np.random.default_rng(seed)
    n_classes = len(np.unique(y))
    T = rng.dirichlet(np.full(n_classes, 0.5), size=len(y))
    T[::5] = np.eye(n_classes)[y[::5]]  # some hard rows, with zeros to leave out
    return X, y, T, rng.uniform(0.2, 3.0, size=len(y))


def _expanded(X, T, sample_weight):
    n_classes = T.shape[1]
    return (np.repeat(X, n_classes, axis=0), np.tile(np.arange(n_classes), len(X)),
            (sample_weight[:, None] * T).ravel())


def _mlp(**params):
    return MLPClassifierFromScratch(hidden_layer_sizes=(7,), solver="lbfgs", max_iter=25,
                                    alpha=0.01, random_state=0, **params)


@pytest.mark.parametrize("load", [load_digits, load_breast_cancer], ids=["softmax", "logistic"])
def test_soft_targets_fit_equals_row_expansion_to_1e8_on_the_loss(load):
    X, _, T, sample_weight = _data(load)
    soft = _mlp()._fit_soft_targets(X, T, np.arange(T.shape[1]), sample_weight=sample_weight)
    expanded = _mlp().fit(*_expanded(X, T, sample_weight))
    assert soft.loss_ == pytest.approx(expanded.loss_, rel=0, abs=1e-8)
    assert len(soft.loss_curve_) == len(expanded.loss_curve_)
    np.testing.assert_allclose(soft.loss_curve_, expanded.loss_curve_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(soft.predict_proba(X), expanded.predict_proba(X), atol=1e-6)
    # and the objective is the expected cross-entropy of T, by hand
    P = soft.predict_proba(X)
    penalty = 0.01 / (2 * sample_weight.sum()) * sum((W**2).sum() for W in soft.coefs_)
    by_hand = np.average(-(T * np.log(P)).sum(axis=1), weights=sample_weight) + penalty
    assert soft.loss_ == pytest.approx(by_hand, rel=1e-9)


def test_fit_soft_targets_takes_the_mlp_fast_path_and_expands_rows_for_others():
    X, _, T, sample_weight = _data(load_digits, n_samples=150)
    classes = np.arange(10)
    mlp = fit_soft_targets(_mlp(), X, T, classes, sample_weight)
    assert mlp.t_ == 0 or mlp.n_iter_ > 0
    expanded = _mlp().fit(*_expanded(X, T, sample_weight))
    assert mlp.loss_ == pytest.approx(expanded.loss_, abs=1e-8)
    # LogisticRegression through row expansion: the same fit as on the expanded rows
    logistic = fit_soft_targets(LogisticRegression(max_iter=500), X, T, classes, sample_weight)
    reference = LogisticRegression(max_iter=500).fit(*_expanded(X, T, sample_weight))
    np.testing.assert_allclose(logistic.coef_, reference.coef_, atol=1e-5)
    # hard targets are labels
    hard = fit_soft_targets(_mlp(), X, np.eye(10)[np.arange(150) % 10], classes)
    assert hard.loss_ == pytest.approx(_mlp().fit(X, np.arange(150) % 10).loss_, abs=1e-12)


def test_soft_targets_are_checked():
    X, _, T, _ = _data(load_digits, n_samples=50)
    with pytest.raises(ValueError, match="sum to 1"):
        _mlp()._fit_soft_targets(X, T * 2, np.arange(10))
    with pytest.raises(ValueError, match="one column per class"):
        _mlp()._fit_soft_targets(X, T[:, :9] / T[:, :9].sum(1, keepdims=True), np.arange(10))
    with pytest.raises(ValueError, match="sorted"):
        _mlp()._fit_soft_targets(X, T, np.arange(10)[::-1])
    with pytest.raises(ValueError, match="class_weight"):
        _mlp(class_weight="balanced")._fit_soft_targets(X, T, np.arange(10))


@pytest.mark.parametrize("load", [load_digits, load_breast_cancer], ids=["softmax", "logistic"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_label_smoothing_is_the_keras_and_pytorch_objective(load, smoothing):
    X, y, _, _ = _data(load)
    model = _mlp(label_smoothing=smoothing).fit(X, y)
    P = model.predict_proba(X)
    n_classes = P.shape[1]  # 2 for the one sigmoid unit: Keras's binary smoothing
    # PyTorch's CrossEntropyLoss(label_smoothing=e): (1 - e) CE(y) + e mean_k(-log p_k)
    ce = -np.log(P[np.arange(len(y)), y])
    uniform = -np.log(P).mean(axis=1)
    penalty = 0.01 / (2 * len(y)) * sum((W**2).sum() for W in model.coefs_)
    by_hand = np.mean((1 - smoothing) * ce + smoothing * uniform) + penalty
    assert model.loss_ == pytest.approx(by_hand, rel=1e-9)
    # the same fit as training on the smoothed one-hot rows
    smoothed = (1 - smoothing) * np.eye(n_classes)[y] + smoothing / n_classes
    soft = _mlp()._fit_soft_targets(X, smoothed, np.arange(n_classes))
    assert model.loss_ == pytest.approx(soft.loss_, abs=1e-10)


def test_label_smoothing_keeps_predictions_off_certainty():
    X, y, _, _ = _data(load_digits)
    sharp = _mlp().set_params(max_iter=200).fit(X, y).predict_proba(X).max()
    smooth = _mlp(label_smoothing=0.3).set_params(max_iter=200).fit(X, y).predict_proba(X)
    # the smoothed target's largest entry is 1 - 0.3 + 0.03 = 0.73
    assert sharp > 0.99 and smooth.max() < 0.9
    assert smooth.max(axis=1).mean() == pytest.approx(0.73, abs=0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        _mlp(label_smoothing=1.0).fit(X, y)


class _RecordingLogisticRegression(LogisticRegression):
    """LogisticRegression that keeps the rows and weights of its last fit."""

    def fit(self, X, y, sample_weight=None):
        self.seen_ = (X, y, sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)


def test_row_expansion_keeps_one_copy_of_a_near_one_hot_row():
    X, _, T, sample_weight = _data(load_digits, n_samples=150)
    T[1::5] = 1e-9  # near one-hot rows: one class almost sure
    T[1::5, 3] = 1 - 9e-9
    T[2::5, :5] += 1e-7  # and a few copies just above the floor survive
    T /= T.sum(axis=1, keepdims=True)
    classes = np.arange(10)
    model = fit_soft_targets(_RecordingLogisticRegression(max_iter=500), X, T, classes,
                             sample_weight)
    X_seen, y_seen, weight_seen = model.seen_
    kept = T >= 1e-6
    assert len(X_seen) == kept.sum() < 0.8 * T.size
    near_one_hot = np.flatnonzero((X_seen[:, None] == X[1::5]).all(axis=2).any(axis=1))
    assert len(near_one_hot) == len(X[1::5]) and set(y_seen[near_one_hot]) == {3}
    # each row keeps its weight: the kept copies' weights are its T, rescaled
    np.testing.assert_allclose(weight_seen[near_one_hot], sample_weight[1::5])
    np.testing.assert_allclose(np.sum(weight_seen), np.sum(sample_weight))
    # the same fit as on the expansion of every copy, within the floor's reach
    every_copy = fit_soft_targets(_RecordingLogisticRegression(max_iter=500), X, T, classes,
                                  sample_weight, floor=0)
    assert len(every_copy.seen_[0]) == (T > 0).sum()  # all but the zeros
    np.testing.assert_allclose(model.predict_proba(X), every_copy.predict_proba(X), atol=1e-5)


def test_row_expansion_keeps_every_class_of_positive_target():
    # A class below the floor in every row still reaches the estimator, as in the full
    # expansion; a warm-started estimator then sees the same classes fit after fit.
    X, _, T, _ = _data(load_breast_cancer, n_samples=60)
    rng = np.random.default_rng(1)
    T = np.column_stack([T, np.full(len(T), 1e-8)])
    T[0, 2] = 2e-8
    T /= T.sum(axis=1, keepdims=True)
    model = fit_soft_targets(_RecordingLogisticRegression(), X, T, np.arange(3))
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    X_seen, y_seen, weight_seen = model.seen_
    assert list(y_seen).count(2) == 1 and (X_seen[y_seen == 2] == X[0]).all()
    assert weight_seen[y_seen == 2] == pytest.approx(T[0, 2], rel=1e-6)  # row 0 sums to 1
    warm = LogisticRegression(warm_start=True, max_iter=5)
    fit_soft_targets(warm, X, rng.dirichlet(np.ones(3), len(X)), np.arange(3))
    fit_soft_targets(warm, X, T, np.arange(3))  # the same three classes: no error
    np.testing.assert_array_equal(warm.classes_, [0, 1, 2])
