"""Explanations of data with missing values, through pipelines that impute them."""

import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn.explain import input_gradients, integrated_gradients

pd = pytest.importorskip("pandas")

CATEGORICAL = ["site", "plan"]
NUMERIC = ["age", "income", "visits"]


def _patients(n=300, seed=0):
    """Numeric and string columns, each with missing values (NaN), in mixed order."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(45, 12, size=n).round(),
        "site": rng.choice(["north", "south", "east"], size=n).astype(object),
        "income": rng.lognormal(10, 0.4, size=n),
        "plan": rng.choice(["basic", "pro"], size=n).astype(object),
        "visits": rng.poisson(3, size=n).astype(float),
    })
    signal = (X["age"] - 45) / 12 + (X["site"] == "north") - (X["plan"] == "pro")
    y = (signal + rng.normal(scale=0.5, size=n) > 0).astype(int)
    for column, share in zip(X.columns, [0.15, 0.15, 0.1, 0.1, 0.05], strict=True):
        X.loc[rng.random(n) < share, column] = np.nan
    return X, y


def _issue_pipeline(categories="most_frequent", numbers=None):
    """The issue's ColumnTransformer: impute and one-hot the strings, impute and scale the rest."""
    return ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy=categories),
                              OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
        ("num", make_pipeline(SimpleImputer() if numbers is None else numbers,
                              StandardScaler()), NUMERIC),
    ])


