"""skdnn.explain and skdnn.onnx on the tabular MLPs (issue 30, point 6): integrated gradients
and LIME in the raw columns of a DataFrame with numbers, text, categories and missing values,
and a clear refusal to export to ONNX."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdnn import TabularMLPClassifier, TabularMLPRegressor
from skdnn.explain import explain_lime, input_gradients, integrated_gradients

pd = pytest.importorskip("pandas")

SMALL = {"hidden_layer_sizes": (16,), "n_members": 2, "random_state": 0}


def _table(n=300, seed=0):
    """Every kind of column: numbers (one with missing values), a few levels of a category
    (one-hot), text of many levels (an embedding, with missing values), a bool column (one
    signed column) and integer categories."""
    rng = np.random.default_rng(seed)
    city = rng.choice([f"c{i}" for i in range(15)], n).astype(object)
    city[rng.random(n) < 0.1] = None
    return pd.DataFrame({
        "a": rng.normal(size=n),
        "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "color": pd.Series(rng.choice(["red", "green", "blue"], n), dtype="category"),
        "city": city,
        "flag": rng.random(n) < 0.5,
        "level": pd.Series(rng.integers(1, 4, n), dtype="category"),
        "noise": rng.normal(size=n),
    })


def _signal(X):
    return (2 * X.a + 1.5 * (X.color == "red") + X.b.fillna(1.0)
            + (X.city.isin(["c1", "c2", "c3"])) - (X.level == 2)).to_numpy(dtype=float)


@pytest.fixture(scope="module")
def table():
    X = _table()
    return X, np.where(_signal(X) > 0.5, "yes", "no")


@pytest.fixture(scope="module")
def classifier(table):
    X, y = table
    return TabularMLPClassifier(**SMALL).fit(X, y)


def _typical_row(X):
    """The documented default baseline: the numeric columns' medians, the categorical
    columns' most frequent levels."""
    row = X.iloc[[0]].copy()
    for column in ("a", "b", "noise"):
        row[column] = X[column].median()
    for column in ("color", "city", "flag", "level"):
        row[column] = pd.Series([X[column].mode()[0]], index=row.index,
                                dtype=X[column].dtype)
    return row


# -- integrated gradients --------------------------------------------------------------------
def test_integrated_gradients_are_complete_in_the_raw_columns(table, classifier):
    X, _ = table
    rows = X.iloc[[0, 3, 7, 11, 20, 42]].copy()
    rows.loc[rows.index[0], "b"] = np.nan        # a missing number
    rows.loc[rows.index[1], "city"] = "atlantis"  # a level never seen in training
    rows.loc[rows.index[2], "city"] = None       # a missing category
    ig = integrated_gradients(classifier, rows, X_train=X, target="yes")
    assert isinstance(ig, pd.DataFrame)
    assert list(ig.columns) == list(X.columns) and list(ig.index) == list(rows.index)
    baseline = _typical_row(X)
    gap = (classifier.predict_proba(rows)[:, 1]
           - classifier.predict_proba(baseline)[0, 1])
    # tol=1e-4 by default (the existing functions' bound on the completeness gap)
    np.testing.assert_allclose(ig.sum(axis=1), gap, rtol=0, atol=1e-4)
    assert np.abs(gap).max() > 0.3   # the rows move the probability by a lot
    # A column equal to the baseline's gets nothing; the categories get their share.
    for column in ("color", "city", "flag", "level"):
        same = (rows[column].astype(object) == baseline[column].iloc[0]).to_numpy()
        assert (ig[column][same] == 0).all()
        assert (ig[column][~same] != 0).all()
    assert ig.loc[rows.index[0], "b"] != 0     # the missing value's indicator and fill count


def test_integrated_gradients_take_the_predicted_class_and_a_given_baseline(table):
    X, _ = table
    y = np.digitize(_signal(X), [-0.5, 1.5]).astype(str)   # three classes
    clf = TabularMLPClassifier(**SMALL).fit(X, y)
    rows, baseline = X.iloc[:8], X.iloc[[100]]
    ig = integrated_gradients(clf, rows, baseline=baseline)
    proba = clf.predict_proba(rows)
    target = proba.argmax(axis=1)
    gap = proba[np.arange(8), target] - clf.predict_proba(baseline)[0, target]
    np.testing.assert_allclose(ig.sum(axis=1), gap, rtol=0, atol=1e-4)
    # a Series is one row too, and tol sets the accuracy
    strict = integrated_gradients(clf, rows, baseline=baseline.iloc[0], tol=1e-8)
    np.testing.assert_allclose(strict.sum(axis=1), gap, rtol=0, atol=1e-8)


def test_integrated_gradients_rank_the_informative_columns_first(table, classifier):
    X, _ = table
    ig = integrated_gradients(classifier, X.iloc[:60], X_train=X, target="yes")
    strength = ig.abs().mean()
    assert strength["a"] > 3 * strength["noise"]
    assert strength["color"] > strength["noise"]


