"""MLPClassifierFromScratch: the multi-layer perceptron as a scikit-learn estimator.

This module is the estimator layer: it validates input, encodes labels, splits off the
early-stopping set, runs the training loop and stores the fitted arrays. All calculus lives
in the engine, :mod:`skdnn.nn`.
"""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import CallbackSupportMixin, EpochCallbacks, combined_sample_weight, generator
from ._diagnostics import check_learned, scale_advice
from ._fine_tuning import check_architecture, linear_probe
from .nn import optimizers
from .nn.activations import HIDDEN_ACTIVATIONS, activation_param
from .nn.init import glorot_uniform
from .nn.losses import log_loss, output_activation_for, output_probabilities, prior_log_loss
from .nn.network import Network, Params
from .nn.workspace import minibatches

_DIVERGENCE_FACTOR = 1e4


def _copy_hidden_layers(source, target):
    """Copy the hidden layers' weights, biases and slopes of ``source`` into ``target``
    (both :class:`Params`); the output layer of ``target`` is left as it is."""
    pairs = zip(source.coefs[:-1] + source.intercepts[:-1] + source.slopes,
                target.coefs[:-1] + target.intercepts[:-1] + target.slopes, strict=True)
    for src, dst in pairs:
        dst[...] = src


def _split_frozen(network, theta, X, n_frozen):
    """Split a network whose first ``n_frozen`` weight layers are frozen.

    Returns ``(trained, trained_theta, features, to_full)``: the network of the layers that
    train, its parameters (a copy), its input (the frozen layers' output on ``X``, or ``X``
    itself when nothing is frozen), and a function that puts trained parameters back into a
    copy of the full vector, frozen values untouched bit for bit.
    """
    if n_frozen == 0:
        return network, theta, X, np.copy
    units, hidden = network.layer_units, network.hidden
    params = network.unpack(theta)
    # The frozen front: its last layer's pre-activation, then the hidden activation.
    front = Network(units[: n_frozen + 1], hidden.name, network.out_activation,
                    negative_slope=network.negative_slope, dtype=network.dtype)
    front_params = Params(params.coefs[:n_frozen], params.intercepts[:n_frozen],
                          params.slopes[: n_frozen - 1])
    z = front.logits(front_params, X)
    slopes = params.slopes[n_frozen - 1] if network.has_slopes else None
    features = hidden.forward(z, activation_param(hidden.name, slopes=slopes,
                                                  negative_slope=network.negative_slope), z)
    trained = Network(units[n_frozen:], hidden.name, network.out_activation,
                      negative_slope=network.negative_slope, dtype=network.dtype)
    trained_theta = trained.pack(params.coefs[n_frozen:], params.intercepts[n_frozen:],
                                 params.slopes[n_frozen:])

    def to_full(train_theta):
        full = theta.copy()
        top, full_params = trained.unpack(train_theta), network.unpack(full)
        for dst, src in zip(full_params.coefs[n_frozen:] + full_params.intercepts[n_frozen:]
                            + full_params.slopes[n_frozen:],
                            top.coefs + top.intercepts + top.slopes, strict=True):
            dst[...] = src
        return full

    return trained, trained_theta, features, to_full


