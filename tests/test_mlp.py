"""MLPClassifierFromScratch: behaviour, parity with scikit-learn, and bad input."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch
from skdnn.nn import HIDDEN_ACTIVATIONS

# Short fits that stop before converging are the point of these tests, not a fault.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_classes=3, n_samples=120, seed=0):
    X, y = make_classification(n_samples=n_samples, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _multilabel(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.3]).astype(int)
    return X, Y


def _flat(est):
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_
                           + list(getattr(est, "slopes_", []))])


@pytest.mark.parametrize("activation", ["relu", "prelu", "gelu"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_full_batch_sgd_epoch_is_one_gradient_step(activation, n_classes):
    X, y = _data(n_classes)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    est = MLPClassifierFromScratch(
        hidden_layer_sizes=(7, 5), activation=activation, solver="sgd", momentum=0.0,
        batch_size=len(y) + 10, shuffle=False, learning_rate="constant",
        learning_rate_init=0.05, alpha=0.3, max_iter=1, warm_start=True, random_state=0,
    )
    with pytest.warns(UserWarning, match="clipped"):
        est.fit(X, y, sample_weight=sample_weight)
    before = _flat(est)
    net = est._network()
    net.alpha = 0.3
    Y = est._label_binarizer.transform(y).astype(float)
    grad = np.empty_like(before)
    net.loss_and_gradient(before.copy(), grad, X, Y, sample_weight=sample_weight)
    with pytest.warns(UserWarning, match="clipped"):
        est.fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(_flat(est), before - 0.05 * grad, rtol=1e-12, atol=1e-14)


def _sklearn_twin(est, X, y):
    """A scikit-learn MLPClassifier carrying ``est``'s fitted weights."""
    twin = MLPClassifier(hidden_layer_sizes=est.hidden_layer_sizes, activation=est.activation,
                         max_iter=1, random_state=0)
    twin.fit(X, y)
    twin.coefs_ = [W.copy() for W in est.coefs_]
    twin.intercepts_ = [b.copy() for b in est.intercepts_]
    return twin


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_fitted_weights_in_sklearn_give_the_same_probabilities(activation, target):
    if target == "multilabel":
        X, y = _multilabel()
    else:
        X, y = _data(2 if target == "binary" else 4)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8, 6), activation=activation,
                                   max_iter=30, random_state=1).fit(X, y)
    twin = _sklearn_twin(est, X, y)
    np.testing.assert_allclose(est.predict_proba(X), twin.predict_proba(X), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(est.predict(X), twin.predict(X))


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_objective_equals_sklearn_objective(activation):
    X, y = _data(3)
    sample_weight = np.random.default_rng(3).uniform(0.1, 4.0, size=len(y))
    est = MLPClassifierFromScratch(hidden_layer_sizes=(9,), activation=activation, alpha=0.7,
                                   max_iter=5, random_state=0).fit(X, y)
    twin = _sklearn_twin(est, X, y)
    twin.alpha = 0.7
    Y = twin._label_binarizer.transform(y).astype(float)
    layer_units = [X.shape[1], 9, 3]
    activations = [X] + [None] * (len(layer_units) - 1)
    deltas = [None] * (len(activations) - 1)
    coef_grads = [np.empty((a, b)) for a, b in zip(layer_units[:-1], layer_units[1:], strict=True)]
    intercept_grads = [np.empty(b) for b in layer_units[1:]]
    sk_loss, sk_coef_grads, sk_intercept_grads = twin._backprop(
        X, Y, sample_weight, activations, deltas, coef_grads, intercept_grads)

    theta = _flat(est)
    grad = np.empty_like(theta)
    net = est._network()
    net.alpha = 0.7
    loss = net.loss_and_gradient(theta, grad, X, Y, sample_weight=sample_weight)
    assert loss == pytest.approx(sk_loss, rel=1e-10)
    sk_grad = np.concatenate([g.ravel() for g in sk_coef_grads + sk_intercept_grads])
    np.testing.assert_allclose(grad, sk_grad, rtol=1e-9, atol=1e-12)


class _StartsFrom(MLPClassifier):
    """scikit-learn's MLP with its initial weights replaced by ``self.start`` (its private
    ``_initialize`` is where it draws them)."""

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        self.coefs_, self.intercepts_ = ([a.copy() for a in w] for w in self.start)


@pytest.mark.parametrize("params", [
    dict(solver="adam", alpha=0.01),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.05),
    dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, learning_rate="invscaling",
         learning_rate_init=0.2),
])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_from_the_same_start_follows_sklearn_epoch_by_epoch(params, n_classes):
    # The same initial weights and batches (no shuffling): the objective, its gradient and the
    # optimiser's arithmetic are scikit-learn's, so every epoch's loss and the final weights
    # agree to rounding. Any difference in the maths would show here within a few steps.
    X, y = _data(n_classes, n_samples=300)
    common = dict(hidden_layer_sizes=(16, 8), batch_size=64, max_iter=8, tol=0.0,
                  n_iter_no_change=100, shuffle=False, random_state=0, **params)
    ours = MLPClassifierFromScratch(max_iter=1, **{k: v for k, v in common.items()
                                                   if k != "max_iter"}).fit(X, y)
    start = ([W.copy() for W in ours.coefs_], [b.copy() for b in ours.intercepts_])
    theirs = _StartsFrom(**common)
    theirs.start = start
    theirs.fit(X, y)
    ours = MLPClassifierFromScratch(warm_start=True, **common)
    ours.coefs_, ours.intercepts_ = start
    ours.fit(X, y)

    assert ours.n_iter_ == theirs.n_iter_ == 8
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(_flat(ours), _flat(theirs), rtol=1e-8, atol=1e-10)
    assert ours.t_ == theirs.t_


