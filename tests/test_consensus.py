"""ConsensusClassifier: learning from several annotators, on the simulated crowd of
benchmarks/bench_consensus.py (graded annotators, a spammer, two who confuse classes)."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skdnn import (
    ConsensusClassifier,
    MLPClassifierFromScratch,
    annotations_to_wide,
    simulate_annotations,
)
from skdnn._consensus import _Annotations, dawid_skene, fit_soft_targets, majority_vote

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_consensus  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              # crowd-kit's own deprecation warnings under pandas 3
              pytest.mark.filterwarnings("ignore::DeprecationWarning:crowdkit"),
              pytest.mark.filterwarnings("ignore:.*:FutureWarning:crowdkit")]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    # The networks here are small: on a busy machine BLAS threads waiting for each other
    # make each fit 20 times slower, with the same results.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


def _mlp(seed=0):
    # Small and quick; the same network for every pipeline a test compares.
    return MLPClassifierFromScratch(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=150,
                                    alpha=1.0, random_state=seed)


@pytest.fixture(scope="module")
def cancer():
    return bench_consensus.load("breast_cancer", seed=0)


@pytest.fixture(scope="module")
def digits():
    return bench_consensus.load("digits", seed=0)


@pytest.fixture(scope="module")
def cancer_joint(cancer):
    X_train, _, _, _, Y, _ = cancer
    return ConsensusClassifier(_mlp(), random_state=0).fit(X_train, Y)


@pytest.fixture(scope="module")
def digits_joint(digits):
    X_train, _, _, _, Y, _ = digits
    return ConsensusClassifier(_mlp(), random_state=0).fit(X_train, Y)


def _accuracy(T, classes, y):
    return np.mean(classes[T.argmax(axis=1)] == y)


def test_default_method_is_joint():
    assert ConsensusClassifier().method == "joint"


@pytest.mark.parametrize("data", ["cancer", "digits"])
def test_consensus_labels_beat_majority_vote_and_match_dawid_skene(data, request):
    _, _, y_train, _, Y, _ = request.getfixturevalue(data)
    model = request.getfixturevalue(f"{data}_joint")
    labels = _Annotations(Y, None)
    joint = _accuracy(model.consensus_proba_, model.classes_, y_train)
    majority = _accuracy(majority_vote(labels.onehot), labels.classes, y_train)
    ours = _accuracy(dawid_skene(labels.onehot)[0], labels.classes, y_train)
    assert joint > majority + 0.01
    assert joint >= ours
    crowdkit = bench_consensus.crowdkit_dawid_skene(Y)
    if crowdkit is not None:
        assert joint >= _accuracy(crowdkit, labels.classes, y_train)


def test_dawid_skene_agrees_with_crowdkit():
    pytest.importorskip("crowdkit")
    _, _, _, _, Y, _ = bench_consensus.load("breast_cancer", seed=1)
    labels = _Annotations(Y, None)
    ours = dawid_skene(labels.onehot, max_iter=100)[0]
    theirs = bench_consensus.crowdkit_dawid_skene(Y)
    assert np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1)) > 0.99
    np.testing.assert_allclose(ours, theirs, atol=0.05)


def test_default_method_tests_at_least_as_well_as_aggregating_then_training(cancer,
                                                                             cancer_joint):
    X_train, X_test, _, y_test, Y, _ = cancer
    labels = _Annotations(Y, None)
    posteriors = dawid_skene(labels.onehot)[0]
    aggregates = {"majority": majority_vote(labels.onehot), "ds soft": posteriors,
                  "ds hard": np.eye(2)[posteriors.argmax(axis=1)]}
    scores = {name: fit_soft_targets(_mlp(), X_train, T, labels.classes).score(X_test, y_test)
              for name, T in aggregates.items()}
    assert cancer_joint.score(X_test, y_test) >= max(scores.values()), scores


@pytest.mark.parametrize("data", ["cancer", "digits"])
def test_confusions_are_within_0_05_of_the_true_ones_and_the_spammer_is_least_accurate(
        data, request):
    _, _, y_train, _, Y, _ = request.getfixturevalue(data)
    model = request.getfixturevalue(f"{data}_joint")
    truth = bench_consensus.true_confusion(Y, y_train)
    assert model.annotator_confusion_.shape == truth.shape
    assert np.abs(model.annotator_confusion_ - truth).mean() < 0.05
    assert np.argmin(model.annotator_accuracy_) == bench_consensus.SPAMMER
    np.testing.assert_allclose(model.annotator_confusion_.sum(axis=2), 1)


def test_difficulty_ranks_wrong_consensus_rows_first(cancer, cancer_joint):
    _, _, y_train, _, _, _ = cancer
    model = cancer_joint
    wrong = model.classes_[model.consensus_proba_.argmax(axis=1)] != y_train
    assert wrong.any()
    # the hardest tenth holds far more of the wrong rows than a tenth of them
    hardest = model.relabel_order_[: len(y_train) // 10]
    assert wrong[hardest].mean() > 3 * wrong.mean()
    assert np.all(np.diff(model.difficulty_[model.relabel_order_]) <= 0)
    assert model.difficulty_.min() >= 0 and model.difficulty_.max() <= 1


def test_out_of_fold_priors_beat_in_sample_ones(digits, digits_joint):
    # An MLP trained on all rows reproduces its own targets: EM stalls at Dawid-Skene.
    X_train, _, y_train, _, Y, _ = digits
    in_sample = ConsensusClassifier(_mlp(), cv=None, random_state=0).fit(X_train, Y)
    out_of_fold = _accuracy(digits_joint.consensus_proba_, digits_joint.classes_, y_train)
    assert out_of_fold > _accuracy(in_sample.consensus_proba_, in_sample.classes_, y_train)


def test_string_labels_with_none_a_dataframe_and_logistic_regression():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    confusion = np.stack([np.eye(2) * 0.8 + 0.1, np.eye(2) * 0.7 + 0.15, np.full((2, 2), 0.5)])
    Y = simulate_annotations(y, confusion, coverage=0.7, random_state=0)
    assert any(v is None for v in Y.ravel())
    frame = pd.DataFrame(Y, columns=["ann", "bob", "spam"])
    frame.iloc[0, 0] = pd.NA if frame.iloc[0, 1] is not None else frame.iloc[0, 0]
    for method in ("majority", "dawid_skene", "joint"):
        model = ConsensusClassifier(LogisticRegression(), method=method, cv=3,
                                    random_state=0).fit(X, frame)
        assert list(model.classes_) == ["no", "yes"]
        assert list(model.annotators_) == ["ann", "bob", "spam"]
        assert model.predict(X).dtype.kind == "U" and model.score(X, y) > 0.85
        assert isinstance(model.estimator_, LogisticRegression)
        assert model.consensus_proba_.shape == (120, 2)
        assert model.annotator_confusion_.shape == (3, 2, 2)
        np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1)
    assert np.argmin(model.annotator_accuracy_) == 2


def test_missing_markers_and_a_custom_missing_label():
    X = np.arange(8.0)[:, None]
    Y = np.array([[0, 0, -1], [0, -1, 0], [0, 0, 1], [-1, 0, 0],
                  [1, 1, -1], [1, -1, 1], [1, 1, 0], [-1, 1, 1]])
    model = ConsensusClassifier(LogisticRegression(), missing_label=-1, cv=2,
                                random_state=0).fit(X, Y)
    assert list(model.classes_) == [0, 1] and list(model.n_labels_) == [2, 2, 3, 2] * 2
    with_nan = np.where(Y == -1, np.nan, Y)
    same = ConsensusClassifier(LogisticRegression(), cv=2, random_state=0).fit(X, with_nan)
    np.testing.assert_allclose(same.consensus_proba_, model.consensus_proba_)
    pd = pytest.importorskip("pandas")
    nullable = pd.DataFrame(with_nan).astype("Int64")  # pd.NA where a label is missing
    assert nullable.isna().to_numpy().sum() == 6 and np.asarray(nullable, object)[0, 2] is pd.NA
    same = ConsensusClassifier(LogisticRegression(), cv=2, random_state=0).fit(X, nullable)
    np.testing.assert_allclose(same.consensus_proba_, model.consensus_proba_)


def test_a_row_nobody_labelled_is_a_clear_error():
    Y = np.array([["a", None], [None, None], ["b", "b"]], dtype=object)
    with pytest.raises(ValueError, match=r"1 row\(s\) have no label .* row 1"):
        ConsensusClassifier(LogisticRegression()).fit(np.zeros((3, 1)), Y)
    with pytest.raises(ValueError, match="mix strings and numbers"):
        ConsensusClassifier(LogisticRegression()).fit(np.zeros((2, 1)), [["a", 1], [2, "b"]])
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        ConsensusClassifier().fit(np.zeros((3, 1)), [0, 1])


def test_one_annotator_is_ordinary_supervised_learning():
    X, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 3
    ours = ConsensusClassifier(_mlp(), random_state=0).fit(X, y)
    plain = _mlp().fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_allclose(ours.consensus_proba_, np.eye(3)[y])


def test_annotations_to_wide_reads_crowdkit_long_tables():
    pd = pytest.importorskip("pandas")
    long = pd.DataFrame({"task": ["t2", "t1", "t1", "t3", "t3"],
                         "worker": ["w1", "w1", "w2", "w2", "w1"],
                         "label": ["cat", "dog", "cat", "dog", "dog"]})
    wide = annotations_to_wide(long)
    assert list(wide.index) == ["t2", "t1", "t3"] and list(wide.columns) == ["w1", "w2"]
    assert wide.loc["t1", "w2"] == "cat" and pd.isna(wide.loc["t2", "w2"])
    model = ConsensusClassifier(LogisticRegression(), method="majority").fit(np.eye(3), wide)
    assert list(model.annotators_) == ["w1", "w2"]
    assert list(model.n_labels_) == [1, 2, 2]
    with pytest.raises(ValueError, match="more than once"):
        annotations_to_wide(pd.concat([long, long.iloc[:1]]))
    with pytest.raises(ValueError, match="no column 'item'"):
        annotations_to_wide(long, task="item")


def test_simulated_annotators_follow_their_confusion_matrices():
    y = np.repeat([3, 5, 7], 2000)
    confusion = np.array([[[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.3, 0.3, 0.4]],
                          [[0.2, 0.8, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])
    Y = simulate_annotations(y, confusion, coverage=[0.5, 0.2], random_state=0)
    given = np.array([v is not None for v in Y[:, 0]])
    # half the rows, and 5/7 of the 40% that neither drew
    assert given.mean() == pytest.approx(0.5 + 0.4 * 5 / 7, abs=0.03)
    assert all(any(v is not None for v in row) for row in Y)
    observed = bench_consensus.true_confusion(Y, y)
    np.testing.assert_allclose(observed, confusion, atol=0.05)
    assert set(Y[given, 0]) == {3, 5, 7}


def test_majority_vote_splits_ties_evenly():
    labels = _Annotations(np.array([["a", "b", None], ["a", "a", "b"], ["c", "b", "a"]],
                                   dtype=object), None)
    np.testing.assert_allclose(majority_vote(labels.onehot),
                               [[0.5, 0.5, 0], [1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    X = np.array([[0.0], [1.0], [2.0]])
    model = ConsensusClassifier(LogisticRegression(), method="majority",
                                missing_label=-1).fit(X, labels.codes)
    assert model.difficulty_[1] < model.difficulty_[0] < model.difficulty_[2]
    assert model.difficulty_[2] == pytest.approx(1)


def test_sample_weights_count_as_repeated_rows_in_dawid_skene(cancer):
    X_train, _, _, _, Y, _ = cancer
    X, Y = X_train[:120], Y[:120]
    weight = np.random.default_rng(0).integers(1, 4, size=len(X))
    weighted = ConsensusClassifier(_mlp(), method="dawid_skene").fit(X, Y, sample_weight=weight)
    rows = np.repeat(np.arange(len(X)), weight)
    repeated = ConsensusClassifier(_mlp(), method="dawid_skene").fit(X[rows], Y[rows])
    np.testing.assert_allclose(weighted.annotator_confusion_, repeated.annotator_confusion_)
    np.testing.assert_allclose(weighted.consensus_proba_, repeated.consensus_proba_[
        np.searchsorted(rows, np.arange(len(X)))], atol=1e-12)
    np.testing.assert_allclose(weighted.estimator_.loss_, repeated.estimator_.loss_, atol=1e-8)


def test_fitted_state_loads_with_skops_trusting_only_skdnn(cancer):
    sio = pytest.importorskip("skops.io")
    pd = pytest.importorskip("pandas")
    X_train, X_test, _, _, Y, _ = cancer
    frame = pd.DataFrame(Y[:100], columns=[f"annotator {j}" for j in range(Y.shape[1])])
    model = ConsensusClassifier(_mlp(), cv=3, n_rounds=1, random_state=0).fit(X_train[:100],
                                                                              frame)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert all(name.startswith("skdnn.") for name in untrusted), untrusted
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert list(loaded.annotators_) == list(frame.columns)


class _RecordingLogisticRegression(LogisticRegression):
    """LogisticRegression that logs each fit: which object, its rows, and how it starts."""

    fits = []

    def fit(self, X, y, sample_weight=None):
        # the estimator itself is kept, so that no other takes its id
        type(self).fits.append({"id": id(self), "estimator": self,
                                "rows": frozenset(x.tobytes() for x in X),
                                "fitted": hasattr(self, "coef_"),
                                "warm_start": self.warm_start, "max_iter": self.max_iter})
        return super().fit(X, y, sample_weight=sample_weight)


def _small_crowd(n_samples=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    confusion = np.stack([np.eye(2) * 0.8 + 0.1, np.eye(2) * 0.6 + 0.2, np.full((2, 2), 0.5)])
    return X, y, simulate_annotations(y, confusion, coverage=0.7, random_state=seed)


@pytest.mark.parametrize("fold_max_iter", [5, None])
def test_fold_estimators_go_on_from_round_to_round_on_the_same_folds(fold_max_iter):
    X, _, Y = _small_crowd()
    _RecordingLogisticRegression.fits = []
    ConsensusClassifier(_RecordingLogisticRegression(max_iter=100), cv=3, n_rounds=4,
                        fold_max_iter=fold_max_iter, tol=0, random_state=0).fit(X, Y)
    *folds, final = _RecordingLogisticRegression.fits
    every_row = frozenset(x.tobytes() for x in X)
    # the final estimator: new, trained once on all rows, at the user's max_iter
    assert final["rows"] == every_row and not final["fitted"] and final["max_iter"] == 100
    assert len(folds) % 3 == 0 and len(folds) >= 6  # 3 folds a round, two rounds at least
    rounds = [folds[r:r + 3] for r in range(0, len(folds), 3)]
    # the same three folds in every round, whose left-out rows cover every row once
    for fits in zip(*rounds, strict=True):
        assert len({fit["rows"] for fit in fits}) == 1
    left_out = [every_row - fit["rows"] for fit in rounds[0]]
    assert sum(map(len, left_out)) == len(X) and frozenset().union(*left_out) == every_row
    if fold_max_iter is None:  # new estimators every round, fitted in full
        assert len({fit["id"] for fit in folds}) == len(folds)
        assert all(not fit["fitted"] and fit["max_iter"] == 100 for fit in folds)
    else:  # the same three, each going on from its weights for fold_max_iter iterations
        assert [fit["id"] for fit in folds] == [fit["id"] for fit in rounds[0]] * len(rounds)
        assert all(fit["warm_start"] and fit["max_iter"] == 5 for fit in folds)
        assert not any(fit["fitted"] for fit in rounds[0])
        assert all(fit["fitted"] for fit in folds[3:])


def test_fold_estimators_stopped_early_by_design_do_not_warn():
    X, _, Y = _small_crowd()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ConsensusClassifier(LogisticRegression(max_iter=1000), fold_max_iter=1,
                            random_state=0).fit(X, Y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    # the fold estimators' own max_iter, when too small, still warns
    with pytest.warns(ConvergenceWarning):
        ConsensusClassifier(LogisticRegression(max_iter=1), fold_max_iter=None,
                            random_state=0).fit(X, Y)


def test_cv_whose_test_folds_miss_or_repeat_rows_is_a_clear_error():
    X, _, Y = _small_crowd(n_samples=30)
    rows = np.arange(30)
    for folds in ([(rows[10:], rows[:10])], [(rows[10:], rows), (rows[:10], rows[:10])]):
        with pytest.raises(ValueError, match="every row once"):
            ConsensusClassifier(LogisticRegression(), cv=folds).fit(X, Y)


class _RecordingMLP(MLPClassifierFromScratch):
    """skdnn's MLP that logs each soft-target fit: which object, and its epochs so far."""

    fits = []

    def _fit_soft_targets(self, X, proba, classes, sample_weight=None):
        super()._fit_soft_targets(X, proba, classes, sample_weight=sample_weight)
        type(self).fits.append({"id": id(self), "estimator": self,
                                "epochs": len(self.loss_curve_), "n_iter": self.n_iter_})
        return self


