"""skdnn.explain through a real tabular pipeline: one-hot encoded strings, scalers, PCA, drops."""

import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomTreesEmbedding
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

from skdnn import MLPClassifierFromScratch
from skdnn.explain import explain_lime, input_gradients, integrated_gradients

pd = pytest.importorskip("pandas")

CATEGORICAL = ["region", "plan"]
NUMERIC = ["age", "income", "visits", "tenure", "score"]


def _customers(n=300, seed=0):
    """Two string columns and five numeric ones, in mixed order, with a non-default index."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "region": rng.choice(["west", "east", "north"], size=n),
        "age": rng.normal(40, 12, size=n),
        "income": rng.lognormal(10, 0.5, size=n),
        "plan": rng.choice(["basic", "pro"], size=n),
        "visits": rng.poisson(3, size=n).astype(float),
        "tenure": rng.uniform(0, 10, size=n),
        "score": rng.normal(size=n),
    }, index=pd.RangeIndex(1000, 1000 + n, name="customer"))
    signal = ((X["region"] == "west") * 1.5 + (X["plan"] == "pro") - (X["age"] - 40) / 12
              + X["score"])
    y = (signal + rng.normal(scale=0.5, size=n) > 0.5).astype(int)
    return X, y


def _fit(preprocess, X, y, **mlp):
    params = dict(activation="tanh", solver="lbfgs", max_iter=40, alpha=1e-2, random_state=0)
    pipeline = make_pipeline(*preprocess, MLPClassifierFromScratch((12,), **{**params, **mlp}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipeline.fit(X, y)


def _column_transformer(numeric=None, **params):
    return ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ("num", StandardScaler() if numeric is None else numeric, NUMERIC),
    ], **params)


@pytest.fixture(scope="module")
def customers():
    X, y = _customers()
    return _fit([_column_transformer()], X, y), X, y


def _gap(pipeline, rows, baseline, column):
    return (pipeline.predict_proba(rows)[:, column]
            - pipeline.predict_proba(baseline)[:, column])


# -- the pipeline ----------------------------------------------------------------------
def test_integrated_gradients_of_a_one_hot_pipeline_are_named_by_raw_column_and_complete(
    customers,
):
    pipeline, X, _ = customers
    rows, baseline = X.iloc[:12], X.iloc[[40]]
    attributions = integrated_gradients(pipeline, rows, baseline=baseline, target=1)
    assert isinstance(attributions, pd.DataFrame)
    assert list(attributions.columns) == list(X.columns)  # seven raw columns, in order
    pd.testing.assert_index_equal(attributions.index, rows.index)
    gap = _gap(pipeline, rows, baseline, 1)
    assert np.abs(gap).max() > 0.3  # the rows differ from the baseline in what matters
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    # A row whose category equals the baseline's gets nothing for that column.
    same = (rows["region"] == baseline["region"].iloc[0]).to_numpy()
    assert same.any() and (~same).any()
    np.testing.assert_array_equal(attributions.loc[same, "region"], 0.0)
    assert attributions.loc[~same, "region"].abs().max() > 0.05


def test_one_hot_attributions_equal_the_encoded_workaround_summed_by_hand(customers):
    # What a user had to do before: explain the MLP on the encoded rows, then add the one-hot
    # columns of each raw column. With a per-column scaler the two must agree exactly.
    pipeline, X, _ = customers
    rows, baseline = X.iloc[:6], X.iloc[[7]]
    ours = integrated_gradients(pipeline, rows, baseline=baseline, target=1, tol=1e-9)
    encode, mlp = pipeline[:-1], pipeline[-1]
    encoded = integrated_gradients(mlp, encode.transform(rows), target=1, tol=1e-9,
                                   baseline=encode.transform(baseline))
    names = encode.get_feature_names_out()
    for column in X.columns:
        prefix = f"{'cat' if column in CATEGORICAL else 'num'}__{column}"
        from_encoded = encoded[:, [n == prefix or n.startswith(prefix + "_") for n in names]]
        np.testing.assert_allclose(ours[column], from_encoded.sum(axis=1), rtol=1e-6,
                                   atol=1e-9)


def test_default_baseline_is_the_typical_training_row(customers):
    pipeline, X, _ = customers
    typical = X.iloc[[0]].copy()
    for column in NUMERIC:
        typical[column] = X[column].mean()
    for column in CATEGORICAL:
        typical[column] = X[column].value_counts().idxmax()
    rows = X.iloc[:5]
    attributions = integrated_gradients(pipeline, rows, X_train=X, target=1)
    np.testing.assert_allclose(attributions.sum(axis=1), _gap(pipeline, rows, typical, 1),
                               rtol=0, atol=1e-4)
    given = integrated_gradients(pipeline, rows, baseline=typical, target=1)
    pd.testing.assert_frame_equal(attributions, given, rtol=1e-9, atol=1e-12)
    as_series = integrated_gradients(pipeline, rows, baseline=typical.iloc[0], target=1)
    pd.testing.assert_frame_equal(as_series, given, rtol=1e-9, atol=1e-12)
    # Without training data, categories have no zero to start from.
    with pytest.raises(ValueError, match="give integrated_gradients a baseline"):
        integrated_gradients(pipeline, rows)


def test_an_unseen_category_is_ignored_like_the_encoder_does(customers):
    pipeline, X, _ = customers
    rows = X.iloc[:3].copy()
    rows["region"] = "south"  # never seen: handle_unknown="ignore" encodes it as all zeros
    baseline = X.iloc[[5]]
    attributions = integrated_gradients(pipeline, rows, baseline=baseline, target=0)
    np.testing.assert_allclose(attributions.sum(axis=1), _gap(pipeline, rows, baseline, 0),
                               rtol=0, atol=1e-4)


# -- every supported step ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "preprocess, unused",
    [
        (lambda: [_column_transformer(MinMaxScaler())], []),
        (lambda: [_column_transformer(MaxAbsScaler())], []),
        (lambda: [_column_transformer(RobustScaler())], []),
        (lambda: [_column_transformer(make_pipeline(StandardScaler(), PCA(n_components=3)))],
         []),
        (lambda: [_column_transformer(sparse_threshold=1.0), MaxAbsScaler(),
                  PCA(n_components=6, random_state=0)], []),
        (lambda: [ColumnTransformer([("cat", OneHotEncoder(), CATEGORICAL),
                                     ("age", "passthrough", ["age"]),
                                     ("drop", "drop", ["income"])],
                                    remainder=StandardScaler())], ["income"]),
        (lambda: [ColumnTransformer([("cat", OneHotEncoder(drop="first"), CATEGORICAL)],
                                    remainder="drop")], NUMERIC),
    ],
    ids=["minmax", "maxabs", "robust", "scaler+pca-branch", "sparse+maxabs+pca",
         "passthrough+drop+remainder", "only-categories"],
)
def test_integrated_gradients_are_complete_through_every_supported_step(preprocess, unused):
    X, y = _customers(200, seed=1)
    pipeline = _fit(preprocess(), X, y)
    rows, baseline = X.iloc[:8], X.iloc[[100]]
    attributions = integrated_gradients(pipeline, rows, baseline=baseline, target=1)
    np.testing.assert_allclose(attributions.sum(axis=1), _gap(pipeline, rows, baseline, 1),
                               rtol=0, atol=1e-4)
    used = [column for column in X.columns if column not in unused]
    assert (attributions[used].abs().max() > 1e-6).all()
    np.testing.assert_array_equal(attributions[unused], 0.0)  # dropped: exactly nothing


def test_integer_categories_through_a_bare_one_hot_encoder_on_arrays():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(200, 3))
    y = (X[:, 0] == 2) | (X[:, 1] == 0)
    pipeline = _fit([OneHotEncoder(handle_unknown="ignore")], X, y)
    rows = X[:6]
    baseline = np.array([0, 1, 3])
    attributions = integrated_gradients(pipeline, rows, baseline=baseline, target=True)
    assert isinstance(attributions, np.ndarray) and attributions.shape == (6, 3)
    gap = _gap(pipeline, rows, baseline[None], 1)
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(attributions[rows == baseline], 0.0)
    # LIME draws the integer columns the pipeline one-hot encodes as categories, too.
    pytest.importorskip("lime")
    exp = explain_lime(pipeline, X, rows[0], num_samples=200, random_state=0)
    assert sorted(rule for rule, _ in exp.as_list()) == [f"x{j}={rows[0, j]}" for j in range(3)]


# -- what is not supported, said clearly ---------------------------------------------------------
@pytest.mark.parametrize(
    "preprocess, named",
    [
        (lambda: [_column_transformer(KBinsDiscretizer(n_bins=3, quantile_method="linear"))],
         r"'columntransformer__num' \(KBinsDiscretizer\) is not an affine map"),
        (lambda: [ColumnTransformer([("text", FunctionTransformer(lambda Z: Z.apply(
            lambda c: c.astype("category").cat.codes)), CATEGORICAL)], remainder="passthrough")],
         r"'region' of X is not numeric, and step 'columntransformer__text' "
         r"\(FunctionTransformer\)"),
        (lambda: [FunctionTransformer(lambda Z: Z), _column_transformer()],
         r"'region' of X is not numeric, and step 'functiontransformer' \(FunctionTransformer\)"),
        (lambda: [_column_transformer(), RandomTreesEmbedding(n_estimators=3, random_state=0)],
         r"'randomtreesembedding' \(RandomTreesEmbedding\) is not an affine map"),
    ],
    ids=["kbins-branch", "function-on-strings", "function-first", "trees"],
)
def test_a_step_without_a_derivative_is_named_before_any_arithmetic_on_strings(
    preprocess, named,
):
    X, y = _customers(120)
    pipeline = _fit(preprocess(), X, y, max_iter=20)
    for explain in (integrated_gradients, input_gradients):
        with pytest.raises(ValueError, match=named) as error:
            explain(pipeline, X.iloc[:2], baseline=X.iloc[[3]]) if explain is \
                integrated_gradients else explain(pipeline, X.iloc[:2])
        assert "could not convert string" not in str(error.value)


def test_input_gradients_name_raw_columns_and_refuse_categories(customers):
    pipeline, X, y = customers
    with pytest.raises(ValueError, match=r"\['region', 'plan'\] are one-hot encoded"):
        input_gradients(pipeline, X.iloc[:2])
    numeric = _fit([ColumnTransformer([("num", StandardScaler(), NUMERIC)])], X, y)
    gradients = input_gradients(numeric, X.iloc[:4], target=1)
    assert list(gradients.columns) == list(X.columns)
    pd.testing.assert_index_equal(gradients.index, X.index[:4])
    np.testing.assert_array_equal(gradients[CATEGORICAL], 0.0)  # dropped by the transformer
    h = 1e-4 * X["age"].std()
    up, down = X.iloc[:4].copy(), X.iloc[:4].copy()
    up["age"] += h
    down["age"] -= h
    numeric_derivative = (numeric.predict_proba(up)[:, 1] - numeric.predict_proba(down)[:, 1])
    np.testing.assert_allclose(gradients["age"], numeric_derivative / (2 * h), rtol=1e-5,
                               atol=1e-9)


# -- LIME on the same pipeline, as a new user calls it ------------------------------------------
def test_lime_takes_string_columns_as_categories_and_works_with_its_defaults(customers):
    pytest.importorskip("lime")
    pipeline, X, _ = customers
    exp = explain_lime(pipeline, X, X.iloc[0], num_samples=300, random_state=0)
    rules = exp.as_list()  # LIME's default label=1
    assert len(rules) == 7
    categorical_rules = [rule for rule, _ in rules if rule.split("=")[0] in CATEGORICAL]
    assert sorted(categorical_rules) == sorted(f"{c}={X[c].iloc[0]}" for c in CATEGORICAL)


def test_attribution_display_draws_both_methods_for_the_one_hot_pipeline(customers):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdnn.plot import AttributionDisplay

    pipeline, X, _ = customers
    x = X.iloc[[2]]
    ig = AttributionDisplay.from_estimator(pipeline, X, x, target=1)
    names = {label.get_text() for label in ig.ax_.get_yticklabels()}
    assert names == set(X.columns)  # seven raw columns, one bar each
    lime = AttributionDisplay.from_estimator(pipeline, X, x, method="lime", target=1,
                                             num_samples=200, random_state=0)
    rules = [label.get_text() for label in lime.ax_.get_yticklabels()]
    assert len(rules) == 7 and any(rule.startswith("region=") for rule in rules)
    assert lime.ax_.get_title().startswith("LIME weights for P(1)\nlocal fit R² = ")
    plt.close("all")


# -- regression ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regressor():
    from skdnn import MLPRegressorFromScratch

    X, _ = _customers(200, seed=2)
    y = (X["region"] == "west") * 1.0 + np.tanh(X["score"]) - (X["age"] - 40) / 24
    return MLPRegressorFromScratch, X, y


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_integrated_gradients_of_a_regressor_add_up_to_its_prediction(regressor, loss):
    MLPRegressorFromScratch, X, y = regressor
    y = np.exp(y / 2) if loss == "poisson" else y
    pipeline = make_pipeline(_column_transformer(), MLPRegressorFromScratch(
        (8,), activation="tanh", loss=loss, solver="lbfgs", max_iter=40, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    rows, baseline = X.iloc[:6], X.iloc[[50]]
    attributions = integrated_gradients(pipeline, rows, baseline=baseline)
    assert list(attributions.columns) == list(X.columns)
    gap = pipeline.predict(rows) - pipeline.predict(baseline)
    assert np.abs(gap).max() > 0.2
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    # Gradients of the prediction match central differences in a numeric column.
    numeric = make_pipeline(ColumnTransformer([("num", StandardScaler(), NUMERIC)]),
                            pipeline[-1].__class__(**pipeline[-1].get_params()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numeric.fit(X, y)
    gradients = input_gradients(numeric, rows)
    h = 1e-4 * X["age"].std()
    up, down = rows.copy(), rows.copy()
    up["age"] += h
    down["age"] -= h
    derivative = (numeric.predict(up) - numeric.predict(down)) / (2 * h)
    np.testing.assert_allclose(gradients["age"], derivative, rtol=1e-5, atol=1e-9)
    # LIME explains the same regressor in its prediction's units.
    pytest.importorskip("lime")
    exp = explain_lime(pipeline, X, rows.iloc[0], num_samples=200, random_state=0)
    assert exp.mode == "regression" and len(exp.as_list()) == 7


# -- TabNet's embedded categories are named in the refusal ------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("explain", [integrated_gradients, input_gradients])
def test_gradients_of_a_tabnet_with_categories_name_its_categorical_columns(explain):
    from skdnn import TabNetClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(size=80), "region": rng.integers(0, 3, 80),
                      "plan": rng.integers(0, 2, 80), "score": rng.normal(size=80)})
    y = (X["age"] > 0).astype(int)
    small = dict(n_d=4, n_a=4, n_steps=1, batch_size=32, virtual_batch_size=16, max_iter=2,
                 random_state=0)
    named = TabNetClassifier(categorical_features=["region", "plan"], **small).fit(X, y)
    with pytest.raises(ValueError, match=r"embeds its categorical columns \('region', "
                       r"'plan'\), whose codes have no gradient"):
        explain(named, X.head(2))
    unnamed = TabNetClassifier(categorical_features=[2], **small).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match=r"embeds its categorical columns \(column 2\)"):
        explain(unnamed, X.to_numpy()[:2])
