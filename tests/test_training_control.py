"""Training control: scikit-learn callbacks, early stopping on score or loss, loss curves."""

import re
import signal

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch, TabNetClassifier, _train
from skdnn._train import KeptInterrupt
from skdnn.nn.network import Network
from skdnn.nn.tabnet import TabNet

try:  # scikit-learn >= 1.9
    from sklearn import callback
except ImportError:  # older: skdnn's estimators train the same, without callbacks
    callback = None
needs_callbacks = pytest.mark.skipif(callback is None,
                                     reason="sklearn.callback needs scikit-learn >= 1.9")

# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@needs_callbacks
def test_scoring_monitor_records_each_epoch_as_if_fit_stopped_there():
    X, y = _data()
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    est.set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"].startswith("epoch")]
    assert [r["task_name"] for r in rows] == [f"epoch {i}" for i in range(6)]
    for i, row in enumerate(rows):
        shorter = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=i + 1,
                                           random_state=0).fit(X, y)
        assert row["accuracy"] == pytest.approx(accuracy_score(y, shorter.predict(X)))


@needs_callbacks
def test_scoring_monitor_follows_lbfgs_iterations():
    X, y = _data()
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=7,
                                   random_state=0).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data
            if r["task_name"].startswith("iteration") and "accuracy" in r]
    assert len(rows) == est.n_iter_ == 7
    assert rows[-1]["accuracy"] == pytest.approx(est.score(X, y))


@needs_callbacks
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_progress_bar_shows_a_completed_bar(method, capsys):
    pytest.importorskip("rich")
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    est.set_callbacks(callback.ProgressBar())
    if method == "fit":
        est.fit(X, y)
    else:
        est.partial_fit(X, y, classes=np.unique(y))
    out = capsys.readouterr().out
    assert re.search(r"MLPClassifierFromScratch - fit", out)
    assert "100%" in out


