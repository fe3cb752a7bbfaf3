"""skdnn.explain: LIME in raw features through pipelines, and exact gradient attributions."""

import builtins
import sys
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import (
    load_breast_cancer,
    load_wine,
    make_classification,
    make_multilabel_classification,
)
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Perceptron
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

from skdnn import MLPClassifierFromScratch
from skdnn.explain import (
    explain_lime,
    explanation_stability,
    format_explanation,
    input_gradients,
    integrated_gradients,
)
from skdnn.nn import HIDDEN_ACTIVATIONS

pd = pytest.importorskip("pandas")
pytest.importorskip("lime")


# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _mlp(activation="tanh", hidden=(6,), max_iter=40, **params):
    """A small MLP; few iterations keep it unsure, so its gradients are far from 0."""
    return MLPClassifierFromScratch(hidden, activation=activation, solver="lbfgs",
                                    max_iter=max_iter, random_state=0, **params)


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


@pytest.fixture(scope="module")
def cancer_pipeline():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline = make_pipeline(StandardScaler(), PCA(n_components=5, random_state=0),
                                 _mlp(hidden=(16,), max_iter=200)).fit(X, y)
    return pipeline, X


def _central_differences(estimator, X, h):
    """d predict_proba / dx_j at every row, shape (n_samples, n_features, n_classes)."""
    n_samples, n_features = X.shape
    steps = np.eye(n_features) * h
    plus = (X[:, None, :] + steps).reshape(-1, n_features)
    minus = (X[:, None, :] - steps).reshape(-1, n_features)
    diff = estimator.predict_proba(plus) - estimator.predict_proba(minus)
    return diff.reshape(n_samples, n_features, -1) / (2 * h[None, :, None])


def _assert_gradients_match_finite_differences(estimator, X, classes):
    scale = X.std(axis=0)
    numeric = _central_differences(estimator, X, 1e-5 * scale)
    for k, label in enumerate(classes):
        exact = input_gradients(estimator, X, target=label)
        # Directional derivatives along one standard deviation of each feature, so that
        # features on every scale count (wine's proline is ~1000, its hue ~1). The error is
        # relative to the whole gradient of the class: central differences cannot resolve a
        # gradient below ~1e-11 (rounding of P over a step of 1e-5), which saturated rows have.
        error = np.linalg.norm((exact - numeric[:, :, k]) * scale)
        size = np.linalg.norm(numeric[:, :, k] * scale)
        assert size > 1e-3, (label, size)
        assert error < 1e-5 * size, (label, error / size)


# -- LIME ---------------------------------------------------------------------------------------
def test_lime_through_scaler_pca_mlp_names_raw_columns_and_repeats_with_the_same_seed(
    cancer_pipeline,
):
    pipeline, X = cancer_pipeline
    kwargs = dict(num_features=5, num_samples=400, random_state=0)
    first = explain_lime(pipeline, X, X.iloc[[3]], **kwargs)
    second = explain_lime(pipeline, X, X.iloc[[3]], **kwargs)
    assert first.domain_mapper.feature_names == list(X.columns)
    label = first.available_labels()[0]
    assert label == pipeline.predict_proba(X.iloc[[3]])[0].argmax()
    assert first.class_names == [str(c) for c in pipeline.classes_]
    rules = first.as_list(label=label)
    assert len(rules) == 5
    assert all(any(column in rule for column in X.columns) for rule, _ in rules)
    assert rules == second.as_list(label=label)
    assert first.score == second.score
    # A NumPy row is the same row, and NumPy data get the names the pipeline was fitted with.
    assert explain_lime(pipeline, X, X.iloc[3].to_numpy(), **kwargs).as_list(label=label) == rules
    from_arrays = explain_lime(pipeline, X.to_numpy(), X.iloc[3].to_numpy(), **kwargs)
    assert from_arrays.domain_mapper.feature_names == list(X.columns)
    assert from_arrays.as_list(label=label) == rules
    # Another seed is another sample.
    other = explain_lime(pipeline, X, X.iloc[[3]], num_features=5, num_samples=400,
                         random_state=1)
    assert other.as_list(label=label) != rules


