"""PerceptronClassifier: the perceptron rule, the pocket, probabilities, parity with
scikit-learn, and bad input."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron
from sklearn.metrics import log_loss
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdnn._perceptron import PerceptronClassifier

GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}
XOR = np.array([0, 1, 1, 0])
LOADERS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


@pytest.fixture
def quiet():
    """Silence the ConvergenceWarning of fits that are not about convergence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _blobs(n_classes=3, n_samples=90, seed=0, std=2.5):
    X, y = make_blobs(n_samples=n_samples, centers=n_classes, cluster_std=std, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _standardised_split(name, seed=0):
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# -- scikit-learn's estimator checks --------------------------------------------------------------
def _expected_failed_checks(estimator):
    if estimator.early_stopping:
        reason = (
            "the early-stopping validation split is drawn per sample, so a weighted sample "
            "cannot be held out the way its repeated copies are"
        )
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    return {}


@parametrize_with_checks(
    [
        PerceptronClassifier(),
        PerceptronClassifier(early_stopping=True),
        PerceptronClassifier(class_weight="balanced"),
        PerceptronClassifier(average=True),
        PerceptronClassifier(pocket=False),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# -- the logic gates of the perceptron lesson -----------------------------------------------------
@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("random_state", range(5))
def test_linearly_separable_gates_are_learned_exactly_within_10_epochs(gate, random_state):
    y = GATES[gate]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = PerceptronClassifier(shuffle=False, random_state=random_state).fit(GATE_INPUTS, y)
    assert clf.n_iter_ <= 10
    np.testing.assert_array_equal(clf.predict(GATE_INPUTS), y)


def test_xor_warns_that_the_data_are_not_linearly_separable():
    with pytest.warns(ConvergenceWarning, match="not linearly separable"):
        PerceptronClassifier(random_state=0).fit(GATE_INPUTS, XOR)


@pytest.mark.parametrize("random_state", range(5))
def test_pocket_keeps_the_best_xor_line_with_three_of_four_points(random_state, quiet):
    clf = PerceptronClassifier(tol=None, max_iter=200, random_state=random_state)
    assert clf.fit(GATE_INPUTS, XOR).score(GATE_INPUTS, XOR) == 0.75


def test_without_pocket_xor_ends_on_a_worse_line(quiet):
    scores = [
        PerceptronClassifier(pocket=False, tol=None, max_iter=200, random_state=seed)
        .fit(GATE_INPUTS, XOR)
        .score(GATE_INPUTS, XOR)
        for seed in range(5)
    ]
    assert max(scores) <= 0.75 and min(scores) < 0.75


# -- the perceptron rule, averaging and sample weights --------------------------------------------
def _reference_perceptron(X, Y, eta0):
    """The textbook rule, one sample at a time: W <- W + eta0 (t - H(W . x~)) x~."""
    X_aug = np.hstack([X, np.ones((len(X), 1))])
    W = np.zeros((X_aug.shape[1], Y.shape[1]))
    history = []
    for x, t in zip(X_aug, Y, strict=True):
        W = W + eta0 * np.outer(x, t - (x @ W >= 0))
        history.append(W)
    return history


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("average", [False, True])
def test_one_sample_partial_fits_follow_the_perceptron_rule_and_its_average(n_classes, average):
    X, y = _blobs(n_classes=n_classes, n_samples=30, seed=1)
    Y = (y == 1)[:, None] if n_classes == 2 else np.eye(n_classes)[y]
    history = _reference_perceptron(X, Y.astype(float), eta0=0.5)
    clf = PerceptronClassifier(eta0=0.5, average=average)
    for i in range(len(X)):
        clf.partial_fit(X[i : i + 1], y[i : i + 1], classes=np.arange(n_classes))
        expected = np.mean(history[: i + 1], axis=0) if average else history[i]
        np.testing.assert_allclose(clf.coef_, expected[:-1].T, atol=1e-12)
        np.testing.assert_allclose(clf.intercept_, expected[-1], atol=1e-12)
    assert clf.n_iter_ == clf.t_ == len(X)


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize(
    "params", [{}, {"average": True}, {"class_weight": {0: 2.5, 1: 0.3, 2: 1.7}}]
)
@pytest.mark.parametrize("most", [4, 40])
def test_integer_sample_weights_act_as_repeated_samples(container, params, most, quiet):
    # Up to 40 copies: a weighted sample's presentations are counted in closed form, the
    # copies are presented one by one.
    rng = np.random.default_rng(most)
    X, y = rng.normal(size=(25, 4)), rng.integers(0, 3, size=25)
    weights = rng.integers(0, most, size=25)
    weighted = PerceptronClassifier(random_state=0, **params)
    weighted.fit(container(X), y, sample_weight=weights)
    repeated = PerceptronClassifier(random_state=0, **params)
    repeated.fit(container(np.repeat(X, weights, axis=0)), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X))


@pytest.mark.parametrize("weight", [1e-300, 1e300])
def test_extreme_sample_weights_train_quickly_to_finite_probabilities(weight, quiet):
    X, y = _blobs()
    clf = PerceptronClassifier(average=True, random_state=0)
    clf.fit(X, y, sample_weight=np.full(len(y), weight))
    assert np.all(np.isfinite(clf.predict_proba(X))) and np.isfinite(clf.t_)


def test_the_order_of_the_rows_and_the_sparse_format_do_not_change_the_model(quiet):
    X, y = _blobs()
    reference = PerceptronClassifier(random_state=3).fit(X, y)
    order = np.random.default_rng(0).permutation(len(X))
    for X_other, y_other in [
        (X[order], y[order]),
        (sp.csr_matrix(X), y),
        (sp.csc_matrix(X[order]), y[order]),
    ]:
        other = PerceptronClassifier(random_state=3).fit(X_other, y_other)
        np.testing.assert_allclose(other.coef_, reference.coef_)
        np.testing.assert_allclose(other.intercept_, reference.intercept_)


def test_coef_init_that_separates_the_data_is_kept_after_one_epoch():
    X, y = GATE_INPUTS, GATES["AND"]
    clf = PerceptronClassifier().fit(X, y, coef_init=[[1.0, 1.0]], intercept_init=[-1.5])
    assert clf.n_iter_ == 1
    np.testing.assert_array_equal(clf.coef_, [[1.0, 1.0]])
    np.testing.assert_array_equal(clf.intercept_, [-1.5])


def test_warm_start_continues_from_the_previous_weights():
    X, y = GATE_INPUTS, GATES["OR"]
    clf = PerceptronClassifier(shuffle=False, warm_start=True, random_state=0).fit(X, y)
    coef, intercept = clf.coef_.copy(), clf.intercept_.copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 1  # already separated: one epoch without a mistake
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(clf.intercept_, intercept)


def test_partial_fit_on_a_stream_of_batches_learns_the_classes():
    X, y = _blobs(n_samples=300, seed=2, std=1.0)
    clf = PerceptronClassifier(random_state=0)
    for batch in np.array_split(np.arange(len(X)), 10):
        clf.partial_fit(X[batch], y[batch], classes=[0, 1, 2])
    assert clf.score(X, y) > 0.85


# -- accuracy against scikit-learn's Perceptron ---------------------------------------------------
@pytest.mark.parametrize(
    "name, n_seeds", [("iris", 10), ("wine", 10), ("breast_cancer", 10), ("digits", 3)]
)
def test_cross_validated_accuracy_is_within_one_point_of_sklearn_perceptron(name, n_seeds, quiet):
    # Seeds change single 5-fold scores by up to 2 points on wine, for both estimators, so
    # both are averaged over the same random_states.
    X, y = LOADERS[name](return_X_y=True)

    def mean_score(make):
        return np.mean(
            [
                cross_val_score(make_pipeline(StandardScaler(), make(seed)), X, y, cv=5).mean()
                for seed in range(n_seeds)
            ]
        )

    ours = mean_score(lambda seed: PerceptronClassifier(random_state=seed))
    theirs = mean_score(lambda seed: Perceptron(random_state=seed))
    assert ours >= theirs - 0.01


# -- probabilities --------------------------------------------------------------------------------
@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_sum_to_one_follow_the_decisions_and_agree_with_predict(n_classes, quiet):
    X, y = _blobs(n_classes=n_classes)
    clf = PerceptronClassifier(random_state=0).fit(X, y)
    proba, decision = clf.predict_proba(X), clf.decision_function(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)
    if n_classes == 2:
        order = np.argsort(decision)
        assert np.all(np.diff(proba[order, 1]) >= 0)
        assert np.all(np.diff(decision[order])[np.diff(proba[order, 1]) == 0] < 1e-6)
    else:
        larger = decision[:, :, None] > decision[:, None, :]
        assert np.all((proba[:, :, None] > proba[:, None, :])[larger])


def test_probabilities_agree_with_predict_on_the_decision_boundary():
    # The gates put samples exactly on the line (decision 0), where predict says classes_[1].
    clf = PerceptronClassifier(shuffle=False, random_state=0).fit(GATE_INPUTS, GATES["AND"])
    assert np.any(clf.decision_function(GATE_INPUTS) == 0)
    for proba in (clf.predict_proba(GATE_INPUTS), np.exp(clf.predict_log_proba(GATE_INPUTS))):
        np.testing.assert_array_equal(proba.argmax(axis=1), clf.predict(GATE_INPUTS))


def _platt_log_loss(decision, y_index, temperature):
    logits = decision / temperature
    if logits.ndim == 1:
        logits = np.column_stack([np.zeros_like(logits), logits])
    n_classes = logits.shape[1]
    smoothing = 1 / (np.bincount(y_index, minlength=n_classes)[y_index] + 2)
    targets = np.repeat((smoothing / (n_classes - 1))[:, None], n_classes, axis=1)
    targets[np.arange(len(y_index)), y_index] = 1 - smoothing
    return -np.sum(targets * log_softmax(logits, axis=1))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_temperature_minimises_the_log_loss_against_platt_targets(n_classes, quiet):
    X, y = _blobs(n_classes=n_classes)
    clf = PerceptronClassifier(random_state=0).fit(X, y)
    decision, T = clf.decision_function(X), clf.temperature_
    loss = _platt_log_loss(decision, y, T)
    for factor in (0.99, 1.01):
        assert loss < _platt_log_loss(decision, y, T * factor)


def test_temperature_stays_finite_on_separated_data():
    clf = PerceptronClassifier(shuffle=False, random_state=0).fit(GATE_INPUTS, GATES["OR"])
    assert clf.score(GATE_INPUTS, GATES["OR"]) == 1
    assert 0 < clf.temperature_ < np.inf
    assert clf.predict_proba(GATE_INPUTS).max() < 1


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_held_out_log_loss_is_close_to_sigmoid_calibrated_sklearn_perceptron(name, quiet):
    X_train, X_test, y_train, y_test = _standardised_split(name)
    ours = PerceptronClassifier(random_state=0).fit(X_train, y_train)
    calibrated = CalibratedClassifierCV(Perceptron(random_state=0), method="sigmoid")
    calibrated.fit(X_train, y_train)
    assert log_loss(y_test, ours.predict_proba(X_test)) <= (
        log_loss(y_test, calibrated.predict_proba(X_test)) + 0.05
    )


# -- input handling -------------------------------------------------------------------------------
def test_float32_input_keeps_float32_weights_decisions_and_probabilities():
    X, y = _blobs()
    clf = PerceptronClassifier(random_state=0).fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == clf.intercept_.dtype == np.float32
    assert clf.decision_function(X.astype(np.float32)).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32


def test_pandas_input_with_string_labels():
    pd = pytest.importorskip("pandas")
    X, y = _blobs(std=1.0)
    frame = pd.DataFrame(X, columns=["a", "b"])
    labels = pd.Series(np.array(["setosa", "versicolor", "virginica"])[y])
    clf = PerceptronClassifier(random_state=0).fit(frame, labels)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b"])
    assert set(clf.predict(frame)) <= set(labels)
    assert clf.score(frame, labels) > 0.8


def test_fitted_state_is_plain_data_and_survives_pickling(quiet):
    X, y = _blobs()
    clf = PerceptronClassifier(average=True, random_state=0).fit(X, y)
    plain = (np.ndarray, np.generic, int, float, str, bool, list, tuple, dict, type(None))
    assert all(isinstance(value, plain) for value in vars(clf).values())
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    restored.partial_fit(X, y)  # training continues after loading


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_input_is_rejected(bad):
    X, y = _blobs()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        PerceptronClassifier().fit(X, y)
    clf = PerceptronClassifier(random_state=0).fit(np.nan_to_num(X, posinf=0, neginf=0), y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict(X)


def test_wrong_number_of_features_is_rejected(quiet):
    X, y = _blobs()
    clf = PerceptronClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(np.hstack([X, X]))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :1], y)


def test_a_single_class_is_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        PerceptronClassifier().fit(GATE_INPUTS, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        PerceptronClassifier().partial_fit(GATE_INPUTS, [1, 1, 1, 1], classes=[1])


def test_negative_sample_weights_are_rejected():
    with pytest.raises(ValueError, match="[Nn]egative"):
        PerceptronClassifier().fit(GATE_INPUTS, XOR, sample_weight=[1, -1, 1, 1])


def test_partial_fit_needs_the_classes_first_and_rejects_unknown_labels():
    with pytest.raises(ValueError, match="classes"):
        PerceptronClassifier().partial_fit(GATE_INPUTS, XOR)
    clf = PerceptronClassifier().partial_fit(GATE_INPUTS, XOR, classes=[0, 1])
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(GATE_INPUTS, [0, 1, 2, 0])


def test_coef_init_of_the_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="coef_init"):
        PerceptronClassifier().fit(GATE_INPUTS, XOR, coef_init=np.zeros((2, 2)))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_features_give_finite_decisions_and_probabilities(n_classes, dtype, quiet):
    # Run with -W error::RuntimeWarning: no overflow warning either.
    X, y = _blobs(n_classes=n_classes)
    huge = np.finfo(dtype).max / 10  # 1.8e307 (float64) or 3.4e37 (float32)
    X_huge = X.copy()
    X_huge[::3] *= huge
    X_huge = X_huge.astype(dtype)
    for X_fit in (X.astype(dtype), X_huge):
        clf = PerceptronClassifier(random_state=0).fit(X_fit, y)
        for X_eval in (X_huge, np.full((2, 2), huge, dtype=dtype)):
            decision, proba = clf.decision_function(X_eval), clf.predict_proba(X_eval)
            assert np.all(np.isfinite(decision)) and np.all(np.isfinite(proba))
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
            assert np.all(np.isfinite(clf.predict_log_proba(X_eval)))


def test_features_of_1e300_are_learned():
    X = 1e300 * np.array([[1.0, 2.0], [2.0, 1.0], [-1.0, -2.0], [-2.0, -1.0]])
    y = [1, 1, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = PerceptronClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), y)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.decision_function(X)))
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba.argmax(axis=1), y)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_early_stopping_fits_the_temperature_on_the_held_out_split(quiet):
    X, y = make_classification(n_samples=200, n_features=5, flip_y=0.1, random_state=0)
    clf = PerceptronClassifier(early_stopping=True, validation_fraction=0.2, random_state=0)
    clf.fit(X, y)
    assert 0 < clf.temperature_ < np.inf
    assert clf.n_iter_ < clf.max_iter