class _StopAfter:
    """A callback that asks the fit to stop after ``n`` epochs."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        if context.task_name.startswith("epoch"):
            self.seen += 1
            return self.seen >= self.n
        return False


@needs_callbacks
def test_a_callback_can_stop_training():
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    est.set_callbacks(_StopAfter(3)).fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


def _early_stopping_data():
    X, y = make_classification(n_samples=400, n_features=10, n_informative=4,
                               flip_y=0.15, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_early_stopping_restores_the_best_epoch_of_its_metric(metric):
    X, y = _early_stopping_data()
    params = dict(hidden_layer_sizes=(64, 64), early_stopping=True, learning_rate_init=0.01,
                  n_iter_no_change=8, early_stopping_metric=metric, random_state=0)
    est = MLPClassifierFromScratch(**params).fit(X, y)
    scores, losses = est.validation_scores_, est.validation_loss_curve_
    assert len(scores) == len(losses) == est.n_iter_ < 200
    if metric == "loss":
        best = int(np.argmin(losses))
        assert est.best_validation_loss_ == losses[best]
    else:
        best = max(range(len(scores)), key=lambda i: (scores[i], -losses[i]))
        assert est.best_validation_score_ == max(scores)
    assert est.best_validation_score_ == scores[best]
    again = MLPClassifierFromScratch(**params, max_iter=best + 1).fit(X, y)
    for ours, theirs in zip(est.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_loss_metric_stops_when_the_validation_loss_turns_up():
    X, y = _early_stopping_data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(128, 128), early_stopping=True,
                                   early_stopping_metric="loss", learning_rate_init=0.01,
                                   n_iter_no_change=5, random_state=0).fit(X, y)
    losses = est.validation_loss_curve_
    best = int(np.argmin(losses))
    # It trained on for n_iter_no_change + 1 epochs without a better validation loss.
    assert len(losses) - 1 - best == 6
    assert min(losses[best + 1:]) > losses[best]


def test_loss_curve_display_plots_the_recorded_curves():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdnn.plot import LossCurveDisplay

    X, y = _early_stopping_data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(16,), early_stopping=True, max_iter=15,
                                   random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator(est)
    np.testing.assert_allclose(display.lines_["training loss"].get_ydata(), est.loss_curve_)
    np.testing.assert_allclose(display.lines_["validation loss"].get_ydata(),
                               est.validation_loss_curve_)
    np.testing.assert_allclose(display.lines_["validation score"].get_ydata(),
                               est.validation_scores_)
    plain = MLPClassifierFromScratch(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    assert sorted(LossCurveDisplay.from_estimator(plain.fit(X, y)).lines_) == ["training loss"]


@needs_callbacks
def test_perceptron_reports_each_epoch_to_the_scoring_monitor(capsys):
    pytest.importorskip("rich")
    from skdnn import PerceptronClassifier

    X, y = _data()
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = PerceptronClassifier(max_iter=5, tol=None, random_state=0)
    est.set_callbacks(monitor, callback.ProgressBar()).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"].startswith("epoch")]
    assert len(rows) == est.n_iter_ == 5
    # The last epoch's model is the fitted one (the pocket keeps the best weights seen).
    assert rows[-1]["accuracy"] == pytest.approx(est.score(X, y))
    assert "PerceptronClassifier - fit" in capsys.readouterr().out


@needs_callbacks
def test_a_callback_can_stop_the_perceptron():
    from skdnn import PerceptronClassifier

    X, y = _data()
    est = PerceptronClassifier(max_iter=50, tol=None, random_state=0)
    est.set_callbacks(_StopAfter(2)).fit(X, y)
    assert est.n_iter_ == 2


@pytest.mark.skipif(callback is not None, reason="scikit-learn >= 1.9 has callbacks")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_without_sklearn_callbacks_the_hooks_do_nothing_and_the_estimators_train(solver):
    # Before scikit-learn 1.9, _train stands in for sklearn.callback: the estimators call the
    # same hooks, which do nothing and never ask to stop.
    from skdnn import PerceptronClassifier

    assert _train.CallbackSupportMixin.__module__ == "skdnn._train.callbacks"
    assert isinstance(MLPClassifierFromScratch(), _train.CallbackSupportMixin)
    assert isinstance(PerceptronClassifier(), _train.CallbackSupportMixin)
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), solver=solver, max_iter=500,
                                   random_state=0).fit(X, y)
    hooks = _train.EpochCallbacks(est, (X, y, None), max_epochs=3)
    hooks.begin_epoch()
    assert hooks.end_epoch(lambda: {}) is False
    assert est.n_iter_ == len(est.loss_curve_) > 10 and est.score(X, y) > 0.9
    assert PerceptronClassifier(random_state=0).fit(X, y).score(X, y) > 0.8


@pytest.mark.skipif(callback is None, reason="sklearn.callback needs scikit-learn >= 1.9")
def test_with_sklearn_callbacks_the_estimators_take_sklearns_own_mixin():
    from skdnn import PerceptronClassifier

    assert issubclass(_train.CallbackSupportMixin, callback.CallbackSupportMixin)
    for est in (MLPClassifierFromScratch(), PerceptronClassifier()):
        assert isinstance(est, callback.CallbackSupportMixin) and hasattr(est, "set_callbacks")


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
@pytest.mark.parametrize("Estimator, params", [
    (MLPClassifierFromScratch, dict(hidden_layer_sizes=(8,), solver="adam")),
    (MLPClassifierFromScratch, dict(hidden_layer_sizes=(8,), solver="sgd")),
    (MLPRegressorFromScratch, dict(hidden_layer_sizes=(8,), solver="adam")),
    (MLPRegressorFromScratch, dict(hidden_layer_sizes=(8,), solver="sgd")),
    (TabNetClassifier, dict(n_d=4, n_a=4, n_steps=2, early_stopping=False)),
], ids=["mlp-classifier-adam", "mlp-classifier-sgd", "mlp-regressor-adam", "mlp-regressor-sgd",
        "tabnet-classifier"])
def test_ctrl_c_stops_at_the_end_of_the_batch_keeps_the_weights_warns_and_reraises(
        monkeypatch, interrupt_call, Estimator, params):
    # Every network's estimator (issue 29: TabNet's Ctrl-C threw the fit away).
    X, y = _data()  # 150 samples in batches of 50: 3 batches an epoch
    params = dict(params, batch_size=50, max_iter=50, random_state=0)
    engine = TabNet if Estimator is TabNetClassifier else Network
    fitted = {}
    # A Ctrl-C in the 2nd batch of epoch 3 waits for that batch's step; a KeyboardInterrupt
    # raised before the 3rd batch's gradient stops there: the same 8 steps either way.
    for how, n_batch in [("signal", 8), ("raise", 9)]:
        est = Estimator(**params)
        calls = interrupt_call(engine, n_batch, how)
        with pytest.warns(UserWarning, match="interrupted .*in epoch 3: .*after 2 complete"):
            with pytest.raises(KeptInterrupt):
                est.fit(X, y)
        assert len(calls) == n_batch  # no batch began after it
        assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
        fitted[how] = est
        monkeypatch.undo()
    for coef, same in zip(_weights(fitted["signal"]), _weights(fitted["raise"]), strict=True):
        np.testing.assert_array_equal(coef, same)
    two = Estimator(**dict(params, max_iter=2)).fit(X, y)  # the 2 steps of epoch 3 count
    assert not np.array_equal(_weights(fitted["signal"])[0], _weights(two)[0])
    est = fitted["signal"]
    assert est.predict(X).shape == y.shape
    if Estimator is MLPRegressorFromScratch:
        assert np.isfinite(est.predict(X)).all()
    else:
        assert np.isfinite(est.predict_proba(X)).all()
    est.set_params(warm_start=True, max_iter=5).fit(X, y)  # a fitted model goes on
    assert est.n_iter_ == 5


def _weights(est):
    """A fitted estimator's weight arrays: the MLP's ``coefs_``, TabNet's flat vector."""
    return est.coefs_ if hasattr(est, "coefs_") else [est._theta]


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
def test_ctrl_c_in_lbfgs_keeps_the_last_finished_iteration(interrupt_call):
    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=100,
                                   random_state=0)
    interrupt_call(Network, 6, "signal")  # the 6th evaluation of the loss
    with pytest.warns(UserWarning, match=r"interrupted .*at the end of iteration \d+"):
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    assert est.n_iter_ >= 1 and len(est.loss_curve_) == est.n_iter_
    assert est.score(X, y) > 0


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_fit_puts_back_the_sigint_handler_it_found(interrupt_call, solver):
    # Interrupted or not, the fit's hold on Ctrl-C ends with the fit.
    X, y = _data()
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0)
    MLPClassifierFromScratch(**params).fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupt_call(Network, 3, "signal")
    with pytest.warns(UserWarning, match="interrupted"), pytest.raises(KeyboardInterrupt):
        MLPClassifierFromScratch(**params).fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored_and_the_fit_runs_to_its_end(interrupt_call):
    # A process that ignores Ctrl-C (a background job, nohup) has chosen so: the fit neither
    # takes SIGINT over nor stops on one.
    X, y = _data()
    params = dict(hidden_layer_sizes=(8,), batch_size=50, max_iter=5, random_state=0)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        calls = interrupt_call(Network, 2, "signal")
        est = MLPClassifierFromScratch(**params).fit(X, y)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert est.n_iter_ == 5 and len(calls) == 15


