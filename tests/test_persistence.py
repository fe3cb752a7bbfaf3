"""Safe persistence with skops: only skdnn's own classes need trusting."""


import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch, PerceptronClassifier
from skdnn.nn import HIDDEN_ACTIVATIONS

sio = pytest.importorskip("skops.io")


# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _round_trip(est):
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"skdnn.{type(est).__module__.split('.')[-1]}.{type(est).__name__}"]
    return sio.loads(data, trusted=untrusted)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_skops_round_trip_trusts_only_skdnn_and_predicts_identically(solver, activation):
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(6,), activation=activation, solver=solver,
                                   max_iter=15, random_state=0).fit(X, y)
    loaded = _round_trip(est)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_loaded_model_keeps_learning_with_partial_fit_as_the_original_would(solver):
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(6,), solver=solver, random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    loaded = _round_trip(est)
    for _ in range(3):
        est.partial_fit(X, y)
        loaded.partial_fit(X, y)
    # The optimiser state travelled with the model: both continue identically.
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=1e-12)
    assert loaded.t_ == est.t_ == 4 * len(y)


@pytest.mark.parametrize("params", [dict(solver="adam", activation="prelu"),
                                    dict(solver="sgd", loss="poisson"),
                                    dict(solver="lbfgs", early_stopping=True)])
def test_regressor_skops_round_trip_trusts_only_skdnn_and_keeps_learning(params):
    X, _ = _data()
    Y = np.column_stack([X[:, 0] ** 2, np.abs(X[:, 1])])  # two outputs, non-negative
    est = MLPRegressorFromScratch(hidden_layer_sizes=(6,), max_iter=15, random_state=0,
                                  **params).fit(X, Y)
    loaded = _round_trip(est)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.out_activation_ == est.out_activation_
    if params["solver"] != "lbfgs":
        for model in (est, loaded):
            model.partial_fit(X, Y)
        np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-12)


def test_sklearn_mlp_needs_an_optimizer_object_trusted():
    # The contrast that motivates skdnn's plain fitted state.
    from sklearn.neural_network import MLPClassifier

    X, y = _data()
    data = sio.dumps(MLPClassifier(max_iter=5, random_state=0).fit(X, y))
    assert any("Optimizer" in name for name in sio.get_untrusted_types(data=data))


@pytest.mark.parametrize("params", [{}, {"average": True}, {"early_stopping": True}])
def test_perceptron_skops_round_trip_and_partial_fit(params):
    from skdnn import PerceptronClassifier

    X, y = _data()
    est = PerceptronClassifier(random_state=0, **params).fit(X, y)
    loaded = _round_trip(est)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, est.coef_)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("est", [
    MLPClassifierFromScratch(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
    MLPRegressorFromScratch(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
    PerceptronClassifier(max_iter=5),
], ids=lambda est: type(est).__name__)
def test_a_model_fitted_with_callbacks_saves_as_plain_data(est):
    import pickle

    callback = pytest.importorskip("sklearn.callback")
    X, y = _data()
    scoring = "r2" if isinstance(est, MLPRegressorFromScratch) else "accuracy"
    est.set_callbacks(callback.ScoringMonitor(scoring=scoring)).fit(X, y)
    # skops: the callbacks (a ScoringMonitor's log holds UUIDs and a ListenerHandle) are
    # left out, so that trusting skdnn's class alone loads the model.
    loaded = _round_trip(est)
    assert not hasattr(loaded, "_skl_callbacks")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    # pickle (and joblib's workers) keep them, as scikit-learn's contract asks.
    unpickled = pickle.loads(pickle.dumps(est))
    assert [type(c) for c in unpickled._skl_callbacks] == [callback.ScoringMonitor]
    np.testing.assert_array_equal(unpickled.predict(X), est.predict(X))
    unpickled.fit(X, y)  # and a reloaded model's callbacks still report
    assert unpickled._skl_callbacks[0].get_logs(select="most_recent").data