def _fit(preprocess, X, y, **mlp):
    params = dict(activation="tanh", solver="lbfgs", max_iter=60, alpha=1e-2, random_state=0)
    pipeline = make_pipeline(*preprocess, MLPClassifierFromScratch((12,), **{**params, **mlp}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipeline.fit(X, y)


def _gap(pipeline, rows, baseline, column):
    return (pipeline.predict_proba(rows)[:, column]
            - pipeline.predict_proba(baseline)[:, column])


def _rows_with_gaps(X):
    """Rows missing a category, a number, both, and none."""
    site, age = X["site"].isna(), X["age"].isna()
    picks = [X.index[site & ~age][0], X.index[age & ~site][0], X.index[site & age][0],
             X.index[X.notna().all(axis=1)][0]]
    return X.loc[picks]


@pytest.fixture(scope="module")
def patients():
    return _patients()


# -- integrated gradients run in the imputed, encoded space ------------------------------------
@pytest.mark.parametrize(
    "categories, numbers",
    [
        ("most_frequent", SimpleImputer(strategy="mean")),
        ("constant", SimpleImputer(strategy="median")),
        ("most_frequent", SimpleImputer(strategy="most_frequent")),
        ("constant", SimpleImputer(strategy="constant", fill_value=-1.0)),
        ("most_frequent", SimpleImputer(add_indicator=True)),
        ("constant", KNNImputer(n_neighbors=3)),
    ],
    ids=["mean", "median", "most_frequent", "constant", "mean+indicator", "knn"],
)
def test_integrated_gradients_are_complete_on_rows_with_missing_values(
    patients, categories, numbers,
):
    X, y = patients
    pipeline = _fit([_issue_pipeline(categories, numbers)], X, y)
    rows = _rows_with_gaps(X)
    for baseline in (X.iloc[[7]], None):  # a given row, and the typical row of X_train
        attributions = integrated_gradients(pipeline, rows, baseline=baseline, X_train=X,
                                            target=1)
        assert list(attributions.columns) == list(X.columns)
        if baseline is None:
            typical = X.iloc[[0]].copy()
            for column in NUMERIC:
                typical[column] = X[column].mean()  # of the observed values
            for column in CATEGORICAL:
                typical[column] = X[column].value_counts().idxmax()
            baseline = typical
        gap = _gap(pipeline, rows, baseline, 1)
        assert np.abs(gap).max() > 0.05
        np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)


def test_a_missing_value_is_attributed_as_what_it_is_imputed_with(patients):
    X, y = patients
    rows = _rows_with_gaps(X)
    mode = X["site"].value_counts().idxmax()
    # Imputed with the mode, a missing site is the baseline's site: it gets nothing.
    imputed = _fit([_issue_pipeline("most_frequent")], X, y)
    baseline = X.iloc[[0]].copy()
    baseline["site"], baseline["age"] = mode, X["age"].mean()
    attributions = integrated_gradients(imputed, rows, baseline=baseline, target=1)
    np.testing.assert_array_equal(attributions["site"].iloc[[0, 2]], 0.0)
    np.testing.assert_array_equal(attributions["age"].iloc[[1, 2]], 0.0)  # mean = baseline's
    # Imputed as a constant, "missing_value" is a category of its own, with its own effect.
    constant = _fit([_issue_pipeline("constant")], X, y)
    attributions = integrated_gradients(constant, rows, baseline=baseline, target=1)
    assert (attributions["site"].iloc[[0, 2]].abs() > 1e-3).all()
    # The same attributions as explaining the network on the encoded rows by hand.
    encode, mlp = constant[:-1], constant[-1]
    encoded = integrated_gradients(mlp, encode.transform(rows), tol=1e-9, target=1,
                                   baseline=encode.transform(baseline))
    ours = integrated_gradients(constant, rows, baseline=baseline, target=1, tol=1e-9)
    names = encode.get_feature_names_out()
    for column in X.columns:
        prefix = f"{'cat' if column in CATEGORICAL else 'num'}__{column}"
        by_hand = encoded[:, [n == prefix or n.startswith(prefix + "_") for n in names]]
        np.testing.assert_allclose(ours[column], by_hand.sum(axis=1), rtol=1e-6, atol=1e-9)


def test_an_imputer_that_starts_the_pipeline_on_numeric_arrays():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] + X[:, 1] ** 2 > 0.5
    X[rng.random(X.shape) < 0.1] = np.nan
    pipeline = _fit([SimpleImputer(strategy="median", add_indicator=True), StandardScaler()],
                    X, y)
    rows = X[np.isnan(X).any(axis=1)][:6]
    attributions = integrated_gradients(pipeline, rows, X_train=X, target=True)
    assert isinstance(attributions, np.ndarray) and attributions.shape == (6, 4)
    typical = np.nanmean(X, axis=0, keepdims=True)
    np.testing.assert_allclose(attributions.sum(axis=1), _gap(pipeline, rows, typical, 1),
                               rtol=0, atol=1e-4)
    # Gradients of an observed value: central differences; of a missing one: at the imputed
    # value (the flag it sets does not move with the value).
    gradients = input_gradients(pipeline, rows, target=True)
    assert np.isfinite(gradients).all()
    observed = ~np.isnan(rows[:, 0])
    h = 1e-5
    up, down = rows.copy(), rows.copy()
    up[:, 0] += h
    down[:, 0] -= h
    derivative = (pipeline.predict_proba(up)[:, 1] - pipeline.predict_proba(down)[:, 1]) / (2 * h)
    np.testing.assert_allclose(gradients[observed, 0], derivative[observed], rtol=1e-5,
                               atol=1e-9)
    filled = rows.copy()
    filled[:, 0] = np.where(observed, rows[:, 0], np.nanmedian(X[:, 0]))
    np.testing.assert_allclose(input_gradients(pipeline, filled, target=True)[~observed, 0],
                               gradients[~observed, 0], rtol=1e-9)