def test_ctrl_c_from_a_callback_at_the_end_of_an_epoch_keeps_that_epoch():
    pytest.importorskip("sklearn.callback")

    class Interrupt:
        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, **kwargs):
            pass

        def on_fit_task_end(self, estimator, context, **kwargs):
            if context.task_name == "epoch 4":
                raise KeyboardInterrupt

        def teardown(self, estimator, context):
            pass

    X, y = _data()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    est.set_callbacks(Interrupt())
    with pytest.warns(UserWarning, match="at the end of epoch 5"):
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    five = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    np.testing.assert_array_equal(est.coefs_[0], five.fit(X, y).coefs_[0])


def test_ctrl_c_keeps_the_perceptrons_complete_epochs(monkeypatch):
    from skdnn import PerceptronClassifier
    from skdnn.nn import perceptron as engine

    X, y = _data()
    calls, original = [], engine.online_epoch

    def online_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "online_epoch", online_epoch)
    params = dict(batch_size=1, tol=None, max_iter=20)
    est = PerceptronClassifier(**params)
    with pytest.warns(UserWarning, match="interrupted .*in epoch 4: .*3 complete"):
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    monkeypatch.undo()
    three = PerceptronClassifier(**dict(params, max_iter=3)).fit(X, y)
    assert est.n_iter_ == 3
    np.testing.assert_array_equal(est.coef_, three.coef_)
    np.testing.assert_array_equal(est.predict_proba(X), three.predict_proba(X))


def test_ctrl_c_before_anything_trained_leaves_the_estimator_unchanged(monkeypatch):
    # No complete epoch: nothing is kept, and the fit changes nothing (as a failed fit).
    from skdnn import PerceptronClassifier
    from skdnn.nn import perceptron as engine

    X, y = _data()

    def online_epoch(*args, **kwargs):
        raise KeyboardInterrupt

    est = PerceptronClassifier(batch_size=1, tol=None, max_iter=20)
    monkeypatch.setattr(engine, "online_epoch", online_epoch)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "classes_")
