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
from skdnn._diagnostics import (
    CLASSIFIER,
    REGRESSOR,
    check_learned,
    column_scales,
    feature_scale,
    features_too_large,
    likely_causes,
    loss_grew,
    untrained_loss,
)
from skdnn._train import loop
from skdnn.nn.losses import output_loss, prior_loss


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
    outputs = model.as_engine()[0].outputs(model.as_engine()[1], X)
    expected = accuracy_score(y, model.predict(X), sample_weight=sample_weight)
    assert model._score_outputs(outputs, y, sample_weight) == pytest.approx(expected, abs=1e-12)


def test_a_fit_on_many_rows_is_judged_on_evenly_spaced_rows_and_still_warns(monkeypatch):
    # A network that predicts one class on 9,000 rows sorted by class: the check reads
    # SCORE_ROWS rows spread over all of them (every class), and warns.
    X = np.zeros((9000, 3))
    y = np.repeat([0, 1, 2], 3000)
    seen = []
    original = loop.outputs_in_blocks

    def recording(network, theta, X, block_mib=None):
        seen.append(X.shape[0])
        return original(network, theta, X, block_mib)

    monkeypatch.setattr(loop, "outputs_in_blocks", recording)
    with pytest.warns(ConvergenceWarning, match="no better than always predicting the most"):
        MLPClassifierFromScratch(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    step = -(-9000 // loop.SCORE_ROWS)  # ceil(9000 / SCORE_ROWS)
    assert seen == [len(range(0, 9000, step))] and seen[0] <= loop.SCORE_ROWS < 9000


# -- the target's scale, and each message's advice (issue 31, point 5) ----------------------
def _price_like_table():
    """What a new user met: standardized features, one of them heavy-tailed (it reaches 13
    after StandardScaler), and a price-like target far from 0 with a large spread
    (diabetes' target turned into prices: a mean of 2.5e5, a standard deviation of 7.7e4)."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    heavy_tail = np.random.default_rng(0).lognormal(0.0, 1.5, len(y))
    return StandardScaler().fit_transform(np.column_stack([X, heavy_tail])), 1000 * y + 1e5


def _fit_and_diagnose(model, X, y):
    """``(score, diagnosis)``: the training score (-inf when fit raises) and the message of
    the error, or of the warnings that the fit learned nothing ("" for none)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            model.fit(X, y)
        except ValueError as error:
            return -np.inf, str(error)
    diagnosis = " ".join(str(w.message) for w in record
                         if "no better than" in str(w.message)
                         or "learned nothing" in str(w.message))
    return model.score(X, y), diagnosis


def test_an_unscaled_target_is_named_with_its_fix_not_the_learning_rate_nor_a_heavy_tail():
    X, y = _price_like_table()
    assert np.abs(X).max() > 10  # the heavy tail, which is no cause
    score, diagnosis = _fit_and_diagnose(MLPRegressorFromScratch(random_state=0), X, y)
    assert score < 0
    assert re.search(r"target has a mean of 2\.52e\+05 and a standard deviation of 7\.7e\+04",
                     diagnosis)
    assert "TransformedTargetRegressor(regressor=MLPRegressorFromScratch(...), " \
           "transformer=StandardScaler())" in diagnosis
    assert "learning_rate_init" not in diagnosis and "scale them" not in diagnosis


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _standardized_diabetes(feature_scale=1.0):
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X) * feature_scale, (y - y.mean()) / y.std()


def _lower_rate(model):
    return model.set_params(learning_rate_init=1e-2 if model.learning_rate_init == 1 else 1e-3)


def _standardize_target(model):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())


def _scale_features(model):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), model)


# Each diagnosis the fit can give: a case that triggers it, what the message says, what it
# must not say (the causes the case does not have), and the message's advice applied to it.
ADVICE = {
    "target scale, adam": (
        lambda: MLPRegressorFromScratch(random_state=0), _price_like_table,
        "TransformedTargetRegressor", "learning_rate_init|scale them", _standardize_target),
    "target scale, sgd diverges": (
        lambda: MLPRegressorFromScratch(solver="sgd", random_state=0), _price_like_table,
        "TransformedTargetRegressor", "scale them", _standardize_target),
    "feature scale": (
        lambda: MLPRegressorFromScratch(random_state=0),
        lambda: _standardized_diabetes(feature_scale=1e5),  # about 1e5, as raw prices
        "scale them, e.g. with sklearn.preprocessing.StandardScaler",
        "learning_rate_init|TransformedTargetRegressor", _scale_features),
    "learning rate, adam regressor": (
        lambda: MLPRegressorFromScratch(learning_rate_init=1.0, random_state=0),
        _standardized_diabetes, "lower learning_rate_init=1.0",
        "scale them|TransformedTargetRegressor", _lower_rate),
    "learning rate, sgd diverges": (
        lambda: MLPRegressorFromScratch(solver="sgd", learning_rate_init=1.0, random_state=0),
        _standardized_diabetes, "the learning rate is the likely cause",
        "scale them|TransformedTargetRegressor", _lower_rate),
    "learning rate, classifier": (
        lambda: MLPClassifierFromScratch((32,), learning_rate_init=1.0, max_iter=20,
                                         random_state=0),
        _digits, "lower learning_rate_init=1.0", "scale them", _lower_rate),
    "dead units": (
        lambda: MLPClassifierFromScratch((32,), learning_rate_init=1.0, max_iter=20,
                                         random_state=0),
        _digits, "dead units.*activation='leaky_relu'", "scale them",
        lambda model: model.set_params(activation="leaky_relu")),
    "no visible cause: train longer": (
        lambda: MLPClassifierFromScratch((32,), max_iter=1, random_state=0), _digits,
        r"train longer \(max_iter\)", "learning_rate_init|scale them",
        lambda model: model.set_params(max_iter=100)),
}