def test_lime_perturbs_categorical_columns_as_categories():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({
        "size": rng.normal(size=n),
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "weight": rng.normal(size=n),
    })
    y = ((X["colour"] == "red") ^ (X["size"] > 1.0)).astype(int)
    pipeline = make_pipeline(
        ColumnTransformer([("colour", OneHotEncoder(), ["colour"])], remainder="passthrough"),
        _mlp(hidden=(8,), max_iter=200),
    ).fit(X, y)
    seen = []

    class Recorder(ClassifierMixin, BaseEstimator):  # what LIME feeds the pipeline
        classes_ = pipeline.classes_
        feature_names_in_ = pipeline.feature_names_in_
        n_features_in_ = 3

        def fit(self, X_, y_):
            return self

        def __sklearn_is_fitted__(self):
            return True

        def predict_proba(self, X_):
            seen.append(X_)
            return pipeline.predict_proba(X_)

    exp = explain_lime(Recorder(), X, X.iloc[0], categorical_features=["colour"],
                       num_samples=300, random_state=0)
    perturbed = pd.concat(seen)
    assert list(perturbed.columns) == list(X.columns)
    assert set(perturbed["colour"]) == {"red", "green", "blue"}
    assert perturbed["size"].nunique() > 100
    colour_rule = [rule for rule, _ in exp.as_list(label=exp.available_labels()[0])
                   if rule.startswith("colour")]
    assert colour_rule == [f"colour={X['colour'].iloc[0]}"]
    # By index, on a NumPy object array, the explanation is the same.
    label = exp.available_labels()[0]
    by_index = explain_lime(pipeline, X.to_numpy(), X.to_numpy()[0], categorical_features=[1],
                            num_samples=300, random_state=0)
    assert by_index.as_list(label=label) == exp.as_list(label=label)


def _informative_problem():
    X, y = make_classification(n_samples=600, n_features=10, n_informative=3, n_redundant=0,
                               n_clusters_per_class=1, flip_y=0.0, shuffle=False,
                               random_state=1)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0,
                                                   stratify=y)
    pipeline = make_pipeline(StandardScaler(), _mlp(hidden=(16,), max_iter=300, alpha=0.1))
    return pipeline.fit(X_train, y_train), X_train, X_test


def test_informative_features_rank_top_by_integrated_gradients_and_by_lime():
    pipeline, X_train, X_test = _informative_problem()
    informative = {0, 1, 2}
    attributions = integrated_gradients(pipeline, X_test, baseline=X_train.mean(axis=0))
    assert set(np.argsort(-np.abs(attributions).mean(axis=0))[:3]) == informative
    weights = np.zeros(X_test.shape[1])
    for i in range(10):
        exp = explain_lime(pipeline, X_train, X_test[i], num_samples=1000, random_state=i)
        for j, weight in exp.as_map()[exp.available_labels()[0]]:
            weights[j] += abs(weight)
    assert set(np.argsort(-weights)[:3]) == informative


def test_explanation_stability_separates_a_dominant_feature_from_noise():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = _mlp(hidden=(8,), max_iter=200, alpha=1e-2).fit(X, y)
    table = explanation_stability(clf, X, np.array([1.5, 0.1, -0.2, 0.3, 0.0]), n_repeats=8,
                                  num_features=2, num_samples=500, random_state=0)
    assert list(table.columns) == ["top_frequency", "mean_weight", "std_weight",
                                   "sign_agreement"]
    assert table.index[0] == "x0"
    assert table.loc["x0", "top_frequency"] == 1.0
    assert table.loc["x0", "sign_agreement"] == 1.0
    assert table.loc["x0", "mean_weight"] > 5 * table.loc["x0", "std_weight"]
    noise = table.drop(index="x0")
    assert (noise["top_frequency"] <= 0.5).all()
    assert (noise["sign_agreement"] <= 0.5).all()
    assert 0 < table.attrs["score_mean"] <= 1
    assert table.attrs["label"] == 1 and table.attrs["class_name"] == "1"
    # The same random_state repeats the whole table.
    again = explanation_stability(clf, X, np.array([1.5, 0.1, -0.2, 0.3, 0.0]), n_repeats=8,
                                  num_features=2, num_samples=500, random_state=0)
    pd.testing.assert_frame_equal(table, again)


def test_explanation_stability_without_pandas_is_a_dict_of_arrays(monkeypatch):
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    clf = _mlp().fit(X, y)
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    table = explanation_stability(clf, X, X[0], n_repeats=2, num_features=2, num_samples=100,
                                  random_state=0)
    assert isinstance(table, dict)
    assert sorted(table["feature"]) == ["x0", "x1", "x2", "x3"]
    assert table["top_frequency"].shape == (4,)
    assert table["scores"].shape == (2,)