def _same_start_fits(X, y, **params):
    """skdnn's and scikit-learn's MLP fitted from the same initial weights (skdnn's draw)."""
    first = MLPClassifierFromScratch(**{**params, "max_iter": 1, "verbose": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch: only the draw counts
        first.fit(X, y)
    start = ([W.copy() for W in first.coefs_], [b.copy() for b in first.intercepts_])
    theirs = _StartsFrom(**params)
    theirs.start = start
    theirs.fit(X, y)
    ours = MLPClassifierFromScratch(warm_start=True, **params)
    ours.coefs_, ours.intercepts_ = start
    return ours.fit(X, y), theirs


def test_adaptive_learning_rate_divides_by_five_when_the_loss_stops_improving(capsys):
    # With tol above any epoch's gain, every epoch after the first fails to improve: after
    # n_iter_no_change + 1 = 3 such epochs (epochs 2-4, then 5-7) the rate drops to a fifth,
    # as in scikit-learn, whose loss curve from the same start must be the same.
    X, y = _data(3, n_samples=300)
    params = dict(hidden_layer_sizes=(16, 8), solver="sgd", learning_rate="adaptive",
                  learning_rate_init=0.1, momentum=0.5, tol=10.0, n_iter_no_change=2,
                  max_iter=8, batch_size=64, shuffle=False, random_state=0, verbose=True)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(8\) reached"):
        ours, theirs = _same_start_fits(X, y, **params)
    printed = capsys.readouterr().out.splitlines()
    drops = [line.split("Setting learning rate to ")[1] for line in printed
             if "Setting learning rate" in line]
    # Each drop is printed twice, by scikit-learn's fit and by ours.
    assert drops == ["0.020000", "0.004000"] * 2
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    # At a constant rate (and never stopping) the curves part in the fifth epoch, the first
    # at the lower rate.
    constant = MLPClassifierFromScratch(warm_start=True, **{
        **params, "verbose": False, "learning_rate": "constant", "n_iter_no_change": 8})
    constant.coefs_ = [W.copy() for W in theirs.start[0]]
    constant.intercepts_ = [b.copy() for b in theirs.start[1]]
    with pytest.warns(ConvergenceWarning):
        constant.fit(X, y)
    np.testing.assert_allclose(constant.loss_curve_[:4], ours.loss_curve_[:4], rtol=1e-12)
    assert not np.isclose(constant.loss_curve_[4], ours.loss_curve_[4], rtol=1e-6)


def test_verbose_prints_each_epochs_loss_and_why_training_stopped(capsys):
    X, y = _data(3, n_samples=300)
    params = dict(hidden_layer_sizes=(16, 8), batch_size=64, shuffle=False, random_state=0,
                  tol=10.0, n_iter_no_change=2, verbose=True)
    ours, theirs = _same_start_fits(X, y, **params)
    printed = capsys.readouterr().out
    ours_printed = printed[len(printed) // 2:]
    # Word for word what scikit-learn prints, and the losses are the fitted loss_curve_.
    assert printed == ours_printed * 2
    assert ours_printed.splitlines() == [
        *(f"Iteration {i}, loss = {loss:.8f}" for i, loss in enumerate(ours.loss_curve_, 1)),
        "Training loss did not improve more than tol=10.000000 for 2 consecutive epochs. "
        "Stopping.",
    ]
    assert ours.n_iter_ == theirs.n_iter_ == 4

    early = MLPClassifierFromScratch(**{**params, "early_stopping": True}).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:-1:2] == [f"Validation score: {score:f}" for score in early.validation_scores_]
    assert lines[-1].startswith("Validation score did not improve more than tol=10.000000")
    MLPClassifierFromScratch(**{**params, "verbose": False}).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_a_network_larger_than_one_block_trains_like_sklearn(solver):
    # The optimisers and the L2 term go over the flat parameters in blocks of 65,536: this
    # network's 92,700 weights fill one block and part of the next.
    X, y = _data(3, n_samples=150)
    params = dict(hidden_layer_sizes=(300, 300), solver=solver, alpha=0.1, batch_size=50,
                  max_iter=3, tol=0.0, shuffle=False, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ours, theirs = _same_start_fits(X, y, **params)
    assert sum(W.size for W in ours.coefs_) > 65_536
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(_flat(ours), _flat(theirs), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("loader", [load_digits, load_wine, load_breast_cancer])
def test_accuracy_at_least_sklearn_within_one_point(loader):
    X, y = loader(return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed, stratify=y)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        # The same budget for both, 50 epochs: neither converges at 150 either, and the
        # digits' test accuracies are within 0.01 of their 150-epoch values.
        params = dict(hidden_layer_sizes=(64,), max_iter=50, random_state=seed)
        ours.append(MLPClassifierFromScratch(**params).fit(X_train, y_train).score(X_test, y_test))
        theirs.append(MLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.01


def test_xor_is_learned_exactly_by_one_small_hidden_layer():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    for seed in range(5):
        est = MLPClassifierFromScratch(hidden_layer_sizes=(4,), activation="logistic",
                                       solver="lbfgs", random_state=seed).fit(X, y)
        np.testing.assert_array_equal(est.predict(X), y)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_sparse_and_dense_input_train_the_same_network(solver):
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=20, random_state=0)
    dense = MLPClassifierFromScratch(**params).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = MLPClassifierFromScratch(**params).fit(fmt(X), y)
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X),
                                   rtol=1e-7, atol=1e-10)


def test_float32_input_trains_and_predicts_in_float32():
    X, y = _data(3)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), activation="prelu", max_iter=10,
                                   random_state=0).fit(X.astype(np.float32), y)
    assert {a.dtype for a in est.coefs_ + est.intercepts_ + est.slopes_} == {np.dtype(np.float32)}
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32
    est64 = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    assert est64.fit(X, y).coefs_[0].dtype == np.float64