@pytest.mark.parametrize("case", ADVICE)
def test_following_a_diagnosis_s_advice_improves_the_fit_and_silences_it(case):
    make, data, says, never, advice = ADVICE[case]
    X, y = data()
    before, diagnosis = _fit_and_diagnose(make(), X, y)
    assert re.search(says, diagnosis), diagnosis
    assert not re.search(never, diagnosis), diagnosis
    after, diagnosis_after = _fit_and_diagnose(advice(make()), X, y)
    assert diagnosis_after == ""
    assert after > max(before, 0.0) + 0.3


def test_lowering_the_learning_rate_does_not_help_an_unscaled_target():
    # Why the learning rate is not named: the advice the fit used to give made it worse.
    X, y = _price_like_table()
    default, _ = _fit_and_diagnose(MLPRegressorFromScratch(random_state=0), X, y)
    lower, _ = _fit_and_diagnose(MLPRegressorFromScratch(learning_rate_init=1e-4,
                                                         random_state=0), X, y)
    assert lower <= default < 0


def test_column_scales_is_one_for_standardized_columns_however_heavy_their_tail():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.lognormal(0, 2, 5000), rng.normal(1e5, 1e3, 5000)])
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    assert np.abs(standardized).max() > 20
    np.testing.assert_allclose(column_scales(standardized), 1.0)
    np.testing.assert_allclose(column_scales(X), np.sqrt(np.mean(X ** 2, axis=0)))
    assert not features_too_large(standardized) and features_too_large(X)


def test_column_scales_reads_sparse_data_and_does_not_overflow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)) * (rng.random((50, 4)) < 0.3) * [1, 1e3, 1e250, 0]
    expected = [np.sqrt(np.mean(X[:, 0] ** 2)), np.sqrt(np.mean(X[:, 1] ** 2)),
                1e250 * np.sqrt(np.mean((X[:, 2] / 1e250) ** 2)), 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(column_scales(X), expected)
        np.testing.assert_allclose(column_scales(sp.csr_matrix(X)), expected)
    assert column_scales(np.empty((0, 3))).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("out_activation", ["softmax", "logistic", "identity", "exp"])
def test_untrained_loss_is_the_loss_of_zero_logits(out_activation):
    rng = np.random.default_rng(0)
    Y = {"softmax": np.eye(3)[rng.integers(3, size=40)],
         "logistic": rng.random((40, 2)) < 0.3,
         "identity": rng.normal(5.0, 2.0, (40, 2)),
         "exp": rng.poisson(3.0, (40, 2)).astype(float)}[out_activation]
    weights = rng.uniform(0.5, 2.0, 40)
    expected = output_loss(np.zeros(Y.shape), Y.astype(float), out_activation, weights)
    assert untrained_loss(Y, out_activation, weights) == pytest.approx(expected)


def test_the_loss_of_large_features_first_epoch_is_no_evidence_of_the_learning_rate():
    assert loss_grew([50.0, 3.0], 2.3) and not loss_grew([50.0, 3.0], 2.3, scaled=False)
    assert loss_grew([50.0, 60.0], 2.3, scaled=False)  # a rise after the first epoch is


def test_a_regressor_s_diagnosis_names_the_target_s_scale_first():
    X = np.ones((4, 2))
    target = np.array([[1e5], [2e5], [3e5], [4e5]])
    causes = likely_causes([5e10, 5e10], 6e9, X, REGRESSOR, 1e-3, start=5e10, target=target)
    assert causes.startswith("The target is far from the unit scale: the target has a mean "
                             "of 2.5e+05")
    assert "learning_rate_init" not in causes
    # A target near the unit scale is no cause; several outputs are named by number.
    assert "TransformedTargetRegressor" not in likely_causes(
        [0.6, 0.5], 0.5, X, REGRESSOR, 1e-3, start=0.6, target=target / 1e5)
    two = np.hstack([target / 1e5, target])
    assert "output 1 of the target" in likely_causes([1.0], 1.0, X, REGRESSOR, target=two)