def test_lime_works_on_perceptron_classifier_but_not_on_sklearn_perceptron():
    perceptron = pytest.importorskip("skdnn._perceptron")
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    clf = perceptron.PerceptronClassifier(random_state=0).fit(X, y)
    exp = explain_lime(clf, X, X[0], num_features=3, num_samples=300, random_state=0)
    assert len(exp.as_list(label=exp.available_labels()[0])) == 3
    with pytest.raises(ValueError, match="Perceptron has no predict_proba"):
        explain_lime(Perceptron().fit(X, y), X, X[0], num_samples=100)


def test_lime_explains_a_multilabel_mlp_label_by_label_quietly():
    X, Y = make_multilabel_classification(n_samples=80, n_features=4, random_state=0)
    clf = _mlp().fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # lime: "probabilities do not sum to 1"
        exp = explain_lime(clf, X, X[0], num_samples=200, random_state=0, top_labels=2)
    assert len(exp.available_labels()) == 2
    assert exp.class_names == ["0", "1", "2", "3", "4"]


def test_format_explanation_names_the_class_and_the_strongest_features(cancer_pipeline):
    pipeline, X = cancer_pipeline
    exp = explain_lime(pipeline, X, X.iloc[0], num_features=4, num_samples=300,
                       class_names=["malignant", "benign"], random_state=0)
    text = format_explanation(exp, top=3)
    lines = text.splitlines()
    predicted = ["malignant", "benign"][pipeline.predict(X.iloc[[0]])[0]]
    assert f"Predicted {predicted!r}" in lines[0]
    assert len(lines) == 2 + 3
    assert all(any(column in line for column in X.columns) for line in lines[2:])


def test_lime_without_the_package_names_the_package_and_the_extra(monkeypatch, cancer_pipeline):
    pipeline, X = cancer_pipeline
    monkeypatch.setitem(sys.modules, "lime", None)
    with pytest.raises(ImportError, match=r"pip install lime .*pip install -e \"\.\[explain\]\""):
        explain_lime(pipeline, X, X.iloc[0])


def test_lime_rejects_bad_input_clearly(cancer_pipeline):
    pipeline, X = cancer_pipeline
    with pytest.raises(NotFittedError):
        explain_lime(_mlp(), X, X.iloc[0])
    with pytest.raises(ValueError, match="one row of 30 features"):
        explain_lime(pipeline, X, X.iloc[0].to_numpy()[:5])
    with pytest.raises(ValueError, match="expecting 30 features"):
        explain_lime(pipeline, X.iloc[:, :5], X.iloc[0, :5])
    with pytest.raises(ValueError, match="class_names has 3 names"):
        explain_lime(pipeline, X, X.iloc[0], class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="unknown feature 'nope'"):
        explain_lime(pipeline, X, X.iloc[0], categorical_features=["nope"])
    with pytest.raises(ValueError, match="num_samples"):
        explain_lime(pipeline, X, X.iloc[0], num_samples=0)
    text = X.astype(object)
    text.iloc[:, 0] = "big"
    with pytest.raises(ValueError, match="'mean radius' of X_train is not numeric"):
        explain_lime(pipeline, text, X.iloc[0], categorical_features=[])


# -- input gradients --------------------------------------------------------------------------
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("with_pipeline", [False, True], ids=["mlp", "scaler+pca+mlp"])
def test_input_gradients_equal_central_differences(wine, activation, with_pipeline):
    X, y = wine
    if with_pipeline:
        estimator = make_pipeline(StandardScaler(), PCA(n_components=6, whiten=True),
                                  _mlp(activation, max_iter=3))
    else:
        X = StandardScaler().fit_transform(X)
        estimator = _mlp(activation, max_iter=3)
    estimator.fit(X, y)
    _assert_gradients_match_finite_differences(estimator, X[::25], estimator.classes_)


@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_input_gradients_of_sigmoid_outputs_equal_central_differences(kind):
    if kind == "binary":
        X, y = make_classification(n_samples=80, n_features=5, random_state=0)
        y = np.where(y == 1, "yes", "no")
    else:
        X, y = make_multilabel_classification(n_samples=80, n_features=5, random_state=0)
    clf = _mlp("gelu", max_iter=3).fit(X, y)
    _assert_gradients_match_finite_differences(clf, X[:6], clf.classes_)