def test_dataframe_feature_names_and_string_labels():
    pd = pytest.importorskip("pandas")
    X, y = _data(3)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.array(["cat", "dog", "emu"])[y]
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    est.fit(frame, labels)
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(est.classes_, ["cat", "dog", "emu"])
    assert set(est.predict(frame)) <= {"cat", "dog", "emu"}


def test_multilabel_uses_one_sigmoid_per_label():
    X, Y = _multilabel()
    est = MLPClassifierFromScratch(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    est.fit(X, Y)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 3
    assert est.predict(X).shape == Y.shape
    assert (est.predict(X) == Y).mean() > 0.9


@pytest.mark.parametrize("early_stopping", [False, True])
def test_fitted_attributes_match_sklearn_names_types_and_shapes(early_stopping):
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(5, 4), max_iter=5, early_stopping=early_stopping,
                  random_state=0)
    ours = MLPClassifierFromScratch(**params).fit(X, y)
    theirs = MLPClassifier(**params).fit(X, y)
    for name in ["classes_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_", "t_", "n_iter_", "n_layers_", "n_outputs_",
                 "out_activation_", "n_features_in_"]:
        value, expected = getattr(ours, name), getattr(theirs, name)
        # Where scikit-learn has a NumPy float64 (a subclass of float), a float is the same.
        assert isinstance(expected, type(value)), (name, type(value), type(expected))
        if isinstance(expected, list):
            assert len(value) == len(expected), name
            for ours_item, their_item in zip(value, expected, strict=True):
                assert isinstance(their_item, type(ours_item)), (name, type(ours_item))
    assert [W.shape for W in ours.coefs_] == [W.shape for W in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == (4, 3, "softmax")
    assert ours.t_ == theirs.t_ and len(ours.loss_curve_) == ours.n_iter_ == 5


def test_constructor_has_every_sklearn_parameter_with_the_same_default():
    ours = MLPClassifierFromScratch().get_params()
    theirs = MLPClassifier().get_params()
    for name, value in theirs.items():
        assert name in ours, name
        assert ours[name] == value, name
    assert (ours["negative_slope"], ours["dropout"], ours["class_weight"]) == (0.01, 0.0, None)


def test_prelu_learns_one_slope_per_hidden_unit():
    X, y = _data(3)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(6, 4), activation="prelu", max_iter=50,
                                   random_state=0).fit(X, y)
    assert [s.shape for s in est.slopes_] == [(6,), (4,)]
    assert not np.allclose(np.concatenate(est.slopes_), 0.25)
    assert not hasattr(MLPClassifierFromScratch(max_iter=2).fit(X, y), "slopes_")


