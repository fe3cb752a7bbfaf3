"""A failed fit changes nothing: bad input, or a learning rate that makes training diverge,
on a fitted estimator leaves every attribute as it was before the call (Ctrl-C is the one
deliberate exception: it keeps the weights trained so far)."""

import warnings

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from skdnn import (
    MLPClassifierFromScratch,
    MLPRegressorFromScratch,
    PerceptronClassifier,
    TabNetClassifier,
    TabNetRegressor,
)

MLP = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
TABNET = dict(n_d=4, n_a=4, n_steps=2, max_iter=5, random_state=0)
ESTIMATORS = {
    "classifier-adam": (MLPClassifierFromScratch(**MLP), "learning_rate_init", 1e12),
    "classifier-sgd": (MLPClassifierFromScratch(solver="sgd", **MLP), "learning_rate_init",
                       1e8),
    "classifier-early-stopping": (MLPClassifierFromScratch(solver="sgd", early_stopping=True,
                                                           **MLP), "learning_rate_init", 1e8),
    "classifier-lbfgs": (MLPClassifierFromScratch(solver="lbfgs", **MLP), None, None),
    "regressor-adam": (MLPRegressorFromScratch(**MLP), "learning_rate_init", 1e12),
    "regressor-sgd": (MLPRegressorFromScratch(solver="sgd", **MLP), "learning_rate_init", 1e8),
    "perceptron": (PerceptronClassifier(max_iter=5), "eta0", 1e308),
    "perceptron-online": (PerceptronClassifier(max_iter=5, batch_size=1), "eta0", 1e308),
    "tabnet-classifier": (TabNetClassifier(**TABNET), "learning_rate_init", 1e30),
    "tabnet-classifier-early-stopping": (TabNetClassifier(early_stopping=True, **TABNET),
                                         "learning_rate_init", 1e30),
    "tabnet-regressor": (TabNetRegressor(**TABNET), "learning_rate_init", 1e30),
}


def _data(estimator, n_features=5, n_classes=3, seed=0):
    if is_regressor(estimator):
        return make_regression(60, n_features, random_state=seed)
    return make_classification(60, n_features, n_informative=3, n_redundant=0, n_classes=n_classes,
                               random_state=seed)


def _snapshot(estimator):
    """Every attribute, with arrays and containers copied."""
    def copy(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, list | tuple):
            return type(value)(copy(v) for v in value)
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        return value
    return {name: copy(value) for name, value in vars(estimator).items()}


def _assert_same(after, before, where=""):
    assert type(after) is type(before), where
    if isinstance(before, np.ndarray):
        np.testing.assert_array_equal(after, before, err_msg=where)
        assert after.dtype == before.dtype, where
    elif isinstance(before, list | tuple):
        assert len(after) == len(before), where
        for i, (a, b) in enumerate(zip(after, before, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(before, dict):
        assert after.keys() == before.keys(), where
        for key in before:
            _assert_same(after[key], before[key], f"{where}[{key!r}]")
    elif isinstance(before, float) and np.isnan(before):
        assert np.isnan(after), where
    elif hasattr(before, "__dict__") and not callable(before):  # e.g. a LabelBinarizer
        _assert_same(vars(after), vars(before), where)
    else:
        assert after == before, where


def _assert_unchanged(estimator, before):
    after = _snapshot(estimator)
    assert after.keys() == before.keys()
    for name in before:
        _assert_same(after[name], before[name], name)


def _fitted(name):
    estimator, _, _ = ESTIMATORS[name]
    estimator = estimator.__class__(**estimator.get_params())
    X, y = _data(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y), X, y


def _bad_inputs(estimator, X, y):
    """Inputs that fail, each passing more of validation than the one before."""
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    # Other features and (for classifiers) other classes, then a negative sample weight.
    X_other, y_other = _data(estimator, n_features=4, n_classes=2, seed=1)
    negative = np.ones(len(y_other))
    negative[0] = -1
    return [(X_nan, y, None), (X_other, y_other, negative),
            (np.full_like(X_other, 1e200) * np.sign(X_other), y_other, None)]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_input_to_a_fitted_estimator_changes_nothing(name):
    estimator, X, y = _fitted(name)
    before = _snapshot(estimator)
    for X_bad, y_bad, sample_weight in _bad_inputs(estimator, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with pytest.raises(ValueError):
                estimator.fit(X_bad, y_bad, sample_weight=sample_weight)
        _assert_unchanged(estimator, before)


# With early stopping, a divergence after a validated epoch keeps the best weights (with a
# ConvergenceWarning), as in scikit-learn: that fit succeeds.
@pytest.mark.parametrize("name", [n for n, (_, p, _) in ESTIMATORS.items()
                                  if p and "early" not in n])
def test_a_diverging_fit_of_a_fitted_estimator_changes_nothing(name):
    estimator, X, y = _fitted(name)
    _, parameter, value = ESTIMATORS[name]
    before = _snapshot(estimator)
    estimator.set_params(**{parameter: value})
    before[parameter] = value
    # Other features and classes: validation passes and sets them, then training fails.
    X_other, y_other = _data(estimator, n_features=4, n_classes=2, seed=1)
    scale = 1e5 if isinstance(estimator, PerceptronClassifier) else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match=f"{parameter}=|non-finite|diverged"):
            estimator.fit(X_other * scale, y_other)
    _assert_unchanged(estimator, before)


@pytest.mark.parametrize("name", [n for n in ESTIMATORS if "lbfgs" not in n
                                  and "early" not in n and "tabnet" not in n])
def test_a_failed_partial_fit_changes_nothing(name):
    estimator, X, y = _fitted(name)
    before = _snapshot(estimator)
    X_nan = X.copy()
    X_nan[0, 0] = np.inf
    with pytest.raises(ValueError):
        estimator.partial_fit(X_nan, y)
    _assert_unchanged(estimator, before)
    _, parameter, value = ESTIMATORS[name]
    # Several steps in the epoch (one batch would report the loss before its step).
    changed = {parameter: value, "batch_size": 5}
    estimator.set_params(**changed)
    before.update(changed)
    # (SGD goes on at the rate its optimiser state holds; large features diverge it.)
    with pytest.raises(ValueError, match=f"{parameter}=|non-finite|diverged"):
        estimator.partial_fit(X * 1e5, y)
    _assert_unchanged(estimator, before)
