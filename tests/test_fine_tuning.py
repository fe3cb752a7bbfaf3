"""Fine-tuning a pretrained network: frozen layers, cloning, and the transfer it buys."""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn._fine_tuning import PROBE_ALPHA, split

# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def pretrained(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifierFromScratch(hidden_layer_sizes=(48, 24), activation="prelu",
                                        max_iter=80, random_state=0).fit(X[:1000], y[:1000])


def _copy_of(model):
    return [a.copy() for a in model.coefs_ + model.intercepts_ + model.slopes_]


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("n_frozen", [0, 1, 2])
def test_frozen_layers_stay_bit_for_bit_and_the_others_train(digits, pretrained, solver,
                                                            n_frozen):
    X, y = digits
    before = _copy_of(pretrained)
    model = MLPClassifierFromScratch(pretrained=pretrained, n_frozen_layers=n_frozen,
                                     solver=solver, max_iter=20, random_state=1)
    model.fit(X[1000:1100], y[1000:1100] % 2)
    for layer in range(2):
        frozen = layer < n_frozen
        for ours, theirs in [(model.coefs_[layer], pretrained.coefs_[layer]),
                             (model.intercepts_[layer], pretrained.intercepts_[layer]),
                             (model.slopes_[layer], pretrained.slopes_[layer])]:
            assert np.array_equal(ours, theirs) == frozen
    # A new output layer for the new task: one sigmoid unit for odd versus even.
    assert model.coefs_[-1].shape == (24, 1)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    # The pretrained network itself is never modified.
    for a, b in zip(before, _copy_of(pretrained), strict=True):
        np.testing.assert_array_equal(a, b)


def test_architecture_is_taken_from_the_pretrained_network(digits, pretrained):
    X, y = digits
    # hidden_layer_sizes and activation at their defaults: the pretrained network's are used.
    model = MLPClassifierFromScratch(pretrained=pretrained, max_iter=5, random_state=0)
    model.fit(X[1000:1100], y[1000:1100] % 3)
    assert [W.shape for W in model.coefs_] == [(64, 48), (48, 24), (24, 3)]
    assert len(model.slopes_) == 2
    # It predicts with the pretrained PReLU units, not the relu of its own parameter:
    twin = MLPClassifierFromScratch(hidden_layer_sizes=(48, 24), activation="prelu",
                                    max_iter=1, random_state=0).fit(X[:50], y[:50] % 3)
    for name in ("coefs_", "intercepts_", "slopes_"):
        setattr(twin, name, getattr(model, name))
    np.testing.assert_allclose(model.predict_proba(X[1100:1200]),
                               twin.predict_proba(X[1100:1200]))
    # partial_fit and warm_start go on with the same network.
    model.partial_fit(X[1100:1200], y[1100:1200] % 3)
    assert [W.shape for W in model.coefs_] == [(64, 48), (48, 24), (24, 3)]


@pytest.mark.parametrize("params, named", [
    ({"hidden_layer_sizes": (5,)}, r"hidden_layer_sizes=\(5,\) \(the pretrained network has "
                                   r"\(48, 24\)\)"),
    ({"hidden_layer_sizes": 48}, r"hidden_layer_sizes=\(48,\)"),
    ({"activation": "tanh"}, r"activation='tanh' \(the pretrained network has 'prelu'\)"),
    ({"hidden_layer_sizes": (48, 12), "activation": "elu"}, r"hidden_layer_sizes.*; activation"),
])
def test_explicit_architecture_that_conflicts_with_the_pretrained_one_is_an_error(
        digits, pretrained, params, named):
    X, y = digits
    model = MLPClassifierFromScratch(pretrained=pretrained, **params)
    with pytest.raises(ValueError, match=named):
        model.fit(X[1000:1100], y[1000:1100] % 2)
    assert not hasattr(model, "coefs_")


def test_explicit_architecture_equal_to_the_pretrained_one_is_accepted(digits, pretrained):
    X, y = digits
    model = MLPClassifierFromScratch(hidden_layer_sizes=[48, 24], activation="prelu",
                                     pretrained=pretrained, max_iter=5, random_state=0)
    assert [W.shape for W in model.fit(X[1000:1100], y[1000:1100] % 2).coefs_] == [
        (64, 48), (48, 24), (24, 1)]


def test_leaky_relu_slope_that_conflicts_with_the_pretrained_one_is_an_error(digits):
    X, y = digits
    base = MLPClassifierFromScratch((8,), activation="leaky_relu", negative_slope=0.2,
                                    solver="lbfgs", max_iter=20, random_state=0)
    base.fit(X[:200], y[:200])
    with pytest.raises(ValueError, match=r"negative_slope=0\.05 \(the pretrained network has 0\.2"):
        MLPClassifierFromScratch(pretrained=base, negative_slope=0.05).fit(X[200:300], y[200:300])


def _features(model, X):
    """The last hidden layer's activations of a PReLU network."""
    a = X
    for W, b, s in zip(model.coefs_[:-1], model.intercepts_[:-1], model.slopes_, strict=True):
        z = a @ W + b
        a = np.where(z > 0, z, s * z)
    return a


