"""Every warning that a fit, partial_fit or explanation raises names the user's line: the
file and line of the call in the user's code, whether the estimator is called directly, from
a Pipeline or from a grid search (issue 29, point 6)."""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import (
    ConsensusClassifier,
    MLPClassifierFromScratch,
    MLPRegressorFromScratch,
    PerceptronClassifier,
    TabNetClassifier,
    TabNetRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)

X, y = load_iris(return_X_y=True)
X = X[::3]
y = y[::3]

# Estimators that stop at max_iter with a ConvergenceWarning, fitted on (X, target).
MAX_ITER = [
    MLPClassifierFromScratch((5,), max_iter=2, random_state=0),
    MLPClassifierFromScratch((5,), solver="lbfgs", max_iter=2, random_state=0),
    MLPRegressorFromScratch((5,), max_iter=2, random_state=0),
    PerceptronClassifier(max_iter=1, tol=None, random_state=0),
    TabNetClassifier(n_d=4, n_a=4, n_steps=1, max_iter=1, random_state=0),
    TabNetRegressor(n_d=4, n_a=4, n_steps=1, max_iter=1, random_state=0),
]


def _target(estimator):
    return y.astype(float) if "Regressor" in type(estimator).__name__ else y


def _the_warning(caught, category):
    found = [w for w in caught if issubclass(w.category, category)]
    assert found, f"no {category.__name__} among {[str(w.message) for w in caught]}"
    return found[0]


def _assert_at(warning, line):
    assert (warning.filename, warning.lineno) == (__file__, line), str(warning.message)


def _line_after():
    """The line number of the caller's next line."""
    return inspect.currentframe().f_back.f_lineno + 1


@pytest.mark.parametrize("estimator", MAX_ITER,
                         ids=lambda e: f"{type(e).__name__}-{getattr(e, 'solver', '')}")
@pytest.mark.parametrize("how", ["directly", "in a pipeline", "in a grid search"])
def test_a_fit_s_warning_names_the_user_s_line(estimator, how):
    model = {"directly": estimator, "in a pipeline": make_pipeline(StandardScaler(), estimator),
             "in a grid search": GridSearchCV(estimator, {"random_state": [0]}, cv=2)}[how]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line_after()
        model.fit(X, _target(estimator))
    _assert_at(_the_warning(caught, ConvergenceWarning), line)


def test_partial_fit_s_warning_names_the_user_s_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line_after()
        MLPClassifierFromScratch((5,), batch_size=500).partial_fit(X, y, classes=[0, 1, 2])
    _assert_at(_the_warning(caught, UserWarning), line)


@pytest.mark.parametrize("estimator", [
    MLPClassifierFromScratch((5,), max_iter=50, random_state=0),
    # the tabular MLPs plan their epochs (no warning at max_iter): their one warning of a
    # finished fit is this diagnosis
    TabularMLPClassifier(hidden_layer_sizes=(8,), n_members=2, max_iter=5, random_state=0),
    TabularMLPRegressor(hidden_layer_sizes=(8,), n_members=2, max_iter=5, random_state=0),
], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("how", ["directly", "in a pipeline"])
def test_the_diagnosis_of_a_fit_that_learned_nothing_names_the_user_s_line(estimator, how):
    constant = np.zeros_like(X)  # nothing to learn from: no better than the constant
    model = estimator if how == "directly" else make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line_after()
        model.fit(constant, _target(estimator) == 0)
    warning = _the_warning(caught, ConvergenceWarning)
    assert "no better than" in str(warning.message)
    _assert_at(warning, line)


def test_consensus_s_warning_names_the_user_s_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line_after()
        ConsensusClassifier(method="majority").fit(X, y[:, None])
    _assert_at(_the_warning(caught, DataConversionWarning), line)