@pytest.mark.parametrize(
    "steps",
    [
        [MinMaxScaler()],
        [MaxAbsScaler()],
        [RobustScaler()],
        [StandardScaler(), PCA(n_components=5)],
        [TruncatedSVD(n_components=5, random_state=0)],
        [StandardScaler(), make_pipeline(MinMaxScaler(), PCA(n_components=4, whiten=True))],
        [ColumnTransformer([("scale", StandardScaler(), [0, 1, 2, 3, 4, 5])],
                           remainder="passthrough"), "passthrough"],
    ],
    ids=["minmax", "maxabs", "robust", "scaler+pca", "svd", "nested", "column-transformer"],
)
def test_input_gradients_chain_through_every_affine_step(wine, steps):
    X, y = wine
    # Off-centre and on several scales, but small enough for steps that do not standardise.
    X = StandardScaler().fit_transform(X) * np.linspace(0.5, 3, X.shape[1]) + 2.0
    pipeline = make_pipeline(*steps, _mlp("tanh", max_iter=3)).fit(X, y)
    _assert_gradients_match_finite_differences(pipeline, X[::40], pipeline.classes_)


def test_input_gradients_of_a_dataframe_pipeline_keep_feature_names_quiet(cancer_pipeline):
    pipeline, X = cancer_pipeline
    pipeline.set_output(transform="pandas")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # "X does not have valid feature names"
            gradients = input_gradients(pipeline, X.iloc[:3])
    finally:
        pipeline.set_output(transform="default")
    assert gradients.shape == (3, 30)
    plain = input_gradients(pipeline, X.iloc[:3])
    np.testing.assert_allclose(gradients, plain, rtol=1e-9, atol=1e-15)


def test_input_gradients_default_to_the_predicted_class(wine):
    X, y = wine
    clf = _mlp().fit(StandardScaler().fit_transform(X), y)
    X = StandardScaler().fit_transform(X)[:10]
    predicted = clf.predict(X)
    np.testing.assert_array_equal(input_gradients(clf, X), input_gradients(clf, X,
                                                                            target=predicted))


def test_float32_model_gets_float64_gradients(wine):
    X, y = wine
    X = StandardScaler().fit_transform(X)
    clf = _mlp().fit(X.astype(np.float32), y)
    gradients = input_gradients(clf, X[:4].astype(np.float32))
    assert gradients.dtype == np.float64
    twin = _mlp().fit(X, y)
    twin.coefs_ = [W.astype(np.float64) for W in clf.coefs_]
    twin.intercepts_ = [b.astype(np.float64) for b in clf.intercepts_]
    np.testing.assert_allclose(gradients, input_gradients(twin, X[:4].astype(np.float32)),
                               rtol=1e-12, atol=1e-15)


# -- integrated gradients -----------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("n_steps", [8, 64])
def test_integrated_gradients_are_complete(wine, activation, n_classes, n_steps):
    X, y = wine
    keep = y < n_classes
    X, y = X[keep], y[keep]
    # A confident network on raw features and a zero baseline far from the data: P(target)
    # changes from 0 to 1 over a short stretch of the path, which no fixed rule resolves.
    pipeline = make_pipeline(StandardScaler(), _mlp(activation, hidden=(10,), max_iter=200))
    pipeline.fit(X, y)
    rows = X[::7]
    attributions = integrated_gradients(pipeline, rows, n_steps=n_steps)
    proba = pipeline.predict_proba(rows)
    target = proba.argmax(axis=1)
    gap = proba[np.arange(len(rows)), target] - pipeline.predict_proba(
        np.zeros((1, X.shape[1])))[0, target]
    # tol=1e-4 by default, a hundredth of the 1% of the probability range the issue asks for
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    assert np.abs(gap).max() > 0.5  # the test covers large changes of probability