def test_the_default_mlp_goes_on_for_fold_max_iter_epochs_a_round(cancer):
    X_train, _, _, _, Y, _ = cancer
    _RecordingMLP.fits = []
    model = ConsensusClassifier(_RecordingMLP(hidden_layer_sizes=(8,), max_iter=300),
                                n_rounds=3, tol=0, random_state=0).fit(X_train, Y)
    *folds, final = _RecordingMLP.fits
    assert len(folds) == 3 * 2  # three rounds of the default two folds
    for f in range(2):
        fits = folds[f::2]
        assert len({fit["id"] for fit in fits}) == 1
        # each round adds fold_max_iter epochs to the same network's loss curve
        assert [fit["epochs"] for fit in fits] == [20, 40, 60]
    assert final["epochs"] == final["n_iter"] == 300 == model.estimator_.n_iter_


# -- Wrapping a Pipeline: X as it is, the weights where the Pipeline takes them (issue 31) --

METHODS = ["majority", "dawid_skene", "joint"]


@pytest.fixture(scope="module")
def crowd_table():
    """A DataFrame with a string column, a target that needs it, and three annotators who
    label 70% of the rows each (so some majority votes tie)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], n),
                      "x": rng.normal(size=n), "z": rng.normal(size=n)})
    red = (X["colour"] == "red").to_numpy()
    y = np.where(3 * red - 1 + 2 * X["x"].to_numpy() > 0, "yes", "no")
    careful = np.eye(2) * 0.8 + 0.1
    Y = simulate_annotations(y, [careful, careful, careful], coverage=0.7, random_state=0)
    assert (majority_vote(_Annotations(Y, None).onehot) < 1).all(axis=1).any()  # ties
    return X, y, Y


def _encoded(columns=("colour",)):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    return ColumnTransformer([("onehot", OneHotEncoder(), list(columns))],
                             remainder="passthrough")


@pytest.mark.parametrize("method", METHODS)
def test_wraps_a_pipeline_that_encodes_the_string_columns_of_a_dataframe(crowd_table, method):
    from sklearn.pipeline import make_pipeline

    X, y, Y = crowd_table
    model = ConsensusClassifier(make_pipeline(_encoded(), LogisticRegression()),
                                method=method, random_state=0).fit(X, Y)
    assert list(model.feature_names_in_) == ["colour", "x", "z"]
    assert model.n_features_in_ == 3
    assert model.score(X, y) > 0.95  # 0.73 on the numeric columns alone
    np.testing.assert_allclose(model.predict_proba(X.iloc[:5]).sum(axis=1), 1)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["x", "colour", "z"]])


def _identity_then(classifier):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(), classifier)


@pytest.mark.parametrize("method", METHODS)
def test_a_pipeline_without_routing_weights_its_last_step(crowd_table, method):
    # An identity step before the classifier: the same fit as the classifier alone exactly
    # when the weights (the soft targets' and the user's) reach it, as
    # logisticregression__sample_weight. fold_max_iter=None: both refit each round.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _, Y = crowd_table
    X = X[["x", "z"]].to_numpy()
    weight = np.random.default_rng(1).uniform(0.5, 2, size=len(X))
    params = dict(method=method, fold_max_iter=None, random_state=0)
    plain = ConsensusClassifier(LogisticRegression(), **params).fit(X, Y, sample_weight=weight)
    piped = ConsensusClassifier(_identity_then(LogisticRegression()), **params).fit(
        X, Y, sample_weight=weight)
    np.testing.assert_allclose(piped.consensus_proba_, plain.consensus_proba_, atol=1e-6)
    np.testing.assert_allclose(piped.predict_proba(X), plain.predict_proba(X), atol=1e-6)
    scaled = ConsensusClassifier(make_pipeline(StandardScaler(), LogisticRegression()),
                                 method=method, random_state=0).fit(X, Y)
    assert scaled.score(X, plain.predict(X)) > 0.95


@pytest.mark.parametrize("method", METHODS)
def test_a_pipeline_under_metadata_routing_takes_the_weights_its_last_step_requests(
        crowd_table, method):
    import sklearn

    X, _, Y = crowd_table
    X = X[["x", "z"]].to_numpy()
    params = dict(method=method, fold_max_iter=None, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        plain = ConsensusClassifier(LogisticRegression(), **params).fit(X, Y)
        requested = LogisticRegression().set_fit_request(sample_weight=True)
        piped = ConsensusClassifier(_identity_then(requested), **params).fit(X, Y)
        np.testing.assert_allclose(piped.predict_proba(X), plain.predict_proba(X), atol=1e-6)
        with pytest.raises(ValueError, match=r"metadata routing is on, and Pipeline.fit "
                           r"routes sample_weight to no step: request it .*"
                           r"set_fit_request\(sample_weight=True\)"):
            ConsensusClassifier(_identity_then(LogisticRegression()), **params).fit(X, Y)


def test_pipeline_steps_get_random_states_from_the_consensus_random_state(crowd_table):
    X, _, Y = crowd_table
    X = X[["x", "z"]].to_numpy()

    def fit(seed):
        network = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=30)
        return ConsensusClassifier(_identity_then(network), method="dawid_skene",
                                   random_state=seed).fit(X, Y).predict_proba(X)

    np.testing.assert_array_equal(fit(0), fit(0))
    assert not np.allclose(fit(0), fit(1))


def test_an_estimator_that_cannot_take_weights_says_what_to_do(crowd_table):
    from sklearn.neighbors import KNeighborsClassifier

    X, y, Y = crowd_table
    X = X[["x", "z"]].to_numpy()
    for method in ("dawid_skene", "joint"):
        with pytest.raises(ValueError, match=rf"because method='{method}' trains it on each "
                           r"row's class probabilities .* KNeighborsClassifier.fit has no "
                           r"sample_weight parameter: use a classifier whose fit has one.*"
                           r"or method='majority'"):
            ConsensusClassifier(KNeighborsClassifier(), method=method).fit(X, Y)
    with pytest.raises(ValueError, match=r"the Pipeline's last step \(KNeighborsClassifier\)"
                       r" has no sample_weight in its fit: end the Pipeline with"):
        ConsensusClassifier(_identity_then(KNeighborsClassifier())).fit(X, Y)
    tied = np.flatnonzero((majority_vote(_Annotations(Y, None).onehot) < 1).all(axis=1))
    with pytest.raises(ValueError, match=rf"the majority vote ties on {len(tied)} row\(s\) "
                       rf"\(the first: row {tied[0]}\)"):
        ConsensusClassifier(KNeighborsClassifier(), method="majority").fit(X, Y)
    # Without ties nor weights, the majority vote is labels: no weights needed.
    complete = simulate_annotations(y, [np.eye(2) * 0.8 + 0.1] * 3, random_state=0)
    model = ConsensusClassifier(KNeighborsClassifier(), method="majority").fit(X, complete)
    voted = model.classes_[majority_vote(_Annotations(complete, None).onehot).argmax(axis=1)]
    np.testing.assert_array_equal(model.predict(X), KNeighborsClassifier().fit(X, voted)
                                  .predict(X))
    with pytest.raises(ValueError, match="because fit was given sample_weight"):
        ConsensusClassifier(KNeighborsClassifier(), method="majority").fit(
            X, complete, sample_weight=np.ones(len(X)))


def test_simulated_confusion_rows_that_do_not_sum_to_1_are_named_with_their_sums():
    y = ["a", "b", "a", "c"]
    confusion = np.stack([np.eye(3), np.eye(3)])
    confusion[1, 2] = [0.2, 0.2, 0.7]  # annotator 1, true class "c": sums to 1.1
    with pytest.raises(ValueError, match=r"Each row of confusion must sum to 1 .*: "
                       r"confusion\[1, 2\] \(annotator 1, true class 'c'\) sums to 1.1\.$"):
        simulate_annotations(y, confusion)
    with pytest.raises(ValueError, match=r"confusion\[0, 0\] .* sums to 0.5, .*"
                       r"confusion\[1, 1\] .* sums to 0.5, and 1 more\.$"):
        simulate_annotations(y, np.full((2, 3, 3), 0.5 / 3))
    with pytest.raises(ValueError, match=r"shape \(n_annotators, 3, 3\): .* 3 classes of y; "
                       r"got shape \(3, 3\)"):
        simulate_annotations(y, np.eye(3))
    negative = confusion.copy()
    negative[1, 2] = [-0.1, 0.4, 0.7]
    with pytest.raises(ValueError, match=r"confusion\[1, 2, 0\] is -0.1"):
        simulate_annotations(y, negative)