def test_warm_start_continues_from_weights_assigned_by_hand():
    X, y = _data(3)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0,
                                   learning_rate_init=1e-3, max_iter=1, warm_start=True,
                                   shuffle=False, batch_size=len(y), random_state=0).fit(X, y)
    rng = np.random.default_rng(7)
    est.coefs_ = [rng.normal(size=W.shape) for W in est.coefs_]
    est.intercepts_ = [rng.normal(size=b.shape) for b in est.intercepts_]
    assigned = _flat(est)
    est.fit(X, y)
    moved = _flat(est) - assigned
    assert 0 < np.abs(moved).max() < 0.01


def test_partial_fit_after_pickle_keeps_learning_what_predict_uses():
    X, y = _data(3)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(8,), random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    restored = pickle.loads(pickle.dumps(est))
    before = restored.predict_proba(X)
    for _ in range(5):
        restored.partial_fit(X, y)
    after = restored.predict_proba(X)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, _sklearn_twin(restored, X, y).predict_proba(X), atol=1e-12)
    # The Adam state went on from where it was, not from scratch.
    assert restored._optimizer_state["t"] == est._optimizer_state["t"] + 5


def test_partial_fit_is_unavailable_for_lbfgs():
    est = MLPClassifierFromScratch(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError) as info:
        est.partial_fit  # noqa: B018
    assert "lbfgs is not stochastic" in str(info.value.__cause__)