def test_integrated_gradients_with_baseline_rows_and_targets_are_complete(wine):
    X, y = wine
    clf = _mlp("elu").fit(StandardScaler().fit_transform(X), y)
    pipeline = Pipeline([("scale", StandardScaler().fit(X)), ("mlp", clf)])
    rows, baselines = X[:5], X[100:105]
    target = clf.classes_[[0, 1, 2, 1, 0]]
    attributions = integrated_gradients(pipeline, rows, baseline=baselines, target=target)
    index = np.arange(5), target
    gap = pipeline.predict_proba(rows)[index] - pipeline.predict_proba(baselines)[index]
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    strict = integrated_gradients(pipeline, rows, baseline=baselines, target=target, tol=1e-9)
    np.testing.assert_allclose(strict.sum(axis=1), gap, rtol=0, atol=1e-9)


def test_integrated_gradients_equal_the_closed_form_for_a_linear_logit():
    # With identity hidden units the logit is affine, z(x) = x w + b, and
    # IG_j = (x_j - b_j) w_j (sigma(z(x)) - sigma(z(b))) / (z(x) - z(b)).
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    clf = _mlp("identity", hidden=(3,)).fit(X, y)
    w = clf.coefs_[0] @ clf.coefs_[1]
    bias = clf.intercepts_[0] @ clf.coefs_[1] + clf.intercepts_[1]
    rows, baseline = X[:5], X.mean(axis=0)
    z_x, z_b = rows @ w + bias, baseline @ w + bias
    expected = (rows - baseline) * w.T * (expit(z_x) - expit(z_b)) / (z_x - z_b)
    attributions = integrated_gradients(clf, rows, baseline=baseline, target=1)
    np.testing.assert_allclose(attributions, expected, rtol=1e-9, atol=1e-12)


def test_integrated_gradients_converge_as_nodes_are_added(wine):
    X, y = wine
    pipeline = make_pipeline(StandardScaler(), _mlp("relu", hidden=(10,), max_iter=200))
    pipeline.fit(X, y)
    coarse = integrated_gradients(pipeline, X[::20], n_steps=16)
    fine = integrated_gradients(pipeline, X[::20], n_steps=128)
    np.testing.assert_allclose(coarse, fine, rtol=0, atol=1e-4)


def test_integrated_gradients_of_a_wrong_gradient_stop_and_warn(wine, monkeypatch):
    # A backward pass that is not the derivative of the forward pass (here: half of it)
    # misses completeness on every half of every panel; the refinement must stop at its cap
    # of panels per row, with a warning, instead of doubling its work 30 times.
    from skdnn.explain import _gradients

    X, y = wine
    clf = _mlp("tanh").fit(X, y)
    exact = _gradients._Passes.logits_with_backward
    rows, n_steps = X[:2], 8
    bound = 2 * _gradients._IG_MAX_PANELS * n_steps * len(rows)
    evaluated = []

    def half_gradient(self, U):
        evaluated.append(len(U))
        assert sum(evaluated) <= bound, "the refinement did not stop at its cap"
        z, backward = exact(self, U)
        return z, lambda delta: 0.5 * backward(delta)

    monkeypatch.setattr(_gradients._Passes, "logits_with_backward", half_gradient)
    with pytest.warns(ConvergenceWarning, match="derivative of its output"):
        integrated_gradients(clf, rows, n_steps=n_steps)
    assert sum(evaluated) > n_steps * len(rows)  # it did refine before giving up


@pytest.mark.parametrize("explain", [input_gradients, integrated_gradients])
def test_gradient_functions_name_a_step_that_is_not_affine(wine, explain):
    X, y = wine
    for step in [PolynomialFeatures(degree=2), Normalizer()]:
        pipeline = make_pipeline(StandardScaler(), step, _mlp()).fit(X, y)
        name = type(step).__name__
        with pytest.raises(ValueError, match=f"'{name.lower()}' \\({name}\\) is not an affine"):
            explain(pipeline, X[:3])