@pytest.mark.parametrize("odd_even", [True, False])
def test_the_probe_is_a_logistic_regression_on_the_pretrained_features(digits, pretrained,
                                                                        odd_even):
    # probe_then_tune with every hidden layer frozen and one negligible SGD step after the
    # probe: the output layer is scikit-learn's LogisticRegression(C=1 / PROBE_ALPHA) on the
    # pretrained features.
    X, y = digits
    X_new, y_new = X[1000:1060], (y[1000:1060] % 2 if odd_even else y[1000:1060])
    model = MLPClassifierFromScratch(pretrained=pretrained, n_frozen_layers=2, max_iter=1,
                                     solver="sgd", learning_rate_init=1e-12,
                                     random_state=0).fit(X_new, y_new)
    reference = LogisticRegression(C=1 / PROBE_ALPHA, tol=1e-10, max_iter=10_000).fit(
        _features(pretrained, X_new), y_new)
    coef, intercept = reference.coef_.T, reference.intercept_
    if not odd_even:  # a softmax is defined up to a constant per sample: compare centred
        model_coef = model.coefs_[-1] - model.coefs_[-1].mean(axis=1, keepdims=True)
        coef, intercept = coef - coef.mean(axis=1, keepdims=True), intercept - intercept.mean()
        model_intercept = model.intercepts_[-1] - model.intercepts_[-1].mean()
    else:
        model_coef, model_intercept = model.coefs_[-1], model.intercepts_[-1]
    np.testing.assert_allclose(model_coef, coef, atol=1e-4)
    np.testing.assert_allclose(model_intercept, intercept, atol=1e-4)


def test_tune_starts_from_a_random_output_layer_and_partial_fit_never_probes(digits, pretrained):
    X, y = digits
    X_new, y_new = X[1000:1060], y[1000:1060] % 2
    common = dict(pretrained=pretrained, n_frozen_layers=2, max_iter=1, random_state=0)
    probed = MLPClassifierFromScratch(**common).fit(X_new, y_new)
    tuned = MLPClassifierFromScratch(fine_tuning="tune", **common).fit(X_new, y_new)
    assert probed.loss_ < 0.5 < tuned.loss_  # one Adam step from a random head learns little
    first_batches = [MLPClassifierFromScratch(fine_tuning=how, **common).partial_fit(
        X_new, y_new, classes=[0, 1]) for how in ("probe_then_tune", "tune")]
    np.testing.assert_array_equal(first_batches[0].coefs_[-1], first_batches[1].coefs_[-1])


def test_too_many_frozen_layers_is_a_clear_error(digits, pretrained):
    X, y = digits
    model = MLPClassifierFromScratch(pretrained=pretrained, n_frozen_layers=3)
    with pytest.raises(ValueError, match="n_frozen_layers=3 is more than the 2 hidden"):
        model.fit(X[1000:1100], y[1000:1100] % 2)


def test_different_input_features_is_a_clear_error(digits, pretrained):
    X, y = digits
    with pytest.raises(ValueError, match="pretrained network takes 64"):
        MLPClassifierFromScratch(pretrained=pretrained).fit(X[1000:1100, :10], y[1000:1100])


def test_a_cloned_plain_model_points_to_frozen_estimator(digits, pretrained):
    X, y = digits
    cloned = clone(MLPClassifierFromScratch(pretrained=pretrained))
    with pytest.raises(ValueError, match="FrozenEstimator"):
        cloned.fit(X[1000:1100], y[1000:1100] % 2)