def test_early_stopping_restores_the_best_weights():
    X, y = _data(3, n_samples=300)
    params = dict(hidden_layer_sizes=(10,), early_stopping=True, random_state=0,
                  learning_rate_init=0.01, n_iter_no_change=5)
    est = MLPClassifierFromScratch(**params).fit(X, y)
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert len(est.validation_loss_curve_) == est.n_iter_ == len(est.loss_curve_)
    assert est.best_loss_ is None
    best_epoch = len(est.validation_scores_) - 1 - est.validation_scores_[::-1].index(
        est.best_validation_score_)
    # Training again for just as many epochs as it took to reach the best weights, the best
    # weights are the last ones: they must equal the weights early stopping restored.
    assert best_epoch < est.n_iter_ - 1
    again = MLPClassifierFromScratch(**params, max_iter=best_epoch + 1).fit(X, y)
    np.testing.assert_allclose(_flat(again), _flat(est))


def test_dropout_trains_differently_and_predicts_deterministically():
    X, y = _data(3)
    plain = MLPClassifierFromScratch(hidden_layer_sizes=(20,), max_iter=20, random_state=0)
    dropped = MLPClassifierFromScratch(hidden_layer_sizes=(20,), max_iter=20, random_state=0,
                                       dropout=0.5)
    plain.fit(X, y)
    dropped.fit(X, y)
    assert not np.allclose(_flat(plain), _flat(dropped))
    # Inverted dropout scales the kept units while training, so prediction is the plain
    # forward pass of the trained weights, with no mask and no rescaling: scikit-learn's,
    # which knows no dropout, gives the same probabilities from those weights.
    np.testing.assert_allclose(dropped.predict_proba(X),
                               _sklearn_twin(dropped, X, y).predict_proba(X), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="dropout > 0 needs a stochastic solver"):
        MLPClassifierFromScratch(solver="lbfgs", dropout=0.1).fit(X, y)


def test_balanced_class_weight_equals_balanced_sample_weights():
    X, y = _data(3)
    keep = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y != 0)]
    X, y = X[keep], y[keep]
    params = dict(hidden_layer_sizes=(6,), max_iter=30, random_state=0)
    by_class = MLPClassifierFromScratch(class_weight="balanced", **params).fit(X, y)
    by_sample = MLPClassifierFromScratch(**params).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(_flat(by_class), _flat(by_sample), rtol=1e-10)
    unweighted = MLPClassifierFromScratch(**params).fit(X, y)
    assert not np.allclose(_flat(by_class), _flat(unweighted))


def test_class_weight_dict_scales_the_samples_of_a_class():
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(6,), max_iter=30, random_state=0)
    by_class = MLPClassifierFromScratch(class_weight={0: 3.0}, **params).fit(X, y)
    by_sample = MLPClassifierFromScratch(**params).fit(X, y, sample_weight=np.where(y == 0, 3, 1))
    np.testing.assert_allclose(_flat(by_class), _flat(by_sample), rtol=1e-10)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), "NaN"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y),
         "infinity"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
    ],
    ids=["nan", "inf", "empty"],
)
def test_bad_training_input_is_a_clear_value_error(mutate, match):
    X, y = mutate(*_data(3))
    with pytest.raises(ValueError, match=match):
        MLPClassifierFromScratch(max_iter=5).fit(X, y)


def test_a_single_class_target_is_fitted_and_predicted_as_sklearn_does():
    X, y = _data(3)
    y = np.full(len(y), "only")
    ours = MLPClassifierFromScratch(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    theirs = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    ours.fit(X, y)
    theirs.fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ["only"])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # One column per class (scikit-learn gives two columns here, [1 - p, p]).
    np.testing.assert_array_equal(ours.predict_proba(X), np.ones((len(y), 1)))