@pytest.mark.parametrize("explain", [input_gradients, integrated_gradients])
def test_gradient_functions_reject_bad_input_clearly(wine, explain):
    X, y = wine
    clf = _mlp().fit(X, y)
    with pytest.raises(NotFittedError):
        explain(_mlp(), X)
    with pytest.raises(NotFittedError):
        explain(make_pipeline(StandardScaler(), clf), X)
    with pytest.raises(ValueError, match="needs an MLPClassifierFromScratch"):
        explain(make_pipeline(StandardScaler(), Perceptron()).fit(X, y), X)
    with pytest.raises(ValueError, match="expecting 13 features"):
        explain(clf, X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        explain(clf, np.where(np.eye(13)[:3] > 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="target 7 is not a class"):
        explain(clf, X[:3], target=7)
    with pytest.raises(ValueError, match="one class label or one per row"):
        explain(clf, X[:3], target=[0, 1])
    with pytest.raises(ValueError, match="2D array"):
        explain(clf, X[0])


def test_integrated_gradients_reject_a_bad_baseline_or_step_count(wine):
    X, y = wine
    clf = _mlp().fit(X, y)
    with pytest.raises(ValueError, match="baseline has 5 features"):
        integrated_gradients(clf, X[:3], baseline=np.zeros(5))
    with pytest.raises(ValueError, match="one row or one per row"):
        integrated_gradients(clf, X[:3], baseline=X[:2])
    with pytest.raises(ValueError, match=r"'n_steps' parameter .* int in the range \[1, inf\)"):
        integrated_gradients(clf, X[:3], n_steps=0)
    with pytest.raises(ValueError, match=r"'tol' parameter .* in the range \(0.0, inf\)"):
        integrated_gradients(clf, X[:3], tol=0)


# -- LIME's own defaults ------------------------------------------------------------------------
def _rows_predicted_as_each_class(estimator, X):
    predicted = estimator.predict(X)
    return {label: X[np.flatnonzero(predicted == label)[0]] for label in estimator.classes_}


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_lime_defaults_work_on_rows_predicted_as_every_class(n_classes):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=0)
    pipeline = make_pipeline(StandardScaler(), _mlp(hidden=(12,), max_iter=100)).fit(X, y)
    for label, x in list(_rows_predicted_as_each_class(pipeline, X).items())[-3:]:
        exp = explain_lime(pipeline, X, x, num_features=3, num_samples=200, random_state=0)
        labels = exp.available_labels()
        assert labels[0] == label  # the predicted class first
        expected = set(range(n_classes)) if n_classes <= 5 else {label, 1}
        assert set(labels) == expected
        # Our default label is the predicted class (LIME's own is 1), as format_explanation's.
        assert exp.as_list() == exp.as_list(label=label) and len(exp.as_list()) == 3
        assert set(exp.as_map()) == expected
        figure = exp.as_pyplot_figure()
        assert figure.axes[0].get_title() == f"Local explanation for class {label}"
        plt.close(figure)
        assert "exp_div" in exp.as_html()  # what show_in_notebook() displays
        # exp.score is the predicted class's R²: the same sample, that class alone.
        alone = explain_lime(pipeline, X, x, num_features=3, num_samples=200, random_state=0,
                             labels=(label,))
        assert exp.score == alone.score
        assert exp.as_list(label=label) == alone.as_list(label=label)


def test_lime_explains_a_regressor_in_its_prediction_units():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"big": rng.normal(size=300), "small": rng.normal(size=300),
                      "colour": rng.choice(["red", "blue"], size=300)})
    y = 3.0 * X["big"] + 0.1 * X["small"] + 2.0 * (X["colour"] == "red")
    model = make_pipeline(ColumnTransformer([("colour", OneHotEncoder(), ["colour"])],
                                            remainder="passthrough"), Ridge(alpha=1e-3))
    model.fit(X, y)
    exp = explain_lime(model, X, X.iloc[0], num_samples=500, random_state=0,
                       discretize_continuous=False)
    assert exp.mode == "regression"
    weights = dict(exp.as_list())
    assert list(weights)[0] == "big"
    # Without discretisation LIME's weight is per standard deviation of the feature.
    np.testing.assert_allclose(weights["big"], 3.0 * X["big"].std(), rtol=0.05)
    assert abs(weights["small"]) < 0.1 * abs(weights["big"])
    assert f"colour={X['colour'].iloc[0]}" in weights
    text = format_explanation(exp, top=2)
    assert text.startswith(f"Predicted {model.predict(X.iloc[[0]])[0]:.4g} (")
    table = explanation_stability(model, X, X.iloc[0], n_repeats=2, num_samples=200,
                                  random_state=0)
    assert table.loc["big", "top_frequency"] == 1.0 and table.attrs["class_name"] is None


def test_the_explain_package_keeps_its_public_names():
    import skdnn.explain

    assert sorted(skdnn.explain.__all__) == ["explain_lime", "explanation_stability",
                                             "format_explanation", "input_gradients",
                                             "integrated_gradients"]
    assert all(callable(getattr(skdnn.explain, name)) for name in skdnn.explain.__all__)
