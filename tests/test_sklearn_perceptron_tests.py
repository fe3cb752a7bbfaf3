"""scikit-learn's own tests of its Perceptron (sklearn/linear_model/tests/test_perceptron.py,
imported from the installed package, not copied), run against
``PerceptronClassifier(batch_size=1, pocket=False)``: the online rule, not averaged (as
``average="auto"`` makes it), with the last weights."""

import functools

import pytest

from skdnn import PerceptronClassifier

sklearn_tests = pytest.importorskip("sklearn.linear_model.tests.test_perceptron")

# These fits are short on purpose (max_iter=2 on data no line separates).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _perceptron_is_ours(monkeypatch):
    """Inside scikit-learn's test module, ``Perceptron`` is skdnn's online rule."""
    monkeypatch.setattr(sklearn_tests, "Perceptron",
                        functools.partial(PerceptronClassifier, batch_size=1, pocket=False))


test_perceptron_accuracy = sklearn_tests.test_perceptron_accuracy
test_perceptron_correctness = sklearn_tests.test_perceptron_correctness
test_perceptron_l1_ratio = sklearn_tests.test_perceptron_l1_ratio


@pytest.mark.xfail(strict=True, raises=pytest.fail.Exception,
                   reason="PerceptronClassifier has predict_proba (temperature scaling), which "
                          "scikit-learn's test checks is absent")
def test_undefined_methods():
    sklearn_tests.test_undefined_methods()
