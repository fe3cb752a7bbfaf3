"""A fit that cannot learn because of the scale of its features says so; one that can, trains."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch
from skdnn import _mlp_base as mlp_base
from skdnn._diagnostics import CLASSIFIER, REGRESSOR, check_learned, feature_scale, likely_causes
from skdnn.nn.losses import prior_loss


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


# The solvers also report that they did not converge; the error is what this test is about.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("scale", [1e200, 1e250, 1e300])
def test_huge_features_raise_an_error_naming_their_scale(digits, solver, scale):
    X, y = digits
    model = MLPClassifierFromScratch((16,), solver=solver, max_iter=30, random_state=0)
    named = re.escape(f"features reach {scale:.1e}") + ".*StandardScaler"
    with pytest.raises(ValueError, match=named):
        model.fit(X * scale, y)
    assert not hasattr(model, "coefs_")  # nothing fitted was committed


@pytest.mark.parametrize("scale", [1e6, 1e150])
def test_large_features_that_can_be_learned_still_train(digits, scale):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifierFromScratch((16,), max_iter=100, random_state=0).fit(X * scale, y)
    assert model.loss_ > 1e3  # astronomical, yet the model learned
    assert model.score(X * scale, y) > 0.7


def test_partial_fit_on_huge_features_raises_once_the_loss_never_falls(digits):
    X, y = digits
    model = MLPClassifierFromScratch((16,), random_state=0)
    model.partial_fit(X * 1e250, y, classes=np.unique(y))  # one epoch: no verdict yet
    with pytest.raises(ValueError, match="never fell below its first value"):
        for _ in range(3):
            model.partial_fit(X * 1e250, y)


def test_check_learned_passes_a_fit_that_beats_the_constant_predictor():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_learned([2.3, 1.0, 0.5], baseline=2.3, X=np.ones((2, 2)), scores=lambda: (0.9, 0.1))
        # A constant predictor that is already perfect (one class) leaves nothing to learn.
        check_learned([0.1, 0.1], baseline=0.0, X=np.ones((2, 2)), scores=lambda: (1.0, 1.0))


def test_check_learned_warns_when_the_fit_is_no_better_than_the_constant_predictor():
    X = np.ones((2, 2))
    with pytest.warns(ConvergenceWarning, match="no better than always predicting the most"):
        check_learned([2.3, 2.3], 2.3, X, lambda: (0.105, 0.1))  # within 1% of the gap to 1
    regressor = r"mean target: its R² on the training data is -0\.5"
    with pytest.warns(ConvergenceWarning, match=regressor):
        check_learned([5.0, 4.0], 3.0, X, lambda: (-0.5, 0.0), terms=REGRESSOR)


def test_likely_causes_names_the_learning_rate_the_scale_and_dead_units():
    small, large = np.ones((2, 2)), np.full((2, 2), 500.0)
    grew = likely_causes([50.0, 3.0], 2.3, small, CLASSIFIER, learning_rate=10.0)
    assert "learning_rate_init=10" in grew and "scale them" not in grew
    assert "learning_rate" not in likely_causes([50.0, 3.0], 2.3, small, CLASSIFIER)  # lbfgs
    assert "learning_rate" not in likely_causes([2.4, 2.3], 2.3, small, CLASSIFIER, 1e-3)
    assert "scale them" in likely_causes([2.4, 2.3], 2.3, large, CLASSIFIER, 1e-3)
    dead = likely_causes([2.4, 2.3], 2.3, small, CLASSIFIER, 1e-3, lambda: [(1, 99, 100)])
    assert "99 of the 100 units of hidden layer 1 output 0" in dead
    assert "point to a cause" in likely_causes([2.4, 2.3], 2.3, small, CLASSIFIER, 1e-3,
                                               lambda: [(1, 3, 100)])


def test_check_learned_judges_an_astronomical_loss_by_its_fall_and_the_accuracy():
    X = np.array([[3e205, -1.0]])
    with pytest.raises(ValueError, match=r"never fell below .* reach 3\.0e\+205"):
        check_learned([1e200, 1e200], 2.3, X, lambda: (1.0, 0.1))
    with pytest.raises(ValueError, match="training accuracy, 0.200, is nearer"):
        check_learned([1e200, 1e190], 2.3, X, lambda: (0.2, 0.1))
    check_learned([1e200, 1e190], 2.3, X, lambda: (0.9, 0.1))  # learned, with a huge loss


def test_feature_scale_ignores_non_finite_values_and_reads_sparse_data():
    assert feature_scale(np.array([[1.0, -5e10], [np.inf, np.nan]])) == 5e10
    assert feature_scale(sp.csr_matrix(np.array([[0.0, -7.0], [2.0, 0.0]]))) == 7.0
    assert feature_scale(np.empty((0, 3))) == 0.0


@pytest.mark.parametrize("multilabel", [False, True])
def test_prior_loss_is_the_loss_of_predicting_the_class_frequencies(multilabel):
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2.0, 40)
    if multilabel:
        Y = rng.random((40, 3)) < [0.2, 0.5, 0.9]
        expected = sum(log_loss(Y[:, k], np.full(40, np.average(Y[:, k], weights=weights)),
                                sample_weight=weights) for k in range(3))
        assert prior_loss(Y, "logistic", weights) == pytest.approx(expected)
    else:
        y = rng.integers(0, 4, 40)
        proba = DummyClassifier(strategy="prior").fit(y[:, None], y, weights).predict_proba(
            y[:, None])
        expected = log_loss(y, proba, sample_weight=weights)
        assert prior_loss(np.eye(4, dtype=bool)[y], "softmax", weights) == pytest.approx(
            expected)


# What a new user hit, on digits scaled to [0, 1]: the features are not the cause.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver, learning_rate", [("adam", 1000.0), ("sgd", 100.0)])
def test_a_huge_learning_rate_on_scaled_features_raises_naming_it(digits, solver, learning_rate):
    X, y = digits
    model = MLPClassifierFromScratch((32,), solver=solver, learning_rate_init=learning_rate,
                                     max_iter=20, random_state=0)
    with pytest.raises(ValueError, match=f"learning_rate_init={learning_rate:g}") as error:
        model.fit(X, y)
    assert "scale them" not in str(error.value)


def test_a_large_learning_rate_that_kills_the_units_warns_naming_both(digits):
    X, y = digits
    model = MLPClassifierFromScratch((32,), learning_rate_init=10.0, max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning, match="no better than always predicting") as record:
        model.fit(X, y)
    message = " ".join(str(w.message) for w in record)
    assert "learning_rate_init=10" in message and "dead units" in message
    assert "scale them" not in message


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("learning_rate", [1000.0, 100.0])
def test_the_regressor_speaks_of_its_loss_and_r2(learning_rate):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    model = MLPRegressorFromScratch((16,), learning_rate_init=learning_rate, max_iter=20,
                                    random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(X, y)
            message = " ".join(str(w.message) for w in record)
        except ValueError as error:
            message = str(error)
    assert "R²" in message and "mean target" in message
    assert f"learning_rate_init={learning_rate:g}" in message
    assert "class" not in message and "accuracy" not in message


@pytest.mark.parametrize("target", ["binary", "multiclass", "strings", "multilabel"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_classifier_s_numpy_score_is_accuracy_score(target, weighted):
    # Validation (every epoch) and the end-of-fit check score in NumPy: scikit-learn's figure.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = {"binary": rng.integers(2, size=300), "multiclass": rng.integers(4, size=300),
         "strings": rng.choice(["a", "b", "c"], size=300, p=[0.2, 0.5, 0.3]),
         "multilabel": (rng.random((300, 3)) < [0.3, 0.5, 0.7]).astype(int)}[target]
    sample_weight = rng.uniform(0.1, 3.0, size=300) if weighted else None
    model = MLPClassifierFromScratch(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    outputs = model._network().outputs(model._params(), X)
    expected = accuracy_score(y, model.predict(X), sample_weight=sample_weight)
    assert model._score_outputs(outputs, y, sample_weight) == pytest.approx(expected, abs=1e-12)


def test_a_fit_on_many_rows_is_judged_on_evenly_spaced_rows_and_still_warns(monkeypatch):
    # A network that predicts one class on 9,000 rows sorted by class: the check reads
    # SCORE_ROWS rows spread over all of them (every class), and warns.
    X = np.zeros((9000, 3))
    y = np.repeat([0, 1, 2], 3000)
    seen = []
    original = mlp_base.outputs_in_blocks

    def recording(network, params, X, **kwargs):
        seen.append(X.shape[0])
        return original(network, params, X, **kwargs)

    monkeypatch.setattr(mlp_base, "outputs_in_blocks", recording)
    with pytest.warns(ConvergenceWarning, match="no better than always predicting the most"):
        MLPClassifierFromScratch(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    step = -(-9000 // mlp_base.SCORE_ROWS)  # ceil(9000 / SCORE_ROWS)
    assert seen == [len(range(0, 9000, step))] and seen[0] <= mlp_base.SCORE_ROWS < 9000
