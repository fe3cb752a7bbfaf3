"""MLPRegressorFromScratch: parity with scikit-learn's MLPRegressor, and its own behaviour."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_regression
from sklearn.neural_network import MLPRegressor
from sklearn.neural_network._base import poisson_loss, squared_loss
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch
from skdnn.nn import HIDDEN_ACTIVATIONS

# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_outputs=1, n_samples=120, seed=0, poisson=False):
    X, y = make_regression(n_samples=n_samples, n_features=6, n_informative=4,
                           n_targets=n_outputs, noise=5.0, random_state=seed)
    X = StandardScaler().fit_transform(X)
    y = y / y.std(axis=0)
    if poisson:
        y = np.random.default_rng(seed).poisson(np.exp(0.5 * np.tanh(y)))
    return X, y


def _flat(est):
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_
                           + list(getattr(est, "slopes_", []))])


def _sklearn_twin(est, X, y):
    """A scikit-learn MLPRegressor carrying ``est``'s fitted weights."""
    twin = MLPRegressor(hidden_layer_sizes=est.hidden_layer_sizes, activation=est.activation,
                        loss=est.loss, alpha=est.alpha, max_iter=1, random_state=0)
    twin.fit(X, y)
    twin.coefs_ = [W.copy() for W in est.coefs_]
    twin.intercepts_ = [b.copy() for b in est.intercepts_]
    return twin


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_fitted_weights_in_sklearn_give_the_same_predictions(activation, loss, n_outputs):
    X, y = _data(n_outputs, poisson=loss == "poisson")
    est = MLPRegressorFromScratch(hidden_layer_sizes=(8, 6), activation=activation, loss=loss,
                                  max_iter=30, random_state=1).fit(X, y)
    twin = _sklearn_twin(est, X, y)
    assert est.predict(X).shape == twin.predict(X).shape == y.shape
    np.testing.assert_allclose(est.predict(X), twin.predict(X), rtol=1e-9, atol=1e-12)
    assert est.score(X, y) == pytest.approx(twin.score(X, y), rel=1e-9)
    assert est.out_activation_ == twin.out_activation_
    assert est.n_outputs_ == twin.n_outputs_ == n_outputs


def _sklearn_objective(twin, X, y, sample_weight, theta, shapes):
    """The objective whose gradient scikit-learn's MLPRegressor follows, at ``theta``.

    Its data term is ``squared_loss`` (averaged over the outputs) times the number of
    outputs, since scikit-learn's output delta ``p - y`` is not divided by them, or
    ``poisson_loss`` (summed over the outputs); plus ``alpha / (2 sum w) sum ||W||^2``.
    """
    arrays, start = [], 0
    for shape in shapes:
        arrays.append(theta[start:start + np.prod(shape)].reshape(shape))
        start += np.prod(shape)
    n = len(twin.coefs_)
    twin.coefs_, twin.intercepts_ = arrays[:n], arrays[n:]
    Y = y.reshape(len(y), -1)
    pred = twin.predict(X).reshape(Y.shape)
    if twin.loss == "poisson":
        data = poisson_loss(Y, pred, sample_weight)
    else:
        data = squared_loss(Y, pred, sample_weight) * Y.shape[1]
    penalty = sum(float(np.sum(W * W)) for W in twin.coefs_)
    return data + 0.5 * twin.alpha * penalty / sample_weight.sum()


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
@pytest.mark.parametrize("loss, n_outputs", [("squared_error", 1), ("squared_error", 3),
                                             ("poisson", 2)])
