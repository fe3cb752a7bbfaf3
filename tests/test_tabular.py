"""TabularMLPClassifier and TabularMLPRegressor: DataFrames as they come, the recipe's pieces,
the scikit-learn contract and clear errors (issue 30)."""

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdnn import TabularMLPClassifier, TabularMLPRegressor
from skdnn._tabular import _TabularFit
from skdnn.nn import optimizers, reference

pd = pytest.importorskip("pandas")

#: A small network: the contract does not depend on the width.
SMALL = dict(hidden_layer_sizes=(32, 32), n_members=4, max_iter=64)


def _frame(n=400, seed=0):
    """Numbers with NaN, text, a category and booleans; a label that needs all of them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.1, np.nan, x),
        "colour": colour,
        "size": pd.Categorical(rng.choice(list("abcdefghijkl"), size=n)),
        "flag": rng.random(n) < 0.5,
        "noise": rng.normal(size=n),
    })
    y = np.where((x > 0) ^ (colour == "red") ^ frame["flag"].to_numpy(), "yes", "no")
    return frame, y


def test_a_dataframe_with_nan_text_categories_and_booleans_fits_as_it_is():
    X, y = _frame()
    clf = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert list(clf.feature_names_in_) == list(X.columns)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    # a level never seen in training, and a row missing everything it can miss
    new = X.iloc[:2].copy()
    new["colour"] = ["purple", None]
    new.loc[new.index[1], "x"] = np.nan
    assert set(clf.predict(new)) <= {"no", "yes"}
    assert np.isfinite(clf.predict_proba(new)).all()


def test_columns_reordered_are_refused_as_scikit_learn_refuses_them():
    X, y = _frame(200)
    clf = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[X.columns[::-1]])


def test_random_state_makes_the_fit_reproducible_and_a_new_seed_changes_it():
    X, y = _frame(200)
    a = TabularMLPClassifier(**SMALL, random_state=1).fit(X, y).predict_proba(X)
    b = TabularMLPClassifier(**SMALL, random_state=1).fit(X, y).predict_proba(X)
    c = TabularMLPClassifier(**SMALL, random_state=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_the_regressor_learns_a_price_scale_target_and_clips_to_its_range():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = 1e5 * (X[:, 0] ** 2 + X[:, 1]) + 3e5
    reg = TabularMLPRegressor(**SMALL, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.9
    far = reg.predict(np.array([[50.0, 50.0, 0.0], [-50.0, -50.0, 0.0]]))
    assert far.min() >= y.min() and far.max() <= y.max()
    assert (far == y.max()).any() or (far == y.min()).any()  # the clip acted


def test_the_regressor_takes_several_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.c_[X[:, 0], -2 * X[:, 1]]
    reg = TabularMLPRegressor(**SMALL, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.score(X, Y) > 0.8


def test_class_weight_and_sample_weight_move_the_decision():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + rng.normal(scale=1.0, size=400) > 1.0).astype(int)  # about 1 in 6 is 1
    plain = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    balanced = TabularMLPClassifier(**SMALL, class_weight="balanced", random_state=0).fit(X, y)
    weighted = TabularMLPClassifier(**SMALL, random_state=0).fit(
        X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    share = [m.predict(X).mean() for m in (plain, balanced, weighted)]
    assert share[1] > share[0] + 0.1 and share[2] > share[0] + 0.1


def test_early_stopping_keeps_the_epoch_of_the_best_validation_accuracy():
    X, y = _frame(600)
    clf = TabularMLPClassifier(**dict(SMALL, max_iter=40), random_state=0).fit(X, y)
    scores = clf.validation_scores_  # 600 rows: early_stopping="auto" holds out 120
    assert len(scores) == clf.n_iter_ == 40
    assert clf.best_validation_score_ == max(scores)
    tied = [i for i, s in enumerate(scores) if s == max(scores)]
    best = min(tied, key=lambda i: clf.validation_loss_curve_[i])
    assert clf.best_validation_loss_ == clf.validation_loss_curve_[best]
    assert TabularMLPClassifier(**SMALL).fit(X[:499], y[:499]).validation_scores_ is None


def test_label_smoothing_keeps_the_probabilities_off_zero_and_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    X[:, 0] += np.where(y == 1, 2.0, -2.0)  # separable
    sharp = TabularMLPClassifier(**SMALL, label_smoothing=0.0, random_state=0).fit(X, y)
    smooth = TabularMLPClassifier(**SMALL, label_smoothing=0.2, random_state=0).fit(X, y)
    # smoothing by 0.2 over 2 classes targets 0.9: the fit stays near it
    assert sharp.predict_proba(X).max() > 0.99
    assert 0.85 < smooth.predict_proba(X).max() < 0.97


def test_clone_pipeline_grid_search_and_cross_validation_work():
    X, y = _frame(240)
    clf = TabularMLPClassifier(hidden_layer_sizes=(16,), n_members=2, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    pipe = make_pipeline(FunctionTransformer(lambda frame: frame.drop(columns="noise")), clf)
    assert cross_val_score(pipe, X, y, cv=2).shape == (2,)
    search = GridSearchCV(clf, {"dropout": [0.0, 0.3]}, cv=2).fit(X, y)
    assert search.best_params_["dropout"] in (0.0, 0.3)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_pickle_and_skops_give_the_same_predictions():
    X, y = _frame(200)
    clf = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    sio = pytest.importorskip("skops.io")
    dumped = sio.dumps(clf)
    untrusted = sio.get_untrusted_types(data=dumped)
    assert all(name.startswith("skdnn.") for name in untrusted), untrusted
    loaded = sio.loads(dumped, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# -- clear errors -------------------------------------------------------------------------------
def test_a_string_target_for_the_regressor_names_the_classifier():
    with pytest.raises(ValueError, match="numeric target.*TabularMLPClassifier"):
        TabularMLPRegressor(**SMALL).fit(np.zeros((10, 2)), np.array(["a", "b"] * 5))


def test_a_single_class_is_an_error_that_says_so():
    with pytest.raises(ValueError, match="one class"):
        TabularMLPClassifier(**SMALL).fit(np.zeros((10, 2)), np.ones(10))


@pytest.mark.parametrize("make, match", [
    (lambda X: X.assign(x=np.nan), "missing in every row"),
    (lambda X: X.assign(x=np.inf), "infinit"),
    (lambda X: X.assign(when=pd.Timestamp("2024-01-01")), "dates or times"),
])
def test_bad_columns_in_fit_are_named(make, match):
    X, y = _frame(50)
    with pytest.raises(ValueError, match=match):
        TabularMLPClassifier(**SMALL).fit(make(X), y)


def test_a_column_whose_kind_changed_since_fit_is_named():
    X, y = _frame(200)
    clf = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="noise"):
        clf.predict(X.assign(noise="text"))


def test_a_failed_fit_leaves_a_fitted_estimator_as_it_was():
    X, y = _frame(200)
    clf = TabularMLPClassifier(**SMALL, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError):
        clf.fit(X.assign(x=np.nan), y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


# -- the recipe's pieces --------------------------------------------------------------------------
def test_coslog_and_flat_cos_are_realmlps_schedules():
    # coslog4 is 0 at both ends and 1 where log2(1 + 15 t) is 0.5, 1.5, 2.5, 3.5
    assert optimizers.coslog(0.0) == 0 and optimizers.coslog(1.0) == pytest.approx(0, abs=1e-12)
    for cycle in (0.5, 1.5, 2.5, 3.5):
        assert optimizers.coslog((2**cycle - 1) / 15) == pytest.approx(1.0)
    assert optimizers.coslog((2**1 - 1) / 15) == pytest.approx(0.0, abs=1e-12)
    assert [optimizers.flat_cos(t) for t in (0.0, 0.5, 0.75, 1.0)] == pytest.approx(
        [1, 1, 0.5, 0])


def test_adamw_step_is_the_plain_update():
    rng = np.random.default_rng(0)
    theta, factors = rng.normal(size=7), rng.uniform(0.1, 6, size=7)
    decay = np.r_[np.full(4, 0.02), np.zeros(3)]
    state, fast = optimizers.init_adam_state(theta), theta.copy()
    slow, m, v, t = theta.copy(), np.zeros(7), np.zeros(7), 0
    for step in range(5):
        grad = rng.normal(size=7)
        optimizers.adamw_step(fast, grad, state, learning_rate=0.04 * (step + 1),
                              factors=factors, decay=decay)
        slow, m, v, t = reference.adamw_step(slow, grad, m, v, t, 0.04 * (step + 1),
                                             factors, decay)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 8 steps
def test_the_dropout_rate_follows_flat_cos_over_the_epochs(monkeypatch):
    from skdnn.nn.tabular import TabularNetwork

    rates, original = [], TabularNetwork.loss_and_gradient

    def spy(self, *args, **kwargs):
        rates.append(self.dropout)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TabularNetwork, "loss_and_gradient", spy)
    X = np.random.default_rng(0).normal(size=(100, 2))
    TabularMLPRegressor(hidden_layer_sizes=(8,), n_members=2, max_iter=8, dropout=0.4,
                        batch_size=100, random_state=0).fit(X, X[:, 0])
    expected = [0.4 * optimizers.flat_cos(epoch / 8) for epoch in range(8)]
    assert rates == pytest.approx(expected)  # one batch an epoch


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 20 steps
def test_the_schedule_spans_the_fit_and_weight_decay_spares_biases(monkeypatch):
    seen = {}
    original = optimizers.ScheduledAdamW.__init__

    def spy(self, **kwargs):
        seen.update(kwargs)
        original(self, **kwargs)

    monkeypatch.setattr(optimizers.ScheduledAdamW, "__init__", spy)
    X = np.random.default_rng(0).normal(size=(100, 2))
    reg = TabularMLPRegressor(hidden_layer_sizes=(8,), n_members=2, max_iter=5,
                              batch_size=30, weight_decay=0.05, random_state=0)
    reg.fit(X, X[:, 0])
    assert seen["total_steps"] == 5 * math.ceil(100 / 30)
    network, _ = reg.as_engine()
    decay = network.layout.views(seen["decay"])
    assert (decay["W0"] == 0.05).all() and (decay["b0"] == 0).all()
    assert (decay["b_out"] == 0).all() and (decay["W_out"] == 0.05).all()


@pytest.mark.parametrize("n_samples, batch", [(100, 16), (400, 50), (2000, 250), (5000, 256)])
def test_batch_size_auto_gives_a_small_table_8_steps_an_epoch(monkeypatch, n_samples, batch):
    sizes = []
    monkeypatch.setattr(_TabularFit, "run_epoch",
                        lambda self: sizes.append(self.batch_size) or 0.0)
    X = np.random.default_rng(0).normal(size=(n_samples, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained network learned nothing: not the point
        TabularMLPRegressor(max_iter=1, early_stopping=False).fit(X, X[:, 0])
    assert sizes == [batch]


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_ctrl_c_keeps_the_weights_trained_so_far_warns_and_reraises(interrupt_call,
                                                                   early_stopping):
    from skdnn._train import KeptInterrupt
    from skdnn.nn.tabular import TabularNetwork

    X, y = _frame(300)  # 240 training rows with a validation fifth, else 300: batches of 60
    params = dict(SMALL, batch_size=60, max_iter=20, early_stopping=early_stopping,
                  random_state=0)
    per_epoch = 4 if early_stopping else 5
    clf = TabularMLPClassifier(**params)
    calls = interrupt_call(TabularNetwork, 2 * per_epoch + 2, "signal")  # epoch 3, batch 2
    with pytest.warns(UserWarning, match="interrupted .*in epoch 3: .*after 2 complete"):
        with pytest.raises(KeptInterrupt):
            clf.fit(X, y)
    assert len(calls) == 2 * per_epoch + 2  # no batch began after it
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert np.isfinite(clf.predict_proba(X)).all()
    if early_stopping:  # the best of the two validated epochs is what was kept
        assert len(clf.validation_scores_) == 2
        assert clf.best_validation_score_ == max(clf.validation_scores_)