def test_early_stopping_with_a_one_member_class_cannot_stratify_and_says_so():
    X = [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7]]
    with pytest.raises(ValueError, match="least populated class"):
        MLPClassifierFromScratch(early_stopping=True).fit(X, [0, 0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="least populated class"):
        MLPClassifierFromScratch(early_stopping=True).fit(X, [0, 0, 1, 1, 2, 2][:5] + [3])


def test_partial_fit_with_early_stopping_is_a_clear_error():
    X, y = _data(3)
    est = MLPClassifierFromScratch(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        est.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(est, "coefs_")
    # Unavailable, as for lbfgs: scikit-learn's checks look for partial_fit with hasattr.
    assert not hasattr(est, "partial_fit")
    assert hasattr(est.set_params(early_stopping=False), "partial_fit")


def test_negative_sample_weights_and_wrong_feature_count_are_clear_errors():
    X, y = _data(3)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPClassifierFromScratch(max_iter=5).fit(X, y, sample_weight=-np.ones(len(y)))
    est = MLPClassifierFromScratch(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])


def test_invalid_hidden_layer_sizes_is_a_clear_error():
    X, y = _data(3)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifierFromScratch(hidden_layer_sizes=(5, 0)).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_far_too_large_learning_rate_is_an_error_naming_it_that_keeps_the_model(solver):
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(20,), solver=solver, activation="identity", max_iter=30,
                  random_state=0)
    diverging = MLPClassifierFromScratch(learning_rate_init=1e8, **params)
    named = r"diverged in epoch \d+: .*learning_rate_init=100000000\.0"
    with pytest.raises(ValueError, match=named):
        diverging.fit(X * 1e3, y)
    with pytest.raises(NotFittedError):
        diverging.predict(X)
    # A fitted model that diverges when refitted keeps the weights it had.
    est = MLPClassifierFromScratch(learning_rate_init=0.01, **params).fit(X, y)
    before = _flat(est)
    with pytest.raises(ValueError, match="learning_rate_init"):
        est.set_params(learning_rate_init=1e8).fit(X * 1e3, y)
    np.testing.assert_array_equal(_flat(est), before)


def test_lbfgs_has_no_learning_rate_to_diverge_with():
    # lbfgs chooses its steps by line search: learning_rate_init plays no part, so the value
    # that makes sgd and adam diverge trains exactly the same finite weights as the default.
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(20,), solver="lbfgs", activation="identity", max_iter=30,
                  random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        huge = MLPClassifierFromScratch(learning_rate_init=1e8, **params).fit(X * 1e3, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        default = MLPClassifierFromScratch(**params).fit(X * 1e3, y)
    assert np.isfinite(_flat(huge)).all()
    np.testing.assert_array_equal(_flat(huge), _flat(default))


def test_predict_log_proba_is_finite_for_a_saturated_network():
    X, y = _data(3)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    log_proba = est.predict_log_proba(X * 1e4)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(np.exp(log_proba).sum(axis=1), 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_saturated_probabilities_stay_machine_epsilon_from_0_and_1(n_classes, dtype):
    # What predict_proba's docstring promises, for softmax and sigmoid outputs alike.
    X, y = _data(n_classes)
    X = X.astype(dtype)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    proba = est.predict_proba(X * 1e4)
    eps = np.finfo(dtype).eps
    assert proba.dtype == dtype
    assert proba.min() == eps and proba.max() == 1 - eps  # saturated: clipped on both sides
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=n_classes * eps)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_activation_learns_the_data(activation):
    X, y = _data(3, n_samples=200)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(16,), activation=activation,
                                   solver="lbfgs", max_iter=300, random_state=0).fit(X, y)
    # A network of identity units is a linear model, which this data set defeats.
    assert est.score(X, y) > (0.7 if activation == "identity" else 0.95)