def test_one_full_batch_sgd_step_is_the_gradient_sklearn_applies(activation, loss, n_outputs):
    X, y = _data(n_outputs, poisson=loss == "poisson")
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    lr = 0.01
    common = dict(hidden_layer_sizes=(7, 5), activation=activation, loss=loss, solver="sgd",
                  momentum=0.0, batch_size=len(X), shuffle=False, learning_rate_init=lr,
                  alpha=0.3, max_iter=1, random_state=0)
    ours = MLPRegressorFromScratch(warm_start=True, **common).fit(X, y, sample_weight)
    start = [a.copy() for a in ours.coefs_ + ours.intercepts_]
    before = _flat(ours)
    ours.fit(X, y, sample_weight)
    step = (before - _flat(ours)) / lr

    # The step scikit-learn takes from the same weights.
    theirs = MLPRegressor(warm_start=True, **common).fit(X, y, sample_weight)
    n = len(theirs.coefs_)
    theirs.coefs_, theirs.intercepts_ = [a.copy() for a in start[:n]], [a.copy()
                                                                          for a in start[n:]]
    theirs.fit(X, y, sample_weight)
    their_step = (before - _flat(theirs)) / lr
    np.testing.assert_allclose(step, their_step, rtol=1e-5, atol=1e-10)

    # And both are the gradient of scikit-learn's objective, by central differences.
    twin = _sklearn_twin(ours, X, y)
    shapes = [a.shape for a in start]
    h = 1e-6
    numeric = np.empty_like(before)
    for i in range(before.size):
        e = np.zeros_like(before)
        e[i] = h
        numeric[i] = (_sklearn_objective(twin, X, y, sample_weight, before + e, shapes)
                      - _sklearn_objective(twin, X, y, sample_weight, before - e, shapes)) / (2 * h)
    np.testing.assert_allclose(step, numeric, rtol=1e-5, atol=1e-7)


class _StartsFrom(MLPRegressor):
    """scikit-learn's MLPRegressor with its initial weights replaced by ``self.start``."""

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        self.coefs_, self.intercepts_ = ([a.copy() for a in w] for w in self.start)


@pytest.mark.parametrize("params", [
    dict(solver="adam", alpha=0.01),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.01),
    dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, learning_rate="invscaling",
         learning_rate_init=0.05, loss="poisson"),
])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_training_from_the_same_start_follows_sklearn_epoch_by_epoch(params, n_outputs):
    X, y = _data(n_outputs, n_samples=300, poisson=params.get("loss") == "poisson")
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, size=len(X))
    common = dict(hidden_layer_sizes=(16, 8), batch_size=64, tol=0.0, n_iter_no_change=100,
                  shuffle=False, random_state=0, **params)
    ours = MLPRegressorFromScratch(max_iter=1, **common).fit(X, y)
    start = ([W.copy() for W in ours.coefs_], [b.copy() for b in ours.intercepts_])
    theirs = _StartsFrom(max_iter=8, **common)
    theirs.start = start
    theirs.fit(X, y, sample_weight)
    ours = MLPRegressorFromScratch(warm_start=True, max_iter=8, **common)
    ours.coefs_, ours.intercepts_ = start
    ours.fit(X, y, sample_weight)

    assert ours.n_iter_ == theirs.n_iter_ == 8
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(_flat(ours), _flat(theirs), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8, atol=1e-10)


def test_fitted_attributes_match_sklearn_names_types_and_shapes():
    X, y = _data(2)
    params = dict(hidden_layer_sizes=(5, 4), max_iter=5, random_state=0)
    ours, theirs = MLPRegressorFromScratch(**params).fit(X, y), MLPRegressor(**params).fit(X, y)
    for name in ["loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_", "t_", "n_iter_", "n_layers_", "n_outputs_",
                 "out_activation_", "n_features_in_"]:
        # scikit-learn's float attributes are NumPy floats, a subclass of Python's float.
        assert isinstance(getattr(theirs, name), type(getattr(ours, name))), name
    assert [W.shape for W in ours.coefs_] == [W.shape for W in theirs.coefs_]
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == (4, 2, "identity")
    assert ours.t_ == theirs.t_ and len(ours.loss_curve_) == ours.n_iter_ == 5
    for name, value in MLPRegressor().get_params().items():
        assert MLPRegressorFromScratch().get_params()[name] == value, name


def test_float32_is_kept_in_weights_and_predictions():
    X, y = _data(2)
    est = MLPRegressorFromScratch(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    est.fit(X.astype(np.float32), y.astype(np.float32))
    assert all(W.dtype == np.float32 for W in est.coefs_ + est.intercepts_)
    assert est.predict(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_and_dense_input_train_the_same_network(solver):
    X, y = _data()
    X[np.abs(X) < 0.8] = 0.0
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=0)
    dense = MLPRegressorFromScratch(**params).fit(X, y)
    sparse = MLPRegressorFromScratch(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-10)


def test_integer_sample_weights_equal_repeated_samples():
    X, y = _data(2, n_samples=60)
    weights = np.random.default_rng(0).integers(0, 3, size=len(X))
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=50, random_state=0)
    weighted = MLPRegressorFromScratch(**params).fit(X, y, sample_weight=weights)
    repeated = MLPRegressorFromScratch(**params).fit(np.repeat(X, weights, axis=0),
                                                     np.repeat(y, weights, axis=0))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-8)


