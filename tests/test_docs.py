"""Documentation as scikit-learn writes it: every public parameter of every estimator has an
entry of its own with a type, a default and a description, and every public method says
what it takes and what it returns."""

import inspect
import re

import pytest

import skdnn

ESTIMATORS = [obj for obj in vars(skdnn).values()
              if inspect.isclass(obj) and hasattr(obj, "get_params")]


def _section(doc, title):
    """The entries of a numpydoc section: {name: description lines}."""
    doc = inspect.cleandoc(doc)
    match = re.search(rf"^{title}\n-+\n(.*?)(?=\n\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    entries, name = {}, None
    for line in (match.group(1) if match else "").splitlines():
        if line and not line.startswith(" "):
            name, _, kind = line.partition(" : ")
            entries[name] = [kind]
        elif name is not None and line.strip():
            entries[name].append(line.strip())
    return entries


def test_every_estimator_is_checked():
    assert {est.__name__ for est in ESTIMATORS} >= {"MLPClassifierFromScratch",
                                                    "PerceptronClassifier"}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: est.__name__)
def test_every_parameter_has_its_own_entry_with_type_default_and_description(estimator):
    entries = _section(estimator.__doc__, "Parameters")
    for name in inspect.signature(estimator).parameters:
        assert name in entries, f"{estimator.__name__}: {name} has no entry of its own"
        kind, *description = entries[name]
        assert "default=" in kind, f"{estimator.__name__}.{name}: no default in {kind!r}"
        assert description, f"{estimator.__name__}.{name} has a type and no description"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: est.__name__)
def test_public_methods_say_what_they_take_and_return(estimator):
    for name in ["fit", "partial_fit", "predict", "predict_proba", "predict_log_proba",
                 "decision_function"]:
        method = getattr(estimator, name, None)
        if method is None or not callable(method):
            continue
        doc = inspect.getdoc(method) or ""
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        entries = _section(doc, "Parameters")
        assert all(p in entries for p in params), f"{estimator.__name__}.{name}: {doc!r}"
        assert _section(doc, "Returns"), f"{estimator.__name__}.{name} documents no return"