def test_missing_values_that_reach_a_step_unimputed_name_that_step(patients):
    X, y = patients
    no_imputer = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
        ("num", StandardScaler(), NUMERIC),
    ])
    pipeline = _fit([no_imputer], X.fillna({"income": 1.0, "visits": 1.0}).dropna(subset="age"),
                    y[X["age"].notna()])
    with pytest.raises(ValueError, match=r"Column 'age' of X contains NaN or infinity, and step "
                                         r"'columntransformer__num' \(StandardScaler\) receives"):
        integrated_gradients(pipeline, _rows_with_gaps(X), baseline=X.iloc[[7]])
    # An imputer of another marker rejects NaN itself: its error names it, too.
    sentinel = _fit([_issue_pipeline(numbers=SimpleImputer(missing_values=-1.0))],
                    X.fillna({c: -1.0 for c in NUMERIC}), y)
    with pytest.raises(ValueError, match=r"'columntransformer' \(ColumnTransformer\) cannot "
                                         r"transform the rows of X: Input X contains NaN"):
        integrated_gradients(sentinel, _rows_with_gaps(X), baseline=X.iloc[[3]])


def test_a_missing_indicator_branch_is_attributed_to_its_columns(patients):
    X, y = patients
    rows = _rows_with_gaps(X)

    def branches(numbers):
        return ColumnTransformer([
            ("cat", make_pipeline(SimpleImputer(strategy="constant"), OneHotEncoder()),
             CATEGORICAL),
            *numbers,
        ])

    # A union of imputed values and flags is no step the path knows: it is named.
    union = _fit([branches([("num", make_union(make_pipeline(SimpleImputer(), StandardScaler()),
                                                MissingIndicator()), NUMERIC)])], X, y)
    with pytest.raises(ValueError, match=r"step 'columntransformer__num' \(FeatureUnion\) "
                                         r"receives it as it is"):
        integrated_gradients(union, rows, baseline=X.iloc[[7]])
    # The flags as a branch of their own: each raw column gets its value's and its flag's share.
    pipeline = _fit([branches([("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
                               ("missing", MissingIndicator(), NUMERIC)])], X, y)
    baseline = X.iloc[[7]].copy()
    baseline["age"] = X["age"].mean()  # what a missing age is imputed with
    attributions = integrated_gradients(pipeline, rows, baseline=baseline, target=1)
    np.testing.assert_allclose(attributions.sum(axis=1), _gap(pipeline, rows, baseline, 1),
                               rtol=0, atol=1e-4)
    missing_age = rows["age"].isna().to_numpy()
    assert (attributions["age"][missing_age].abs() > 1e-4).all()  # the flag alone moves it


# -- LIME samples, perturbs and explains missing values ----------------------------------------
@pytest.fixture(scope="module")
def imputing(patients):
    X, y = patients
    return _fit([_issue_pipeline()], X, y), X


def test_lime_explains_a_row_with_missing_values_at_its_defaults(imputing):
    pytest.importorskip("lime")
    from skdnn.explain import explain_lime, format_explanation

    pipeline, X = imputing
    x = _rows_with_gaps(X).iloc[[2]]  # no site, no age
    exp = explain_lime(pipeline, X, x, random_state=0)
    rules = dict(exp.as_list())
    assert len(rules) == 5
    assert {"site=missing", "age=missing", f"plan={x['plan'].iloc[0]}"} <= set(rules)
    assert exp.predict_proba == pytest.approx(pipeline.predict_proba(x)[0])
    assert "site=missing" in format_explanation(exp)
    # A row without missing values, explained among training rows with them.
    full = _rows_with_gaps(X).iloc[[3]]
    rules = [rule for rule, _ in explain_lime(pipeline, X, full, random_state=0).as_list()]
    assert len(rules) == 5 and not any("missing" in rule for rule in rules)


def test_lime_draws_missing_values_as_often_as_the_training_data_have_them(imputing):
    pytest.importorskip("lime")
    from skdnn.explain import explain_lime

    pipeline, X = imputing
    seen = []

    class Spy:  # the pipeline, recording what LIME asks it about
        def __getattr__(self, name):
            return getattr(pipeline, name)

        def predict_proba(self, rows):
            seen.append(rows)
            return pipeline.predict_proba(rows)

    spy = Spy()
    spy.__class__.__sklearn_tags__ = pipeline.__sklearn_tags__
    x = _rows_with_gaps(X).iloc[[2]]
    explain_lime(spy, X, x, num_samples=4000, random_state=0)
    samples = seen[-1]
    assert samples.shape == (4000, 5)
    pd.testing.assert_frame_equal(samples.iloc[[0]].reset_index(drop=True),
                                  x.reset_index(drop=True), check_dtype=False)  # the row
    for column in X.columns:
        assert samples[column].isna().mean() == pytest.approx(X[column].isna().mean(),
                                                              abs=0.03), column
    # Observed values are drawn around the observed ones, never at the stand-in for NaN.
    ages = samples["age"].dropna()
    assert X["age"].min() - 1 <= ages.min() and ages.max() <= X["age"].max() + 1e-9
    assert set(samples["site"].dropna()) <= set(X["site"].dropna())


def test_lime_on_arrays_with_none_as_a_missing_category_and_the_decile_discretizer():
    pytest.importorskip("lime")
    from skdnn.explain import explain_lime

    X, y = _patients(200, seed=3)
    X = X.to_numpy(dtype=object)
    X[:, [1, 3]] = np.where(pd.isna(X[:, [1, 3]]), None, X[:, [1, 3]])  # None, not NaN
    pipeline = _fit([ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="?",
                                            missing_values=None),
                              OneHotEncoder(handle_unknown="ignore")), [1, 3]),
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0, 2, 4]),
    ])], X, y)
    row = X[[i for i in range(len(X)) if X[i, 1] is None and np.isnan(X[i, 0])][0]]
    exp = explain_lime(pipeline, X, row, random_state=0, num_samples=500,
                       categorical_features=[1, 3], discretizer="decile")
    rules = [rule for rule, _ in exp.as_list()]
    assert {"x1=missing", "x0=missing"} <= set(rules)


