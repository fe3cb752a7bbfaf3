"""The one training loop (skdnn._train): the same parameter means the same thing in every
network's estimator (issue 29, point 2)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skdnn import (
    MLPClassifierFromScratch,
    MLPRegressorFromScratch,
    TabNetClassifier,
    TabNetRegressor,
)

TABNET = dict(n_d=4, n_a=4, n_steps=2, batch_size=50, random_state=0)
MLP = dict(hidden_layer_sizes=(8,), batch_size=50, random_state=0)


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


@pytest.mark.parametrize("make", [
    lambda: MLPClassifierFromScratch(**MLP, n_iter_no_change=3, tol=1e9, max_iter=50),
    lambda: TabNetClassifier(**TABNET, n_iter_no_change=3, tol=1e9, max_iter=50,
                             early_stopping=False),
], ids=["mlp", "tabnet"])
def test_every_network_counts_n_iter_no_change_the_same_way(make):
    # With tol that large no epoch after the first improves: the count passes
    # n_iter_no_change=3 at the 4th epoch without improvement, the fit's 5th.
    X, y = _iris()
    assert _quiet(lambda: make().fit(X, y)).n_iter_ == 5


@pytest.mark.parametrize("make", [
    lambda: MLPClassifierFromScratch(**MLP, early_stopping=True, max_iter=60),
    lambda: TabNetClassifier(**TABNET, early_stopping=True, max_iter=60),
    lambda: MLPRegressorFromScratch(**MLP, early_stopping=True, max_iter=60),
    lambda: TabNetRegressor(**TABNET, early_stopping=True, max_iter=60),
], ids=["mlp-classifier", "tabnet-classifier", "mlp-regressor", "tabnet-regressor"])
def test_early_stopping_keeps_the_epoch_of_the_best_validation_score(make):
    # One criterion: a classifier's validation accuracy (ties broken by the loss), a
    # regressor's validation R^2; the kept epoch is the best one's.
    X, y = _iris()
    if "Regressor" in type(make()).__name__:
        X, y = X[:, 1:], X[:, 0]
    model = _quiet(lambda: make().fit(X, y))
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ > 1
    assert model.best_validation_score_ == max(scores)
    best = int(np.argmax(scores))
    if "Classifier" in type(model).__name__:  # equal accuracies: the lowest loss among them
        tied = [i for i, s in enumerate(scores) if s == max(scores)]
        best = min(tied, key=lambda i: model.validation_loss_curve_[i])
    assert model.best_validation_loss_ == model.validation_loss_curve_[best]


@pytest.mark.parametrize("Estimator", [TabNetClassifier, TabNetRegressor])
def test_tabnet_partial_fit_goes_on_where_the_last_call_stopped(Estimator):
    # Two calls are the two epochs of one fit: the weights, Adam's moments and the
    # shuffles' random stream all go on from the previous call.
    X, y = _iris()
    if Estimator is TabNetRegressor:
        X, y = X[:, 1:], X[:, 0]
    extra = {"classes": np.unique(y)} if Estimator is TabNetClassifier else {}
    stream = Estimator(**TABNET)
    stream.partial_fit(X, y, **extra)
    assert stream.n_iter_ == 1 and len(stream.loss_curve_) == 1
    stream.partial_fit(X, y)
    assert len(stream.loss_curve_) == 2 and stream.t_ == 2 * len(y)
    whole = _quiet(lambda: Estimator(**TABNET, max_iter=2, early_stopping=False).fit(X, y))
    np.testing.assert_allclose(stream._theta, whole._theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stream.loss_curve_, whole.loss_curve_, rtol=1e-12)


def test_tabnet_partial_fit_asks_for_the_classes_first_and_refuses_early_stopping():
    X, y = _iris()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        TabNetClassifier(**TABNET).partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        TabNetClassifier(**TABNET, early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    model = TabNetClassifier(**TABNET).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2] and model.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match="not in"):
        model.partial_fit(X, np.where(y == 2, 7, y))


@pytest.mark.parametrize("Estimator", [MLPClassifierFromScratch, TabNetClassifier])
def test_a_fit_that_learned_nothing_says_so_for_every_network(Estimator):
    # Features that carry nothing (all zero): no network can beat the constant prediction.
    X = np.zeros((200, 4))
    y = np.random.default_rng(0).integers(0, 2, 200)
    params = MLP if Estimator is MLPClassifierFromScratch else TABNET
    with pytest.warns(ConvergenceWarning, match="no better than always predicting"):
        Estimator(**params, max_iter=3).fit(X, y)