def test_partial_fit_epochs_continue_the_random_stream_like_fit():
    # Shuffles and dropout masks go on where the previous call left them: three calls of
    # partial_fit train exactly as one fit of three epochs.
    X, y = _data(3)
    params = dict(hidden_layer_sizes=(8,), dropout=0.3, batch_size=32, random_state=0)
    stepwise = MLPClassifierFromScratch(**params)
    for _ in range(3):
        stepwise.partial_fit(X, y, classes=np.unique(y))
    at_once = MLPClassifierFromScratch(max_iter=3, **params).fit(X, y)
    np.testing.assert_allclose(_flat(stepwise), _flat(at_once), rtol=1e-12)


def test_warm_start_trains_weights_set_on_a_new_estimator():
    # Weights trained elsewhere, assigned to an estimator that was never fitted.
    X, y = _data(2)
    rng = np.random.default_rng(0)
    est = MLPClassifierFromScratch(hidden_layer_sizes=(5,), warm_start=True, solver="lbfgs",
                                   random_state=0)
    est.coefs_ = [rng.normal(size=(X.shape[1], 5)), rng.normal(size=(5, 1))]
    est.intercepts_ = [np.zeros(5), np.zeros(1)]
    start = est.coefs_[0].copy()
    est.fit(X, y)
    assert est.coefs_[0].shape == start.shape and not np.array_equal(est.coefs_[0], start)
    assert est.score(X, y) > 0.8
    est.coefs_ = [rng.normal(size=(3, 5)), rng.normal(size=(5, 1))]  # the wrong input size
    with pytest.raises(ValueError, match=r"has shape \(3, 5\); this network expects \(6, 5\)"):
        est.fit(X, y)


@pytest.mark.parametrize("dtype, sparse", [(np.float64, False), (np.float32, False),
                                           (np.float64, True)])
@pytest.mark.parametrize("Estimator", [MLPClassifierFromScratch, MLPRegressorFromScratch])
def test_prediction_in_blocks_gives_the_same_values_within_the_working_memory(
        Estimator, dtype, sparse):
    import tracemalloc

    from sklearn import config_context

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 20)).astype(dtype), rng.integers(0, 3, 300)
    est = Estimator((256, 256), max_iter=2, random_state=0).fit(X, y)
    X_big = rng.normal(size=(20_000, 20)).astype(dtype)
    X_big = sp.csr_matrix(X_big) if sparse else X_big
    # Every row at once: two arrays of 20,000 x 256 hidden values, 41 MB in float64.
    network, theta = est.as_engine(dtype=dtype)
    whole = network.outputs(theta, X_big)
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    with config_context(working_memory=4):
        tracemalloc.start()
        try:
            blocked = predict(X_big)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    np.testing.assert_allclose(blocked.reshape(whole.shape), whole,
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert peak < 4 * 2**20 + 4 * blocked.nbytes  # blocks of 4 MiB, and the result


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_mini_batch_training_keeps_blas_s_threads_and_the_perceptron_uses_one(monkeypatch,
                                                                             solver):
    # On an idle machine two BLAS threads made the MLPs' fits faster (benchmarks/README.md,
    # "BLAS threads of training"); the perceptron's products are too small to share.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from skdnn import PerceptronClassifier
    from skdnn.nn import Network, perceptron

    def blas_threads():
        return max(info["num_threads"] for info in threadpoolctl.threadpool_info()
                   if info["user_api"] == "blas")

    outside = blas_threads()
    if outside < 2:
        pytest.skip("BLAS runs one thread here")
    seen = {}
    step, epoch = Network.loss_and_gradient, perceptron.minibatch_epoch

    def recording(original, key):
        def wrapped(*args, **kwargs):
            seen.setdefault(key, blas_threads())
            return original(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(Network, "loss_and_gradient", recording(step, "mlp"))
    monkeypatch.setattr(perceptron, "minibatch_epoch", recording(epoch, "perceptron"))
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifierFromScratch(solver=solver, max_iter=1, random_state=0).fit(X, y)
        PerceptronClassifier(max_iter=1, random_state=0).fit(X, y)
    assert seen == {"mlp": outside, "perceptron": 1}