def test_poisson_predicts_positive_means_and_rejects_negative_targets():
    X, y = _data(poisson=True)
    est = MLPRegressorFromScratch(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs",
                                  max_iter=100, random_state=0).fit(X, y)
    assert est.out_activation_ == "exp" and (est.predict(X) > 0).all()
    assert est.__sklearn_tags__().target_tags.positive_only
    assert not MLPRegressorFromScratch().__sklearn_tags__().target_tags.positive_only
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPRegressorFromScratch(loss="poisson").fit(X, y - 1.0)


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_early_stopping_keeps_the_best_epoch_by_r2_or_validation_loss(metric):
    X, y = _data(n_samples=300)
    params = dict(hidden_layer_sizes=(32,), early_stopping=True, early_stopping_metric=metric,
                  learning_rate_init=0.05, n_iter_no_change=5, random_state=0)
    est = MLPRegressorFromScratch(**params).fit(X, y)
    scores, losses = est.validation_scores_, est.validation_loss_curve_
    assert len(scores) == len(losses) == est.n_iter_ < 200 and est.best_loss_ is None
    best = int(np.argmin(losses)) if metric == "loss" else int(np.argmax(scores))
    assert est.best_validation_score_ == scores[best]
    assert est.best_validation_loss_ == losses[best]
    again = MLPRegressorFromScratch(**params, max_iter=best + 1).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), again.predict(X))


def test_partial_fit_epochs_equal_one_fit_and_warm_start_continues():
    X, y = _data(2)
    params = dict(hidden_layer_sizes=(8,), batch_size=32, dropout=0.2, random_state=0)
    stepwise = MLPRegressorFromScratch(**params)
    for _ in range(3):
        stepwise.partial_fit(X, y)
    at_once = MLPRegressorFromScratch(max_iter=3, **params).fit(X, y)
    np.testing.assert_allclose(_flat(stepwise), _flat(at_once), rtol=1e-12)
    warm = MLPRegressorFromScratch(max_iter=3, warm_start=True, **params).fit(X, y)
    first = _flat(warm)
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 6 and not np.array_equal(_flat(warm), first)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_activation_fits_a_smooth_function(activation):
    X, y = _data(n_samples=200)
    est = MLPRegressorFromScratch(hidden_layer_sizes=(16,), activation=activation,
                                  solver="lbfgs", max_iter=300, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.9


def test_fine_tuning_from_a_classifier_keeps_its_frozen_hidden_layers():
    X, y = _data(n_samples=200)
    base = MLPClassifierFromScratch(hidden_layer_sizes=(12, 6), activation="prelu",
                                    max_iter=30, random_state=0).fit(X, y > 0)
    tuned = MLPRegressorFromScratch(pretrained=base, n_frozen_layers=1, max_iter=30,
                                    random_state=0).fit(X, y)
    assert np.array_equal(tuned.coefs_[0], base.coefs_[0])
    assert np.array_equal(tuned.slopes_[0], base.slopes_[0])
    assert not np.array_equal(tuned.coefs_[1], base.coefs_[1])
    assert tuned.coefs_[-1].shape == (6, 1) and tuned.out_activation_ == "identity"


def test_scoring_monitor_and_loss_curve_display_follow_the_regressor():
    callback = pytest.importorskip("sklearn.callback")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdnn.plot import LossCurveDisplay

    X, y = _data(n_samples=200)
    monitor = callback.ScoringMonitor(scoring="r2")
    est = MLPRegressorFromScratch(hidden_layer_sizes=(8,), max_iter=4, early_stopping=True,
                                  random_state=0).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"].startswith("epoch")]
    assert len(rows) == 4
    shorter = MLPRegressorFromScratch(hidden_layer_sizes=(8,), max_iter=2, early_stopping=True,
                                      random_state=0).fit(X, y)
    assert rows[1]["r2"] == pytest.approx(shorter.score(X, y))
    display = LossCurveDisplay.from_estimator(est)
    np.testing.assert_allclose(display.lines_["validation score"].get_ydata(),
                               est.validation_scores_)
