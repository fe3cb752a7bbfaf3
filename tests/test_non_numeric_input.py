"""Columns a network cannot take (strings, categories, dates) and a continuous target given
to a classifier get a short message naming the column and the fix, not NumPy's."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch, PerceptronClassifier

pd = pytest.importorskip("pandas")

N = 40
RNG = np.random.default_rng(0)
Y_CLASSES = RNG.integers(0, 2, N)
Y_REAL = RNG.normal(size=N)

ESTIMATORS = {
    "classifier": (lambda: MLPClassifierFromScratch((4,), max_iter=3, random_state=0),
                   Y_CLASSES),
    "regressor": (lambda: MLPRegressorFromScratch((4,), max_iter=3, random_state=0), Y_REAL),
    "perceptron": (lambda: PerceptronClassifier(max_iter=3, random_state=0), Y_CLASSES),
}

# Each kind of column: the column, and what the message must say of it.
COLUMNS = {
    "strings": (lambda: RNG.choice(["red", "blue"], N),
                r"Column 'colour' \(e\.g\. '(red|blue)'\) holds strings\. One-hot encode it "
                r"first: make_pipeline\(ColumnTransformer\(\[\('categories', OneHotEncoder\("
                r"handle_unknown='ignore'\), \['colour'\]\)\]"),
    "object": (lambda: RNG.choice(["red", "blue"], N).astype(object),
               r"Column 'colour' \(e\.g\. '(red|blue)'\) holds strings\. One-hot encode it"),
    "string dtype": (lambda: pd.array(RNG.choice(["red", "blue"], N), dtype="string"),
                     r"Column 'colour' \(e\.g\. '(red|blue)'\) holds strings\. One-hot"),
    "category": (lambda: pd.Categorical(RNG.choice(["red", "blue"], N)),
                 r"Column 'colour' is categorical \(dtype 'category'\)\. One-hot encode it"),
    "datetime": (lambda: pd.date_range("2024-01-01", periods=N),
                 r"Column 'colour' holds dates or times: convert it to numbers first, e\.g\. "
                 r"the year \(X\['colour'\]\.dt\.year\)"),
}


def _frame(column):
    return pd.DataFrame({"size": RNG.normal(size=N), "colour": column})


def _fit(model, method, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if method == "partial_fit" and not isinstance(model, MLPRegressorFromScratch):
            return model.partial_fit(X, y, classes=np.unique(y))
        return getattr(model, method)(X, y)


@pytest.mark.parametrize("kind", COLUMNS)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_column_that_is_not_numbers_is_named_with_its_fix(estimator, method, kind):
    make, y = ESTIMATORS[estimator]
    column, says = COLUMNS[kind]
    X = _frame(column())
    model = make()
    if method == "predict":
        _fit(model, "fit", X.assign(colour=RNG.normal(size=N)), y)
        with pytest.raises(ValueError, match=says) as error:
            model.predict(X)
    else:
        with pytest.raises(ValueError, match=says) as error:
            _fit(model, method, X, y)
    assert str(error.value).startswith(f"{type(model).__name__} needs numeric features.")
    assert "size" not in str(error.value)  # the numeric column is not named


def test_every_such_column_is_named_and_an_array_s_by_its_index():
    X = _frame(RNG.choice(["red", "blue"], N)).assign(
        shape=pd.Categorical(RNG.choice(["round", "square"], N)),
        day=pd.date_range("2024-01-01", periods=N))
    with pytest.raises(ValueError, match=r"\['colour', 'shape'\]\)\].*Column 'day' holds dates"):
        MLPClassifierFromScratch().fit(X, Y_CLASSES)
    array = np.column_stack([RNG.normal(size=N), RNG.choice(["red", "blue"], N)])
    with pytest.raises(ValueError, match=r"Column 1 \(e\.g\. '(red|blue)'\) holds strings.*"
                                         r"OneHotEncoder\(handle_unknown='ignore'\), \[1\]\)"):
        MLPRegressorFromScratch().fit(array, Y_REAL)


def test_the_pipeline_the_message_gives_fits():
    from sklearn.compose import ColumnTransformer  # noqa: F401  (the message's names)
    from sklearn.pipeline import make_pipeline  # noqa: F401
    from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: F401

    X = _frame(RNG.choice(["red", "blue"], N))
    with pytest.raises(ValueError) as error:
        MLPClassifierFromScratch().fit(X, Y_CLASSES)
    code = re.search(r"make_pipeline\(.*\)\), from", str(error.value)).group(0)[:-len(", from")]
    pipeline = eval(code.replace("MLPClassifierFromScratch()",
                                 "MLPClassifierFromScratch((4,), max_iter=3)"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert pipeline.fit(X, Y_CLASSES).predict(X).shape == (N,)


@pytest.mark.parametrize("estimator", ["classifier", "perceptron"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_continuous_target_into_a_classifier_gets_scikit_learn_s_short_message(estimator,
                                                                                 method):
    model = ESTIMATORS[estimator][0]()
    X = RNG.normal(size=(N, 2))
    with pytest.raises(ValueError, match=r"^Unknown label type: continuous\. Maybe you are "
                                         r"trying to fit a classifier") as error:
        if method == "partial_fit":
            model.partial_fit(X, Y_REAL, classes=[0, 1])
        else:
            model.fit(X, Y_REAL)
    assert len(str(error.value)) < 200  # not the whole array


def test_a_string_target_into_the_regressor_says_to_use_a_classifier():
    with pytest.raises(ValueError, match=r"MLPRegressorFromScratch predicts numbers, and y "
                                         r"holds strings \(e\.g\. '(a|b)'\)"):
        MLPRegressorFromScratch().fit(RNG.normal(size=(N, 2)), RNG.choice(["a", "b"], N))


def test_other_input_errors_stay_scikit_learn_s_and_numeric_categories_still_fit():
    X = RNG.normal(size=(N, 3)).astype(object)
    X[0, 0] = {"foo": "bar"}  # scikit-learn's check_dtype_object: its TypeError stands
    with pytest.raises(TypeError, match="argument must be a string.* number"):
        MLPClassifierFromScratch().fit(X, Y_CLASSES)
    numeric = _frame(pd.Categorical(RNG.integers(0, 3, N)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifierFromScratch((4,), max_iter=3).fit(numeric, Y_CLASSES).predict(numeric)