def test_lime_says_what_to_do_when_missing_values_cannot_be_explained(patients):
    pytest.importorskip("lime")
    from skdnn.explain import explain_lime

    X, y = patients
    numbers = X[NUMERIC]
    plain = _fit([], numbers.dropna(), y[numbers.notna().all(axis=1)])
    with pytest.raises(ValueError, match=r"^Pipeline cannot predict rows with missing values, "
                                         r"which X_train or x have \(Input X contains NaN\.\)\. "
                                         r"Explain a pipeline that imputes them"):
        explain_lime(plain, numbers, numbers.dropna().iloc[0], num_samples=100)
    imputed = _fit([SimpleImputer()], numbers, y)
    with pytest.raises(ValueError, match=r"\['age', 'income', 'visits'\] have missing values.*"
                                         r"keep discretize_continuous=True"):
        explain_lime(imputed, numbers, numbers.iloc[0], num_samples=100,
                     discretize_continuous=False)
    with pytest.raises(ValueError, match=r"discretizer='quartile' or 'decile'; got 'entropy'"):
        explain_lime(imputed, numbers, numbers.iloc[0], num_samples=100,
                     discretizer="entropy")
    with pytest.raises(ValueError, match="'income' of x contains infinity"):
        explain_lime(imputed, numbers, numbers.iloc[0].replace(numbers.iloc[0, 1], np.inf),
                     num_samples=100)


def test_every_explanation_and_display_works_on_the_issue_pipeline(imputing):
    pytest.importorskip("lime")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdnn.explain import explanation_stability
    from skdnn.plot import AttributionDisplay

    pipeline, X = imputing
    x = _rows_with_gaps(X).iloc[[2]]
    table = explanation_stability(pipeline, X, x, n_repeats=3, num_samples=500,
                                  random_state=0)
    assert sorted(table.index) == sorted(X.columns)
    ig = AttributionDisplay.from_estimator(pipeline, X, x)
    assert {label.get_text() for label in ig.ax_.get_yticklabels()} == set(X.columns)
    lime = AttributionDisplay.from_estimator(pipeline, X, x, method="lime", num_samples=500,
                                             random_state=0)
    assert "site=missing" in {label.get_text() for label in lime.ax_.get_yticklabels()}
    plt.close("all")