def test_integrated_gradients_of_a_regressor_add_up_to_its_prediction(table):
    X, _ = table
    y = 1000 * _signal(X) + 5000   # in its own units: the network learns it standardised
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    rows = X.iloc[:10]
    ig = integrated_gradients(reg, rows, X_train=X)
    baseline = _typical_row(X)
    predictions = reg.predict(rows)
    inside = (predictions > y.min()) & (predictions < y.max())   # not clipped
    assert inside.sum() >= 8
    gap = predictions - reg.predict(baseline)[0]
    np.testing.assert_allclose(ig.sum(axis=1)[inside], gap[inside], rtol=1e-6, atol=1e-3)
    assert np.abs(gap).max() > 500


@pytest.mark.parametrize("numeric", ["robust", "quantile"])
def test_integrated_gradients_of_numeric_arrays_default_to_the_training_medians(numeric):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(201, 3)) * [1, 10, 100] + [0, 50, -300]
    X[rng.random(201) < 0.1, 1] = np.nan
    y = X[:, 0] + np.nan_to_num(X[:, 1] - 50, nan=3.0) / 10 > 0
    clf = TabularMLPClassifier(**SMALL, numeric=numeric).fit(X, y)
    rows = X[:12]
    ig = integrated_gradients(clf, rows, target=True)
    assert isinstance(ig, np.ndarray) and ig.shape == (12, 3)
    medians = np.nanmedian(X, axis=0, keepdims=True)
    gap = clf.predict_proba(rows)[:, 1] - clf.predict_proba(medians)[0, 1]
    np.testing.assert_allclose(ig.sum(axis=1), gap, rtol=0, atol=1e-4)
    assert np.abs(gap).max() > 0.3


def test_integrated_gradients_need_a_baseline_for_categorical_columns(table, classifier):
    X, _ = table
    with pytest.raises(ValueError, match=r"\['color', 'city', 'flag', 'level'\] are "
                                         r"categorical.*baseline.*X_train"):
        integrated_gradients(classifier, X.iloc[:2])


def test_tabular_mlps_are_refused_where_they_cannot_be_explained(table, classifier):
    X, y = table
    with pytest.raises(ValueError, match="integrated_gradients explains it in its raw"):
        input_gradients(classifier, X.iloc[:2])
    pipeline = make_pipeline(FunctionTransformer(), TabularMLPClassifier(**SMALL)).fit(X, y)
    with pytest.raises(ValueError, match="pass the estimator alone"):
        integrated_gradients(pipeline, X.iloc[:2], X_train=X)


def test_the_attribution_display_draws_a_tabular_mlp(table, classifier):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdnn.plot import AttributionDisplay

    X, _ = table
    display = AttributionDisplay.from_estimator(classifier, X, X.iloc[5], target="yes")
    assert display.feature_names == list(X.columns)
    np.testing.assert_allclose(display.attributions.sum(),
                               display.output - display.baseline_output, atol=1e-4)
    np.testing.assert_allclose(display.baseline_output,
                               classifier.predict_proba(_typical_row(X))[0, 1], rtol=1e-12)


# -- LIME --------------------------------------------------------------------------------------
def test_lime_perturbs_the_raw_columns_of_their_kinds(table, classifier, monkeypatch):
    pytest.importorskip("lime")
    X, _ = table
    frames = []
    predict_proba = classifier.predict_proba

    def spy(frame):
        frames.append(frame)
        return predict_proba(frame)

    monkeypatch.setattr(classifier, "predict_proba", spy)
    exp = explain_lime(classifier, X, X.iloc[3], num_samples=400, random_state=0)
    # named by the raw columns ("color=blue": the row's own level)
    names = [name.split("=")[0] for name in exp.domain_mapper.feature_names]
    assert names == list(X.columns)
    # LIME's samples reach the model as X's columns, kinds and levels: bool and integer
    # categories are drawn as categories, not as numbers between them.
    for frame in frames:
        assert frame.dtypes.to_dict() == X.dtypes.to_dict()
        assert set(frame.level) <= {1, 2, 3} and set(frame.flag) <= {False, True}
    assert frames[-1].b.isna().any() and frames[-1].city.isna().any()
    rules = " ".join(rule for rule, _ in exp.as_list(label=1))
    assert "level=" in rules and "level <" not in rules
    np.testing.assert_allclose(exp.predict_proba, predict_proba(X.iloc[[3]])[0])


# -- ONNX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("Estimator", [TabularMLPClassifier, TabularMLPRegressor])
def test_onnx_export_is_refused_with_the_alternative(table, Estimator):
    skl2onnx = pytest.importorskip("skl2onnx")
    import skdnn.onnx  # noqa: F401  (registers the converters and the refusals)

    X, y = table
    X = X[["a", "noise"]].to_numpy(dtype=np.float32)
    target = _signal(table[0]) if Estimator is TabularMLPRegressor else y
    model = Estimator(**SMALL, max_iter=3).fit(X, target)
    with pytest.raises(NotImplementedError, match=(
            rf"skdnn.onnx exports .* not {Estimator.__name__}: its preprocessing .* no ONNX "
            r"converter; save it with skops or pickle")):
        skl2onnx.to_onnx(model, X[:1])