class MLPClassifierFromScratch(ClassifierMixin, CallbackSupportMixin, BaseEstimator):
    """Multi-layer perceptron classifier, trained by backpropagation, in NumPy.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same parameters,
    defaults, fitted attributes and objective, plus more hidden activations, dropout and
    class weights. It minimises

    .. math::

        \\frac{\\sum_i w_i \\, \\ell(y_i, p(x_i))}{\\sum_i w_i}
        + \\frac{\\alpha}{2 \\sum_i w_i} \\sum_l \\lVert W_l \\rVert_F^2

    with ``ell`` the cross-entropy of a softmax output (multiclass) or of sigmoid outputs
    (binary: one unit; multilabel: one per label), and ``w_i`` the sample weight times the
    class weight of sample ``i``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        Units per hidden layer: the *width* of each layer; its length is the *depth*.
    activation : str, default="relu"
        Hidden activation, any trainable entry of :data:`skdnn.nn.ACTIVATIONS`:
        ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"prelu"`` (one learned slope per hidden unit, starting at 0.25), ``"elu"``,
        ``"gelu"``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights.
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)`` for ``"auto"``. Not used by lbfgs.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of the sgd step size.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Epochs for sgd/adam, iterations for lbfgs.
    shuffle : bool, default=True
        Shuffle the samples every epoch (sgd/adam).
    random_state : int, RandomState instance or None, default=None
        Seeds the one generator that draws initial weights, shuffles, dropout masks and the
        validation split.
    tol : float, default=1e-4
    verbose : bool, default=False
        Print the loss every epoch.
    warm_start : bool, default=False
        Continue from the current ``coefs_`` / ``intercepts_`` (also ones set by hand).
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the data, stop when its accuracy
        stops improving, and keep the best weights seen.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        Maximum number of loss evaluations of lbfgs.
    negative_slope : float, default=0.01
        Slope of ``"leaky_relu"`` for negative inputs.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit while training (inverted dropout: the
        survivors are scaled by ``1 / (1 - dropout)``, so prediction is deterministic and
        needs no rescaling). Only with ``solver="sgd"`` or ``"adam"``.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights. ``"balanced"`` uses
        ``sum(w) / (n_classes * weighted class count)``; in ``partial_fit`` the counts are
        those of the batch. For multilabel targets only ``"balanced"``, per label.
    early_stopping_metric : {"score", "loss"}, default="score"
        What early stopping watches on the validation set: ``"score"``, the accuracy, as
        scikit-learn does (at an equal accuracy, a validation loss lower by ``tol`` also
        counts as an improvement, so the flat stretches of accuracy early in training do not
        stop it); or ``"loss"``, the validation log-loss. The weights of the best epoch by
        that metric are restored at the end.
    pretrained : MLPClassifierFromScratch, FrozenEstimator or None, default=None
        A fitted network to fine-tune (transfer learning). ``fit`` copies its hidden layers
        (weights, biases, PReLU slopes) and takes its ``hidden_layer_sizes``, ``activation``
        and ``negative_slope``: this estimator's own must be left at their defaults or
        equal the pretrained ones, else ``fit`` raises a ValueError naming the conflict. A
        new output layer is initialised for the classes of ``y``, which may differ from the
        pretrained task's. ``pretrained`` itself is never modified. ``clone`` (and so
        ``GridSearchCV`` and ``cross_val_score``) turns an estimator-valued parameter into an
        unfitted copy: to keep the fitted network through cloning, pass
        ``sklearn.frozen.FrozenEstimator(model)``. A plain fitted model works when this
        estimator is fitted directly.
    n_frozen_layers : int, default=0
        How many of the first weight layers (each with its bias and PReLU slopes) stay
        fixed, bit for bit, during training; at most the number of hidden layers, as the
        output layer always trains. The frozen layers act as a fixed feature map: their
        output is computed once per fit, and dropout and the L2 penalty apply to the layers
        that train (the penalty of the frozen weights is a constant left out of
        ``loss_``). Without ``pretrained``, the frozen layers keep their initial (random)
        or current weights.
    fine_tuning : {"probe_then_tune", "tune"}, default="probe_then_tune"
        How ``fit`` starts from ``pretrained`` (unused without it). ``"probe_then_tune"``
        first fits the new output layer alone on the pretrained features (every hidden
        layer frozen: a logistic regression, solved by L-BFGS to convergence with an L2
        penalty ``alpha=100``, see :mod:`skdnn._fine_tuning`), then trains as ``solver``
        says from there, with ``n_frozen_layers`` frozen. ``"tune"`` trains from a random
        new output layer at once, which lets its first, wrong gradients distort the
        pretrained features. ``partial_fit`` never probes. Measured on digits transfer
        tasks (README, "Fine-tuning"), probing first gains 1.5 to 8.4 points over training
        from scratch when the tasks are related and stays within 0.5 points when they are
        distant, where ``"tune"`` loses up to 3.8 points.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        ``coefs_[l]`` has shape ``(layer_units[l], layer_units[l + 1])``.
    intercepts_ : list of ndarray
        ``intercepts_[l]`` has shape ``(layer_units[l + 1],)``.
    slopes_ : list of ndarray
        Learned PReLU slopes, one array of shape ``(h_l,)`` per hidden layer; only with
        ``activation="prelu"``.
    loss_ : float
        The objective at the end of training.
    best_loss_ : float or None
        Lowest training loss seen (sgd/adam without early stopping).
    loss_curve_ : list of float
        The objective after each epoch (sgd/adam) or iteration (lbfgs).
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping.
    best_validation_score_ : float or None
        Validation accuracy of the restored (best) weights, with early stopping.
    validation_loss_curve_ : list of float or None
        Validation log-loss per epoch with early stopping (no L2 term).
    best_validation_loss_ : float or None
        Validation log-loss of the restored weights, with early stopping.
    t_ : int
        Training samples seen.
    n_iter_ : int
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
    out_activation_ : {"softmax", "logistic"}
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` has string column names.

    Notes
    -----
    The engine (:mod:`skdnn.nn`) holds the math: the forward pass
    ``[n_samples x n_features] . [n_features x h_1] -> ... -> [n_samples x n_outputs]``, the
    backward pass by the chain rule, and the optimiser steps. All parameters are trained as
    one flat vector; ``coefs_``, ``intercepts_`` and ``slopes_`` are views of it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                                random_state=0).fit(X, y)
    >>> [W.shape for W in clf.coefs_]
    [(4, 16), (16, 3)]
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "negative_slope": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "early_stopping_metric": [StrOptions({"score", "loss"})],
        "pretrained": [HasMethods(["predict_proba"]), None],
        "n_frozen_layers": [Interval(Integral, 0, None, closed="left")],
        "fine_tuning": [StrOptions({"probe_then_tune", "tune"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        negative_slope=0.01,
        dropout=0.0,
        class_weight=None,
        early_stopping_metric="score",
        pretrained=None,
        n_frozen_layers=0,
        fine_tuning="probe_then_tune",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.class_weight = class_weight
        self.early_stopping_metric = early_stopping_metric
        self.pretrained = pretrained
        self.n_frozen_layers = n_frozen_layers
        self.fine_tuning = fine_tuning

    # -- public API ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPClassifierFromScratch
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of sgd/adam over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call.

        Returns
        -------
        self : MLPClassifierFromScratch
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Probability of each class, shape (n_samples, n_classes), ordered as ``classes_``."""
        check_is_fitted(self)
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (finite: no probability is exactly 0)."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels (or label indicators for multilabel targets)."""
        check_is_fitted(self)
        return self._labels(self._forward(X))

    # -- forward helpers ------------------------------------------------------------------------
    def _network(self, dtype=None):
        """The fitted network's structure (in ``dtype``, the weights' by default)."""
        layer_units = [W.shape[0] for W in self.coefs_] + [self.coefs_[-1].shape[1]]
        return Network(
            layer_units,
            self._hidden_spec["activation"],
            self.out_activation_,
            negative_slope=self._hidden_spec["negative_slope"],
            dtype=self.coefs_[0].dtype if dtype is None else dtype,
        )

    def _params(self):
        return Params(list(self.coefs_), list(self.intercepts_), list(getattr(self, "slopes_", [])))

    def _forward(self, X):
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        return self._network().predict_proba(self._params(), X)

    def _labels(self, proba):
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    # -- training ---------------------------------------------------------------------------
    def _pretrained_model(self):
        """The fitted network inside ``pretrained`` (unwrapping a FrozenEstimator), or None."""
        model = self.pretrained
        if isinstance(model, FrozenEstimator):
            model = model.estimator
        if model is None:
            return None
        if not isinstance(model, MLPClassifierFromScratch):
            raise TypeError(
                "pretrained must be a fitted MLPClassifierFromScratch (or a FrozenEstimator "
                f"of one); got {type(model).__name__}."
            )
        if not model.__sklearn_is_fitted__():
            raise ValueError(
                "pretrained is an unfitted MLPClassifierFromScratch. If this estimator was "
                "cloned (GridSearchCV, cross_val_score and clone do that), the fitted network "
                "was dropped: pass pretrained=sklearn.frozen.FrozenEstimator(model) to keep "
                "it through cloning."
            )
        return model

    def _n_frozen(self, n_hidden):
        if self.n_frozen_layers > n_hidden:
            raise ValueError(
                f"n_frozen_layers={self.n_frozen_layers} is more than the {n_hidden} hidden "
                "layer(s) of the network; the output layer always trains."
            )
        return self.n_frozen_layers

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {classes}."
                )
            if len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        # Boolean one-hot targets (as scikit-learn keeps them): an eighth of float64's memory;
        # the loss reads them as 0 and 1 batch by batch.
        Y = self._label_binarizer.transform(y).astype(bool)
        return X, y, Y

    def _sample_weight(self, sample_weight, X, y, incremental):
        multilabel = self._label_binarizer.y_type_.startswith("multilabel")
        if multilabel:
            # Each label is its own binary problem: weights multiply over the labels, as
            # sklearn.utils.class_weight.compute_sample_weight does for multi-output targets.
            if self.class_weight is not None and self.class_weight != "balanced":
                raise ValueError(
                    "For multilabel targets, class_weight must be None or 'balanced'; a dict "
                    "cannot say which label its keys refer to."
                )
            if self.class_weight == "balanced":
                per_label = compute_sample_weight("balanced", y)
                sample_weight = per_label if sample_weight is None else (
                    per_label * np.asarray(sample_weight, dtype=np.float64))
            return combined_sample_weight(sample_weight, X, None, None, None, X.dtype)
        y_index = np.searchsorted(self.classes_, y)
        sample_weight = combined_sample_weight(
            sample_weight, X, y_index, self.classes_, self.class_weight, X.dtype
        )
        if not incremental:
            counted = y_index if sample_weight is None else y_index[sample_weight > 0]
            if np.unique(counted).size < 2:
                raise ValueError(
                    "The target needs samples of at least 2 classes (with a positive weight) to "
                    f"train a classifier; got 1 class: {self.classes_[counted[:1]]}."
                )
        return sample_weight

    def _fit(self, X, y, sample_weight, incremental):
        # Overflow is detected by checking the loss and the weights after each epoch (and
        # raised as a ValueError), not by NumPy's warnings, which hostile input (values
        # near 1e300) would otherwise set off deep inside the engine.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fit_checked(X, y, sample_weight, incremental)

    def _fit_checked(self, X, y, sample_weight, incremental):
        hidden_sizes = self._hidden_sizes()
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 needs a stochastic solver ('sgd' or 'adam'): random masks make "
                "the objective noisy, which breaks lbfgs's line search."
            )
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if self.solver == "lbfgs":  # scipy's last iteration begun is never run: one more
            callbacks = EpochCallbacks(self, X, y, sample_weight, self.max_iter + 1, "iteration")
        else:
            callbacks = EpochCallbacks(self, X, y, sample_weight,
                                       1 if incremental else self.max_iter, "epoch")
        sample_weight = self._sample_weight(sample_weight, X, y, incremental)
        if incremental and not first_pass and hasattr(self, "_rng_state"):
            # partial_fit goes on with the random stream (shuffles, dropout masks) where the
            # previous call left it, rather than repeating the same draws every call.
            rng = np.random.default_rng()
            rng.bit_generator.state = self._rng_state
        else:
            rng = generator(self.random_state)

        out_activation = output_activation_for(self._label_binarizer.y_type_)
        base = self._pretrained_model() if first_pass else None
        if base is not None:  # fine-tuning: the pretrained network's hidden layers
            if X.shape[1] != base.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the pretrained network takes "
                    f"{base.n_features_in_}: fine-tuning needs the same input features."
                )
            hidden_sizes = [W.shape[1] for W in base.coefs_[:-1]]
            spec = dict(base._hidden_spec)
            check_architecture(self, hidden_sizes, spec)
        elif first_pass:
            spec = {"activation": self.activation, "negative_slope": self.negative_slope}
        else:  # continue the current network, whatever built it (a fit, or a user's hands)
            hidden_sizes = [np.shape(W)[1] for W in self.coefs_[:-1]]
            spec = dict(getattr(self, "_hidden_spec", None) or {
                "activation": self.activation, "negative_slope": self.negative_slope})
        layer_units = [X.shape[1], *hidden_sizes, Y.shape[1]]
        network = Network(layer_units, spec["activation"], out_activation,
                          negative_slope=spec["negative_slope"], dtype=X.dtype)
        if first_pass:
            init = partial(glorot_uniform, activation=spec["activation"], dtype=X.dtype)
            theta = network.init_params(rng, init)
            if base is not None:
                _copy_hidden_layers(base._params(), network.unpack(theta))
                if self.fine_tuning == "probe_then_tune" and not incremental:
                    theta = self._probe(network, theta, X, Y, sample_weight)
            history = {"loss_curve_": [], "t_": 0, "n_iter_": 0}
            optimizer_state = None
        else:
            # Pack the current parameters, including ones a user assigned by hand.
            theta = network.pack(self.coefs_, self.intercepts_, getattr(self, "slopes_", ()))
            history = {"loss_curve_": list(getattr(self, "loss_curve_", [])),
                       "t_": getattr(self, "t_", 0), "n_iter_": getattr(self, "n_iter_", 0)}
            # Only partial_fit resumes the optimiser; a warm-started fit starts it anew.
            optimizer_state = getattr(self, "_optimizer_state", None) if incremental else None

        n_epochs_before = len(history["loss_curve_"])
        # Frozen layers are a fixed feature map: compute their output once, train the layers
        # above it on that output as a smaller network, and put the two back together.
        trained, train_theta, X_train, to_full = _split_frozen(
            network, theta, X, self._n_frozen(len(hidden_sizes))
        )

        def fitted_state(train_theta):
            return self._fitted_state(network, to_full(train_theta), spec)

        if self.solver == "lbfgs":
            train_theta = self._fit_lbfgs(trained, train_theta, X_train, Y, sample_weight,
                                          history, callbacks, fitted_state)
        else:
            if sp.issparse(X_train):
                X_train = X_train.tocsr()  # row slicing for mini-batches
            train_theta = self._fit_stochastic(
                trained, train_theta, X_train, y, Y, sample_weight, rng, history,
                optimizer_state, incremental, first_pass, callbacks, fitted_state,
            )
        theta = to_full(train_theta)
        if not (np.isfinite(theta).all() and np.isfinite(history.get("loss_", 0.0))):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed. " + scale_advice(X)
            )
        # partial_fit is judged on all its calls' losses, and not on one epoch's accuracy.
        check_learned(
            history["loss_curve_"][0 if incremental else n_epochs_before:] or [history["loss_"]],
            prior_log_loss(Y, out_activation, sample_weight), X,
            None if incremental else partial(self._training_accuracy, network, theta, X, y,
                                             sample_weight),
        )
        history["_rng_state"] = rng.bit_generator.state  # a plain dict
        # Commit the fitted state only now, so a failed fit leaves the estimator as it was.
        if hasattr(self, "slopes_") and not network.has_slopes:
            del self.slopes_
        for name, value in {**self._fitted_state(network, theta, spec), **history}.items():
            setattr(self, name, value)
        callbacks.end_fit()
        return self

    def _probe(self, network, theta, X, Y, sample_weight):
        """Fit the new output layer alone on the pretrained features (see
        :func:`skdnn._fine_tuning.linear_probe`); the hidden layers are kept bit for bit."""
        head, head_theta, features, to_full = _split_frozen(
            network, theta, X, network.n_weight_layers - 1)
        return to_full(linear_probe(head, head_theta, features, Y, sample_weight=sample_weight))

    def _training_accuracy(self, network, theta, X, y, sample_weight):
        """Accuracy on ``(X, y)`` of ``theta``, and of predicting the most frequent class."""
        proba = network.predict_proba(network.unpack(theta), X)
        score = accuracy_score(y, self._labels(proba), sample_weight=sample_weight)
        prior = DummyClassifier(strategy="prior").fit(X, y, sample_weight)
        return score, prior.score(X, y, sample_weight)

    def _fitted_state(self, network, theta, spec):
        """The fitted attributes of ``network`` with parameters ``theta`` (views of it)."""
        params = network.unpack(theta)
        state = {"coefs_": params.coefs, "intercepts_": params.intercepts,
                 "n_layers_": len(network.layer_units), "n_outputs_": network.layer_units[-1],
                 "out_activation_": network.out_activation, "_hidden_spec": spec}
        if network.has_slopes:
            state["slopes_"] = params.slopes
        return state

    def _fit_lbfgs(self, network, theta, X, Y, sample_weight, history, callbacks, fitted_state):
        dtype = network.dtype
        grad = np.empty(network.size, dtype=dtype)
        curve = history["loss_curve_"]

        def objective(x):
            loss = network.loss_and_gradient(
                x.astype(dtype, copy=False), grad, X, Y,
                sample_weight=sample_weight, alpha=self.alpha,
            )
            return loss, grad.astype(np.float64)

        def record(intermediate_result):
            curve.append(float(intermediate_result.fun))
            callbacks.end_epoch(partial(fitted_state, intermediate_result.x.astype(dtype)))
            callbacks.begin_epoch()

        # As scipy reports only finished iterations, the last iteration begun never runs.
        callbacks.begin_epoch()

        result = scipy.optimize.minimize(
            objective,
            theta.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        callbacks.end_epoch()
        history["n_iter_"] = _check_optimize_result("lbfgs", result, self.max_iter)
        history["loss_"] = float(result.fun)
        return result.x.astype(dtype)

    def _validation_split(self, X, y, Y, sample_weight, rng):
        """Stratified hold-out set for early stopping (not stratified for multilabel)."""
        stratify = y if Y.shape[1] == 1 or self._label_binarizer.y_type_ == "multiclass" else None
        arrays = [X, y, Y] + ([] if sample_weight is None else [sample_weight])
        seed = int(rng.integers(np.iinfo(np.int32).max))
        n_samples = X.shape[0]
        # At least 2 validation samples, and one per class when stratifying.
        n_val = max(int(np.ceil(self.validation_fraction * n_samples)), 2)
        if stratify is not None:
            n_val = max(n_val, len(self.classes_))
        if n_samples - n_val < 2:
            raise ValueError(
                f"The validation set is too small: {n_samples} samples cannot be split into a "
                f"training set and a validation set of {n_val}. Increase the size of your "
                "dataset, or set early_stopping=False."
            )
        try:
            parts = train_test_split(*arrays, test_size=n_val, random_state=seed, stratify=stratify)
        except ValueError:
            # Too few samples of some class to stratify: fall back to a plain random split.
            parts = train_test_split(*arrays, test_size=n_val, random_state=seed)
        train, val = parts[0::2], parts[1::2]
        if sample_weight is None:
            train.append(None)
            val.append(None)
        return train, val

    def _fit_stochastic(self, network, theta, X, y, Y, sample_weight, rng, history,
                        optimizer_state, incremental, first_pass, callbacks, fitted_state):
        # partial_fit sees one batch at a time: like SGDClassifier, it does not early-stop.
        early_stopping = self.early_stopping and not incremental
        if early_stopping:
            (X_train, _, Y_train, sw_train), (X_val, y_val, Y_val, sw_val) = (
                self._validation_split(X, y, Y, sample_weight, rng)
            )
            history.update(validation_scores_=[], validation_loss_curve_=[],
                           best_validation_score_=-np.inf, best_loss_=None)
            best_validation_loss = np.inf
        else:
            X_train, Y_train, sw_train = X, Y, sample_weight
            if first_pass or not hasattr(self, "best_loss_") or self.best_loss_ is None:
                history.update(best_loss_=np.inf)
            else:
                history.update(best_loss_=self.best_loss_)
            history.update(validation_scores_=None, validation_loss_curve_=None,
                           best_validation_score_=None, best_validation_loss_=None)

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to "
                    "be clipped", stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        if optimizer_state is None or optimizer_state.get("solver") != self.solver or len(
            optimizer_state["velocity" if self.solver == "sgd" else "grad_sum"]
        ) != network.size:
            if self.solver == "sgd":
                optimizer_state = optimizers.init_sgd_state(theta, self.learning_rate_init)
            else:
                optimizer_state = optimizers.init_adam_state(theta)
            optimizer_state["solver"] = self.solver
        no_improvement = 0 if first_pass else getattr(self, "_no_improvement_count", 0)
        grad = np.empty_like(theta)
        best_theta = theta.copy() if early_stopping else None
        order = np.arange(n_samples)
        history["n_iter_"] = 0  # epochs of this call, as in scikit-learn

        for _ in range(self.max_iter):
            callbacks.begin_epoch()
            if self.shuffle:
                order = rng.permutation(n_samples)
            accumulated_loss = 0.0
            # Shuffled batches are gathered into arrays allocated once; unshuffled ones are
            # views. The optimiser's scratch array is allocated once too.
            batches = minibatches((X_train, Y_train, sw_train), batch_size,
                                  order=order if self.shuffle else None,
                                  workspace=network.workspace)
            scratch = network.workspace.array("scratch", (min(theta.size, optimizers.BLOCK),))
            for X_batch, Y_batch, sw_batch in batches:
                batch_loss = network.loss_and_gradient(
                    theta, grad, X_batch, Y_batch,
                    sample_weight=sw_batch, alpha=self.alpha, dropout=self.dropout, rng=rng,
                )
                accumulated_loss += batch_loss * X_batch.shape[0]
                if self.solver == "sgd":
                    optimizers.sgd_step(
                        theta, grad, optimizer_state,
                        momentum=self.momentum, nesterov=self.nesterovs_momentum,
                        scratch=scratch,
                    )
                else:
                    optimizers.adam_step(
                        theta, grad, optimizer_state, learning_rate_init=self.learning_rate_init,
                        beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                        scratch=scratch,
                    )
            loss = accumulated_loss / n_samples
            # A loss that is not finite, or that rose 10,000-fold over the first epoch's, is a
            # divergence. Raising leaves the fitted state as it was before this call (it is
            # only committed at the end of _fit), so no NaN weight is ever stored.
            first_loss = history["loss_curve_"][0] if history["loss_curve_"] else loss
            if not (np.isfinite(loss) and np.isfinite(theta).all()) or (
                loss > _DIVERGENCE_FACTOR * max(first_loss, 1.0)
            ):
                raise ValueError(
                    f"Training diverged in epoch {history['n_iter_'] + 1}: the loss became "
                    f"{loss:.3g}. The learning rate (learning_rate_init="
                    f"{self.learning_rate_init}) is likely too large, or the input features "
                    "are. " + scale_advice(X)
                )
            history["n_iter_"] += 1
            history["t_"] += n_samples
            history["loss_"] = loss
            history["loss_curve_"].append(loss)
            if self.verbose:
                print(f"Iteration {history['n_iter_']}, loss = {loss:.8f}")

            if early_stopping:
                logits = network.logits(network.unpack(theta), X_val)
                val_loss = log_loss(logits, Y_val, network.out_activation, sw_val)
                proba = output_probabilities(logits, network.out_activation, out=logits)
                score = accuracy_score(y_val, self._labels(proba), sample_weight=sw_val)
                history["validation_scores_"].append(score)
                history["validation_loss_curve_"].append(val_loss)
                if self.verbose:
                    print(f"Validation score: {score:f}")
                best_score, best_loss = history["best_validation_score_"], best_validation_loss
                if self.early_stopping_metric == "loss":
                    improved = val_loss <= best_loss - self.tol
                    is_best = val_loss < best_loss
                else:
                    # Accuracy moves in steps of 1 / n_val and often stays flat for many
                    # epochs early on; a falling validation loss at an equal score is progress.
                    improved = score >= best_score + self.tol or (
                        score >= best_score and val_loss <= best_loss - self.tol
                    )
                    is_best = score > best_score or (score == best_score and val_loss < best_loss)
                if is_best:
                    history["best_validation_score_"] = score
                    best_validation_loss = val_loss
                    best_theta[...] = theta
            else:
                improved = loss <= history["best_loss_"] - self.tol
                history["best_loss_"] = min(history["best_loss_"], loss)
            no_improvement = 0 if improved else no_improvement + 1
            if callbacks.end_epoch(partial(fitted_state, theta)):
                break  # a callback asked to stop

            if self.learning_rate == "invscaling" and self.solver == "sgd":
                optimizer_state["learning_rate"] = optimizers.invscaling_learning_rate(
                    self.learning_rate_init, history["t_"], self.power_t
                )
            if no_improvement > self.n_iter_no_change:
                what = "Validation score" if early_stopping else "Training loss"
                msg = (f"{what} did not improve more than tol={self.tol:f} for "
                       f"{self.n_iter_no_change} consecutive epochs.")
                adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
                if adaptive and optimizer_state["learning_rate"] > 1e-6:
                    optimizer_state["learning_rate"] /= 5.0
                    no_improvement = 0
                    if self.verbose:
                        rate = optimizer_state["learning_rate"]
                        print(f"{msg} Setting learning rate to {rate:f}")
                else:
                    if self.verbose:
                        print(f"{msg} Stopping.")
                    break
            if incremental:
                break
            if history["n_iter_"] == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning, stacklevel=3,
                )

        if early_stopping:
            history["best_validation_loss_"] = best_validation_loss
        history["_no_improvement_count"] = no_improvement
        history["_optimizer_state"] = optimizer_state
        return best_theta if early_stopping else theta

    def __sklearn_is_fitted__(self):
        # Fitted means trained weights: a fit that failed after validating its input has set
        # classes_ and n_features_in_, but must still count as unfitted.
        return hasattr(self, "coefs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
