"""Models pickled by an earlier main load and predict as they did (issue 29, point 9).

``tests/data/pickled_by_289a6d2.pkl`` holds each estimator fitted and pickled by main at
289a6d2 (the commit before issue 29), with its predictions then; made by fitting, on iris and
the first 150 rows of diabetes, the models listed in ``MODELS``."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

# NumPy 2 wrote the arrays inside: NumPy 1 cannot read them (numpy._core), whatever skdnn does.
pytest.importorskip("numpy._core", reason="the pickles were written by NumPy 2")

SAVED = pickle.loads((Path(__file__).parent / "data" / "pickled_by_289a6d2.pkl").read_bytes())
MODELS = ["mlp_classifier", "mlp_regressor", "perceptron", "tabnet_classifier",
          "tabnet_regressor", "consensus"]


def _data(name):
    if "regressor" in name:
        X, _ = load_diabetes(return_X_y=True)
        return X[:150]
    return load_iris(return_X_y=True)[0]


def test_the_file_holds_every_estimator():
    assert sorted(SAVED["models"]) == sorted(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_a_model_pickled_by_the_earlier_main_predicts_as_it_did(name):
    blob, expected = SAVED["models"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: the state is understood as it is
        model = pickle.loads(blob)
        X = _data(name)
        got = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