def test_not_a_network_is_a_type_error(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    with pytest.raises(TypeError, match="pretrained must be a fitted MLPClassifierFromScratch"):
        MLPClassifierFromScratch(pretrained=LogisticRegression()).fit(X[:100], y[:100])


def test_a_pretrained_pipeline_says_to_pass_its_network_and_keep_its_preprocessing():
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = load_digits(return_X_y=True)  # raw pixels: the pipeline's scaler matters
    task = y < 5
    pipe = make_pipeline(StandardScaler(), MLPClassifierFromScratch(
        (32,), max_iter=40, random_state=0)).fit(X[task], y[task])
    with pytest.raises(TypeError, match=re.escape(
            "make_pipeline(FrozenEstimator(pipeline[:-1]), MLPClassifierFromScratch("
            "pretrained=FrozenEstimator(pipeline[-1])))")):
        MLPClassifierFromScratch(pretrained=FrozenEstimator(pipe)).fit(X[~task], y[~task])
    # What the error says to do trains, through cloning, on the pretraining's scaling.
    tuned = make_pipeline(FrozenEstimator(pipe[:-1]), MLPClassifierFromScratch(
        pretrained=FrozenEstimator(pipe[-1]), max_iter=30, random_state=0))
    assert cross_val_score(tuned, X[~task], y[~task], cv=3).mean() > 0.8
    tuned.fit(X[~task], y[~task])
    np.testing.assert_array_equal(tuned[0].estimator[0].mean_, pipe[0].mean_)
    np.testing.assert_array_equal(tuned[-1].coefs_[0].shape, pipe[-1].coefs_[0].shape)


def test_grid_search_over_frozen_layers_with_a_frozen_estimator(digits, pretrained):
    X, y = digits
    search = GridSearchCV(
        MLPClassifierFromScratch(pretrained=FrozenEstimator(pretrained), max_iter=30,
                                 random_state=0),
        {"n_frozen_layers": [0, 1, 2]}, cv=3,
    ).fit(X[1000:1150], y[1000:1150] % 2)
    assert np.all(search.cv_results_["mean_test_score"] > 0.6)
    best = search.best_estimator_
    np.testing.assert_array_equal(
        best.coefs_[0] == pretrained.coefs_[0], best.n_frozen_layers >= 1)
    # Each grid point, cloned as the search clones it, freezes exactly its first layers.
    for n_frozen in (0, 1, 2):
        model = clone(search.estimator).set_params(n_frozen_layers=n_frozen)
        model.fit(X[1000:1150], y[1000:1150] % 2)
        frozen = [np.array_equal(mine, theirs)
                  for mine, theirs in zip(model.coefs_, pretrained.coefs_, strict=True)]
        assert frozen == [layer < n_frozen for layer in range(len(frozen))]


def _accuracies(base, X, y, size, **params):
    """Test accuracy over 5 stratified draws of ``size`` training samples of ``(X, y)``: of a
    (64, 32) network trained from scratch, and of ``base`` fine-tuned with ``params``."""
    scratch, tuned = [], []
    for seed in range(5):
        train, test = train_test_split(np.arange(len(y)), train_size=size, stratify=y,
                                       random_state=seed)
        fresh = MLPClassifierFromScratch((64, 32), random_state=seed).fit(X[train], y[train])
        model = MLPClassifierFromScratch(pretrained=base, random_state=seed, **params)
        model.fit(X[train], y[train])
        scratch.append(fresh.score(X[test], y[test]))
        tuned.append(model.score(X[test], y[test]))
    return np.array(scratch), np.array(tuned)


def test_fine_tuning_at_the_defaults_beats_scratch_on_a_related_task(digits):
    # Pretrained to read the digit on 1,000 images; the new task, odd versus even, on 30
    # other images. The examples/plot_fine_tuning.py table has the other sizes and tasks.
    X, y = digits
    base = MLPClassifierFromScratch((64, 32), random_state=0).fit(X[:1000], y[:1000])
    scratch, tuned = _accuracies(base, X[1000:], y[1000:] % 2, 30)
    assert tuned.mean() - scratch.mean() > 0.01


def test_fine_tuning_at_the_defaults_costs_at_most_a_point_on_a_distant_task(digits):
    # Pretrained on the digits 0-4; the new task is reading 5-9 from 30 images. Without the
    # probe (fine_tuning="tune"), the random new output layer distorts the pretrained
    # features, and fine-tuning falls behind.
    X, y = digits
    base = MLPClassifierFromScratch((64, 32), random_state=0).fit(X[y < 5], y[y < 5])
    scratch, tuned = _accuracies(base, X[y >= 5], y[y >= 5], 30)
    _, without_probe = _accuracies(base, X[y >= 5], y[y >= 5], 30, fine_tuning="tune")
    assert tuned.mean() >= scratch.mean() - 0.01
    assert without_probe.mean() < scratch.mean() - 0.01


def test_only_a_fit_with_frozen_layers_splits_the_network(digits, pretrained, monkeypatch):
    """Fine-tuning only when asked: a plain fit, and a pretrained one with nothing frozen,
    train the whole network without passing through the frozen-layer split."""
    import skdnn._mlp_base

    calls = []

    def counted_split(*args):
        calls.append(args[3])
        return split(*args)

    monkeypatch.setattr(skdnn._mlp_base, "split", counted_split)
    X, y = digits
    options = dict(max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifierFromScratch((8,), **options).fit(X[:200], y[:200])
        MLPClassifierFromScratch(pretrained=FrozenEstimator(pretrained), **options).fit(
            X[:200], y[:200])
        assert calls == []
        MLPClassifierFromScratch(pretrained=FrozenEstimator(pretrained), n_frozen_layers=1,
                                 **options).fit(X[:200], y[:200])
    assert calls == [1]


def test_the_dead_unit_count_reads_each_hidden_layer_s_output():
    """The diagnosis counts, per hidden layer, the units that output 0 on every row, from one
    forward pass (it no longer borrows fine-tuning's split)."""
    from skdnn._mlp_base import _dead_units
    from skdnn.nn import Network

    network = Network([3, 4, 2, 1], "relu", "logistic")
    theta = np.random.default_rng(0).normal(size=network.size)
    params = network.unpack(theta)
    params.intercepts[0][[0, 2]] = -100.0  # units 0 and 2 of hidden layer 1 never fire
    params.intercepts[1][:] = 100.0, -100.0  # unit 0 of hidden layer 2 always fires, 1 never
    X = np.random.default_rng(1).normal(size=(50, 3))
    assert _dead_units(network, theta, X) == [(1, 2, 4), (2, 1, 2)]
