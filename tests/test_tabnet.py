"""TabNet: the engine's derivatives against finite differences, and the estimators' contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.feature_selection import SelectFromModel
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import TabNetClassifier, TabNetRegressor
from skdnn.nn.tabnet import (
    GhostBatchNorm,
    GLULayer,
    Layout,
    TabNet,
    entmax15,
    entmax15_backward,
    sparsemax,
    sparsemax_backward,
)

# Short fits that stop before converging are the point of most tests here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MASK_PAIRS = {"sparsemax": (sparsemax, sparsemax_backward),
              "entmax": (entmax15, entmax15_backward)}


def _assert_gradient(numeric, analytic):
    scale = max(np.abs(numeric).max(), 1e-8)
    assert np.abs(numeric - analytic).max() / scale < 1e-6


# -- the engine's pieces ------------------------------------------------------------------------
@pytest.mark.parametrize("mask", MASK_PAIRS)
def test_mask_rows_sum_to_one_with_exact_zeros(mask):
    forward, _ = MASK_PAIRS[mask]
    z = np.random.default_rng(0).standard_normal((200, 12)) * 3
    p = forward(z)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    assert (p >= 0).all() and (p == 0).mean() > 0.3


def test_sparsemax_is_the_projection_onto_the_simplex():
    # Sparsemax's defining property: p minimises ||p - z|| over the simplex, so moving mass
    # between two coordinates in any direction never brings p closer to z.
    rng = np.random.default_rng(1)
    z = rng.standard_normal((50, 6))
    p = sparsemax(z)
    for _ in range(20):
        i, j = rng.choice(6, 2, replace=False)
        step = np.zeros(6)
        step[i], step[j] = 1e-3, -1e-3
        q = p + step
        feasible = (q >= 0).all(axis=1)
        closer = ((q - z) ** 2).sum(axis=1) < ((p - z) ** 2).sum(axis=1) - 1e-12
        assert not (feasible & closer).any()


@pytest.mark.parametrize("mask", MASK_PAIRS)
def test_mask_backward_matches_finite_differences(mask, central_differences):
    forward, backward = MASK_PAIRS[mask]
    rng = np.random.default_rng(2)
    z = rng.standard_normal((7, 9)) * 2
    weights = rng.standard_normal((7, 9))
    numeric = central_differences(lambda v: float((forward(v) * weights).sum()), z.copy())
    _assert_gradient(numeric, backward(forward(z), weights))


def _check_layer_gradients(layer, params, stats, running, x, weights, training, rng,
                           central_differences):
    """A layer's ``backward`` (input and parameter gradients) against finite differences of
    ``sum(forward(x) * weights)``."""
    theta = rng.standard_normal(params.size)

    def loss(x_, theta_=theta):
        out, _ = layer.forward(params.views(theta_), stats.views(running.copy()), x_, training)
        return float((out * weights).sum())

    P = params.views(theta)
    _, cache = layer.forward(P, stats.views(running.copy()), x, training)
    grad = np.zeros_like(theta)
    dx = layer.backward(P, params.views(grad), weights, cache)
    _assert_gradient(central_differences(loss, x.copy()), dx)
    _assert_gradient(central_differences(lambda t: loss(x, t), theta.copy()), grad)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("n_rows", [40, 37])  # equal chunks; a shorter last chunk
def test_ghost_batch_norm_backward_matches_finite_differences(training, n_rows,
                                                             central_differences):
    rng = np.random.default_rng(3)
    params, stats = Layout(), Layout()
    bn = GhostBatchNorm("bn", 5, 16, 0.02, params, stats)
    running = np.concatenate([rng.standard_normal(5), rng.uniform(0.5, 2, 5)])
    z = rng.standard_normal((n_rows, 5)) * 2 + 1
    _check_layer_gradients(bn, params, stats, running, z, rng.standard_normal((n_rows, 5)),
                           training, rng, central_differences)


def test_ghost_batch_norm_running_statistics_follow_torch_chunk_by_chunk():
    params, stats = Layout(), Layout()
    bn = GhostBatchNorm("bn", 3, 10, 0.1, params, stats)
    P, S = params.views(np.ones(params.size)), stats.views(np.empty(stats.size))
    bn.init(P, S)
    z = np.random.default_rng(4).standard_normal((25, 3))  # chunks of 9, 9 and 7 rows
    bn.forward(P, S, z, training=True)
    mean, var = np.zeros(3), np.ones(3)
    for chunk in (z[:9], z[9:18], z[18:]):
        mean = 0.9 * mean + 0.1 * chunk.mean(axis=0)
        var = 0.9 * var + 0.1 * chunk.var(axis=0, ddof=1)
    np.testing.assert_allclose(S["bn.mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(S["bn.var"], var, rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_glu_layer_backward_matches_finite_differences(training, central_differences):
    rng = np.random.default_rng(5)
    params, stats = Layout(), Layout()
    params.add("W", (4, 6))
    layer = GLULayer("glu", "W", 3, 8, 0.02, params, stats)
    running = np.concatenate([np.zeros(6), rng.uniform(0.5, 2, 6)])
    h = rng.standard_normal((20, 4))
    _check_layer_gradients(layer, params, stats, running, h, rng.standard_normal((20, 3)),
                           training, rng, central_differences)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("mask_type", ["sparsemax", "entmax"])
@pytest.mark.parametrize("n_shared, n_independent", [(2, 2), (0, 1), (1, 0)])
def test_network_gradient_with_sparsity_term_matches_finite_differences(
        training, mask_type, n_shared, n_independent, central_differences):
    rng = np.random.default_rng(6)
    net = TabNet(5, 2, n_d=3, n_a=2, n_steps=3, n_shared=n_shared,
                 n_independent=n_independent, virtual_batch_size=8, mask_type=mask_type,
                 cat_idxs=[1], cat_dims=[4], cat_emb_dim=2)
    theta = net.init(rng)
    stats = rng.uniform(0.5, 1.5, net.buffers.size)  # prediction mode: non-trivial statistics
    X = rng.standard_normal((19, 5))
    X[:, 1] = rng.integers(0, 4, 19)
    weights = rng.standard_normal((19, 2))
    lam = 0.3  # large, so that a wrong entropy gradient shows

    def objective(theta_, X_=X):
        net.buffers = stats.copy()  # training mode updates them
        z, trace = net.forward(theta_, X_, training)
        return float((z * weights).sum()) + lam * net.entropy(trace.masks)[0]

    net.buffers = stats.copy()
    z, trace = net.forward(theta, X, training)
    dmasks = [lam * d for d in net.entropy(trace.masks)[1]]
    grad = np.empty_like(theta)
    returned, dX = net.backward(theta, trace, weights, grad, input_gradient=True,
                                dmasks=dmasks)
    assert returned is grad
    _assert_gradient(central_differences(objective, theta.copy()), grad)
    numeric_dX = central_differences(lambda X_: objective(theta, X_), X.copy())
    numeric_dX[:, 1] = 0  # codes are not differentiable; the engine reports 0 there
    _assert_gradient(numeric_dX, dX)


def test_loss_and_gradient_is_the_gradient_of_the_reported_loss(central_differences):
    rng = np.random.default_rng(7)
    net = TabNet(4, 3, n_d=3, n_a=3, n_steps=2, virtual_batch_size=6,
                 out_activation="softmax", lambda_sparse=0.2)
    theta = net.init(rng)
    stats = net.buffers.copy()
    X = rng.standard_normal((15, 4))
    Y = np.eye(3, dtype=bool)[rng.integers(0, 3, 15)]
    w = rng.uniform(0.5, 2, 15)

    def loss(theta_):
        net.buffers = stats.copy()
        return net.loss_and_gradient(theta_, np.empty_like(theta_), X, Y, sample_weight=w)

    grad = np.empty_like(theta)
    net.buffers = stats.copy()
    net.loss_and_gradient(theta, grad, X, Y, sample_weight=w)
    _assert_gradient(central_differences(loss, theta.copy()), grad)


# -- the estimators ------------------------------------------------------------------------------
SMALL = dict(n_d=4, n_a=4, n_steps=2, batch_size=64, virtual_batch_size=32, max_iter=15,
             random_state=0)


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_classifier_learns_iris_and_predicts_probabilities():
    X, y = _iris()
    clf = TabNetClassifier(**{**SMALL, "max_iter": 60}).fit(X, y)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_explain_masks_rows_sum_to_one_with_exact_zeros():
    X, y = _iris()
    clf = TabNetClassifier(**SMALL).fit(X, y)
    importances, masks = clf.explain(X)
    assert importances.shape == X.shape and sorted(masks) == [0, 1]
    for M in masks.values():
        np.testing.assert_allclose(M.sum(axis=1), 1, rtol=1e-6)
        assert (M == 0).mean() > 0.1
    np.testing.assert_allclose(clf.feature_importances_,
                               importances.sum(axis=0) / importances.sum(), rtol=1e-6)
    assert clf.feature_importances_.sum() == pytest.approx(1)
    normalised, _ = clf.explain(X, normalize=True)
    np.testing.assert_allclose(normalised.sum(axis=1), 1, rtol=1e-6)


def test_informative_columns_top_the_feature_importances():
    # 8 informative columns among 30 (the first 8, shuffle=False): at least 6 of them make
    # the top 8 of feature_importances_.
    X, y = make_classification(n_samples=3000, n_features=30, n_informative=8,
                               n_redundant=0, shuffle=False, random_state=0)
    clf = TabNetClassifier(batch_size=512, random_state=0).fit(X, y)
    top = set(np.argsort(clf.feature_importances_)[::-1][:8].tolist())
    assert len(top & set(range(8))) >= 6


def test_select_from_model_keeps_the_informative_columns():
    X, y = make_classification(n_samples=600, n_features=12, n_informative=3,
                               n_redundant=0, shuffle=False, random_state=0)
    selector = SelectFromModel(TabNetClassifier(**{**SMALL, "max_iter": 40}),
                               threshold="mean").fit(X, y)
    kept = set(np.flatnonzero(selector.get_support()))
    importances = selector.estimator_.feature_importances_
    # The 3 informative columns of 12 carry most of the importance (0.75 here; a quarter if
    # the importances said nothing), and the selector keeps a few columns, most of them those.
    assert importances[:3].sum() > 0.6
    assert len(kept) <= 4 and len(kept & {0, 1, 2}) >= 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32(dtype):
    X, y = _iris()
    X = X.astype(dtype)
    clf = TabNetClassifier(**SMALL).fit(X, y)
    assert clf._theta.dtype == dtype
    assert clf.predict_proba(X).dtype == dtype
    reg = TabNetRegressor(**SMALL).fit(X, X[:, 0])
    assert reg.predict(X).dtype == dtype


def test_pipeline_and_grid_search_over_n_steps():
    X, y = _iris()
    pipe = make_pipeline(StandardScaler(), TabNetClassifier(**SMALL))
    search = GridSearchCV(pipe, {"tabnetclassifier__n_steps": [1, 2]}, cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores.min() > 0.6  # each grid point learned iris
    assert search.best_estimator_[-1].explain(X)[1].keys() == set(
        range(search.best_params_["tabnetclassifier__n_steps"]))


def _frame(n=300, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    x = rng.standard_normal(n)
    y = ((colour == "red") ^ (x > 0)).astype(int)
    return pd.DataFrame({"x": x, "colour": pd.Categorical(colour),
                         "noise": rng.standard_normal(n)}), y


def test_pandas_category_column_is_embedded_and_unknown_categories_predict():
    pd = pytest.importorskip("pandas")
    X, y = _frame()
    params = {**SMALL, "max_iter": 80, "cat_emb_dim": 2}
    clf = TabNetClassifier(**params).fit(X, y)
    assert clf.get_params()["categorical_features"] == "from_dtype"  # never rewritten
    assert clf.score(X, y) > 0.8  # the label needs the category
    assert clone(clf).get_params() == clf.get_params()
    new = X.head(6).copy()
    new["colour"] = pd.Categorical(["purple", None, "red", "green", "blue", "violet"])
    proba = clf.predict_proba(new)
    assert np.isfinite(proba).all() and proba.shape == (6, 2)
    # Unknown categories share one embedding: "purple" and "violet" predict alike.
    np.testing.assert_array_equal(clf.explain(new)[0].shape, (6, 3))
    row_purple, row_violet = new.iloc[[0]].copy(), new.iloc[[0]].copy()
    row_violet["colour"] = pd.Categorical(["violet"])
    np.testing.assert_allclose(clf.predict_proba(row_purple), clf.predict_proba(row_violet))


def test_explain_of_a_dataframe_gives_named_frames_summed_over_embeddings():
    pd = pytest.importorskip("pandas")
    X, y = _frame()
    clf = TabNetClassifier(**{**SMALL, "cat_emb_dim": 3}).fit(X, y)
    importances, masks = clf.explain(X)
    assert isinstance(importances, pd.DataFrame)
    assert list(importances.columns) == ["x", "colour", "noise"]
    assert (importances.index == X.index).all()
    for M in masks.values():
        assert isinstance(M, pd.DataFrame)
        np.testing.assert_allclose(M.to_numpy().sum(axis=1), 1, rtol=1e-6)
    assert clf.feature_importances_.shape == (3,)


@pytest.mark.parametrize("spec", [[1], [False, True, False], ["colour"]])
def test_categorical_features_by_index_mask_or_name(spec):
    X, y = _frame()
    X = X.astype({"colour": object})  # no category dtype: the spec alone says it
    clf = TabNetClassifier(**{**SMALL, "categorical_features": spec}).fit(X, y)
    assert clf._cat_idxs == [1]
    if not isinstance(spec[0], str):
        clf.fit(X.to_numpy(dtype=object), y)  # a plain object array with strings
        assert clf._cat_idxs == [1]


def test_nan_in_a_numeric_column_names_simple_imputer():
    X, y = _iris()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="SimpleImputer"):
        TabNetClassifier(**SMALL).fit(X, y)


def test_missing_category_is_a_category_of_its_own():
    pd = pytest.importorskip("pandas")
    X, y = _frame()
    colour = X["colour"].astype(object)
    colour[y == 1] = None
    X["colour"] = pd.Categorical(colour)
    clf = TabNetClassifier(**SMALL).fit(X, y)
    assert clf._categories[0]["has_missing"]
    codes = clf._check_X(X, reset=False)[:, 1]
    assert len(np.unique(codes[y == 1])) == 1  # all the missing values share one code


@pytest.mark.parametrize("spec", [[], (), np.array([], dtype=int)])
def test_empty_categorical_features_means_no_categorical_column(spec):
    # HistGradientBoostingClassifier's convention: what [c for c in X if ...] gives on a
    # table without categories.
    X, y = _iris()
    clf = TabNetClassifier(**{**SMALL, "max_iter": 2, "categorical_features": spec}).fit(X, y)
    assert clf._cat_idxs == []
    assert clf.predict(X).shape == y.shape


def _text_frame(dtype, n=300, seed=0):
    """``_frame`` with its colour column as text (``dtype``) and a boolean column."""
    X, y = _frame(n, seed)
    X["colour"] = X["colour"].astype(dtype)
    X["flag"] = np.random.default_rng(seed + 1).random(n) > 0.5
    return X, y


# pandas 3's default text dtype is "str"; "string" is the nullable one; object is pandas 2's.
@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_from_dtype_embeds_text_and_boolean_columns(dtype):
    pd = pytest.importorskip("pandas")
    if dtype == "str" and int(pd.__version__.split(".")[0]) < 3:
        pytest.skip("before pandas 3, 'str' is NumPy's fixed-width text, not a pandas dtype")
    X, y = _text_frame(dtype)
    clf = TabNetClassifier(**{**SMALL, "max_iter": 80}).fit(X, y)
    assert clf._cat_idxs == [1, 3]  # colour and flag; x and noise stay numeric
    assert clf.score(X, y) > 0.8  # the label needs the colour
    # Unseen and missing categories at prediction share the unknown embedding, as for a
    # category column.
    new = X.iloc[[0, 0, 0]].reset_index(drop=True)
    new["colour"] = pd.Series(["purple", None, "violet"], dtype=dtype)
    proba = clf.predict_proba(new)
    assert np.isfinite(proba).all() and proba.shape == (3, 2)
    np.testing.assert_allclose(proba[0], proba[2])


def test_text_in_a_numeric_column_names_the_column_and_the_fix():
    X, y = _text_frame(object)
    with pytest.raises(ValueError, match=r"Column 'colour' .*'(red|green|blue)'.*"
                                         r"categorical_features=\['colour'\]"):
        TabNetClassifier(**{**SMALL, "categorical_features": [3]}).fit(X, y)
    array = X.to_numpy(dtype=object)  # no dtypes: "from_dtype" finds no category
    with pytest.raises(ValueError, match=r"Column 1 .*categorical_features=\[1\]"):
        TabNetClassifier(**SMALL).fit(array, y)


def _count_adam_steps(monkeypatch):
    from skdnn.nn import optimizers

    steps = []
    step = optimizers.Adam.step
    monkeypatch.setattr(optimizers.Adam, "step",
                        lambda self, *args: (steps.append(1), step(self, *args))[1])
    return steps


def test_default_batch_size_gives_small_tables_many_steps_an_epoch(monkeypatch):
    # 1024 rows a batch gave a 2,000-row table 2 Adam steps an epoch.
    X, y = make_classification(n_samples=2000, n_features=5, random_state=0)
    steps = _count_adam_steps(monkeypatch)
    TabNetClassifier(n_d=4, n_a=4, n_steps=1, max_iter=1, random_state=0).fit(X, y)
    assert len(steps) >= 16  # 64 rows a batch, on the 1,800 left after validation
    steps.clear()
    TabNetClassifier(n_d=4, n_a=4, n_steps=1, max_iter=1, batch_size=1024,
                     random_state=0).fit(X, y)
    assert len(steps) == 2  # a given batch size is kept


def test_automatic_sizes_follow_the_rows():
    clf = TabNetClassifier()
    assert clf._sizes(2000) == (64, 64, 10)  # 32 steps an epoch
    assert clf._sizes(10_000) == (312, 128, 10)
    assert clf._sizes(200) == (64, 64, 40)  # 4 steps an epoch: 160 steps are 40 epochs
    assert clf._sizes(30) == (30, 30, 160)
    assert clf._sizes(100_000) == (1024, 128, 10)
    # A given batch size keeps the patience in Adam steps: 2 steps an epoch wait 80 epochs.
    assert TabNetClassifier(batch_size=1024)._sizes(2000) == (1024, 128, 80)
    assert TabNetClassifier(batch_size=1024, n_iter_no_change=5)._sizes(2000)[2] == 5
    assert TabNetClassifier(virtual_batch_size=32)._sizes(2000)[1] == 32


def test_regressor_learns_a_price_like_target_at_its_defaults():
    # A target of about 1e5 with a large spread: the network learns it standardised and
    # predicts in the target's units (before, R^2 was far below 0).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4))
    y = 1.5e5 + 4e4 * (X[:, 0] + 0.5 * X[:, 1]) + 2e3 * rng.standard_normal(400)
    reg = TabNetRegressor(n_d=4, n_a=4, n_steps=2, max_iter=40, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.8
    assert abs(reg.predict(X).mean() - y.mean()) < 0.2 * y.std()
    # The scaler is plain data (skops), the target's mean and standard deviation.
    np.testing.assert_allclose(reg._y_mean, [y.mean()])
    np.testing.assert_allclose(reg._y_scale, [y.std()])
    assert type(reg._y_mean) is np.ndarray and type(reg._y_scale) is np.ndarray


def test_regressor_standardises_each_target_and_keeps_a_constant_one():
    X, Y = make_regression(n_samples=200, n_features=4, n_targets=2, random_state=0)
    Y = np.column_stack([Y[:, 0] * 1e4 + 5e5, np.full(200, 7.0)])
    reg = TabNetRegressor(**{**SMALL, "max_iter": 5}).fit(X, Y)
    np.testing.assert_allclose(reg._y_scale, [Y[:, 0].std(), 1.0])
    np.testing.assert_allclose(reg.predict(X)[:, 1], 7.0, atol=1.0)


@pytest.mark.parametrize("Estimator", [TabNetClassifier, TabNetRegressor])
def test_skops_round_trip_trusts_only_skdnn(Estimator):
    sio = pytest.importorskip("skops.io")
    X, y = _frame()
    est = Estimator(**SMALL).fit(X, y)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"skdnn._tabnet.{Estimator.__name__}"]
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_sample_weight_counts_in_the_loss():
    X, y = _iris()
    clf = TabNetClassifier(**SMALL).fit(X, y)
    w = np.where(y == 2, 20.0, 1.0)
    weighted = TabNetClassifier(**SMALL).fit(X, y, sample_weight=w)
    # Heavier class-2 samples draw more predictions to class 2.
    assert (weighted.predict(X) == 2).sum() > (clf.predict(X) == 2).sum()
    ones = TabNetClassifier(**SMALL).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(ones.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_class_weight_balanced_lifts_the_minority_class():
    X, y = make_classification(n_samples=400, n_features=6, weights=[0.9], flip_y=0.05,
                               random_state=0)
    plain = TabNetClassifier(**SMALL).fit(X, y)
    balanced = TabNetClassifier(**SMALL, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_multi_output_regressor():
    X, Y = make_regression(n_samples=300, n_features=5, n_targets=3, random_state=0)
    Y = StandardScaler().fit_transform(Y)
    reg = TabNetRegressor(**{**SMALL, "max_iter": 60}).fit(X, Y)
    assert reg.predict(X).shape == (300, 3)
    assert reg.score(X, Y) > 0.5


def test_early_stopping_keeps_the_best_validated_weights():
    X, y = make_classification(n_samples=800, n_features=10, random_state=0)
    clf = TabNetClassifier(**{**SMALL, "max_iter": 200}).fit(X, y)
    assert clf.validation_scores_ is not None  # "auto": on for 500 rows or more
    assert clf.n_iter_ < 200  # stopped by itself
    losses = clf.validation_loss_curve_
    assert len(losses) == len(clf.validation_scores_) == clf.n_iter_
    # The classifier ranks the epochs by the validation log-loss, and keeps the best one's
    # weights: the kept score and loss are that epoch's, not the best score's.
    best = int(np.argmin(losses))
    assert best < clf.n_iter_ - 1  # it went on past the best epoch, then stopped
    assert clf.best_validation_loss_ == losses[best]
    assert clf.best_validation_score_ == clf.validation_scores_[best]
    small = TabNetClassifier(**SMALL).fit(X[:100], y[:100])
    assert small.validation_scores_ is None


def test_warm_start_continues_from_the_fitted_network():
    X, y = _iris()
    clf = TabNetClassifier(**{**SMALL, "max_iter": 5}, warm_start=True).fit(X, y)
    first = clf._theta.copy()
    clf.fit(X, y)
    cold = TabNetClassifier(**{**SMALL, "max_iter": 5}).fit(X, y)
    np.testing.assert_array_equal(cold._theta, first)  # same seed, same first fit
    assert not np.allclose(clf._theta, first)
    # As the MLP's (scikit-learn's): the record goes on, the second fit's epochs appended.
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[:5] == cold.loss_curve_
    assert clf.loss_curve_[5] < cold.loss_curve_[0]


def test_verbose_prints_the_loss_of_each_epoch(capsys):
    X, y = _iris()
    TabNetClassifier(**{**SMALL, "max_iter": 3}, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Iteration") == 3 and "loss = " in out


def test_bad_architecture_is_a_value_error():
    X, y = _iris()
    with pytest.raises(ValueError, match="n_shared and n_independent"):
        TabNetClassifier(n_shared=0, n_independent=0).fit(X, y)


def test_initial_batch_norm_starts_from_the_training_data_statistics():
    rng = np.random.default_rng(8)
    X = rng.normal(50, 10, (200, 3))
    net = TabNet(3, 1)
    net.init(rng, X=X)
    S = net.stats.views(net.buffers)
    np.testing.assert_allclose(S["bn0.mean"], X.mean(axis=0))
    np.testing.assert_allclose(S["bn0.var"], X.var(axis=0, ddof=1))


# -- explanations of other kinds ----------------------------------------------------------------
@pytest.mark.parametrize("Estimator", [TabNetClassifier, TabNetRegressor])
@pytest.mark.parametrize("mask_type", ["sparsemax", "entmax"])
def test_integrated_gradients_on_tabnet_are_complete(Estimator, mask_type):
    from skdnn.explain import input_gradients, integrated_gradients

    X, y = load_iris(return_X_y=True)
    if Estimator is TabNetRegressor:
        X, y = X[:, 1:], X[:, 0]
    model = make_pipeline(StandardScaler(), Estimator(**{**SMALL, "max_iter": 40},
                                                      mask_type=mask_type)).fit(X, y)
    rows, X_train = X[::15], X
    attributions = integrated_gradients(model, rows, X_train=X_train)
    baseline = X_train.mean(axis=0, keepdims=True)
    if Estimator is TabNetClassifier:
        proba = model.predict_proba(rows)
        target = proba.argmax(axis=1)
        gap = (proba[np.arange(len(rows)), target]
               - model.predict_proba(baseline)[0, target])
    else:
        gap = model.predict(rows) - model.predict(baseline)[0]
    np.testing.assert_allclose(attributions.sum(axis=1), gap, rtol=0, atol=1e-4)
    assert np.abs(gap).max() > 0.1
    # The input gradient is TabNet's own backward pass: central differences agree.
    grad = input_gradients(model, rows[:2], target=None if Estimator is TabNetRegressor
                           else model.predict(rows[:2]))
    h = 1e-5
    for j in range(X.shape[1]):
        up, down = rows[:2].copy(), rows[:2].copy()
        up[:, j] += h
        down[:, j] -= h
        if Estimator is TabNetClassifier:
            cols = np.searchsorted(model[-1].classes_, model.predict(rows[:2]))
            f_up = model.predict_proba(up)[np.arange(2), cols]
            f_down = model.predict_proba(down)[np.arange(2), cols]
        else:
            f_up, f_down = model.predict(up), model.predict(down)
        np.testing.assert_allclose(grad[:, j], (f_up - f_down) / (2 * h), rtol=1e-3,
                                   atol=1e-4)


def test_integrated_gradients_refuse_embedded_categories():
    from skdnn.explain import integrated_gradients

    X, y = _frame()
    clf = TabNetClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="categorical columns"):
        integrated_gradients(clf, X.head(2), X_train=X)


def test_attribution_display_draws_a_tabnet_explanation_of_one_row():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdnn.plot import AttributionDisplay

    X, y = _iris()
    clf = TabNetClassifier(**SMALL).fit(X, y)
    display = AttributionDisplay.from_estimator(clf, X, X[:1], max_features=4)
    assert len(display.ax_.patches) == 4
    assert "P(" in display.ax_.get_title()


def test_a_boolean_target_whose_true_is_not_stored_as_one_is_learned():
    # pandas 2's xor of two boolean Series stores True as 254; scikit-learn 1.7's
    # LabelBinarizer searched for it among [False, True] and encoded every row as False.
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    odd = np.where(y == 1, 254, 0).astype(np.uint8).view(bool)
    clf = TabNetClassifier(**{**SMALL, "max_iter": 30}).fit(X, odd)
    np.testing.assert_array_equal(clf.classes_, [False, True])
    assert clf.score(X, y == 1) > 0.8
