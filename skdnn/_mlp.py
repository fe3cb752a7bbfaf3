"""MLPClassifierFromScratch and MLPRegressorFromScratch: the multi-layer perceptron as
scikit-learn estimators.

Each class holds only what is its own: the output layer and loss, how targets are encoded,
and the score. Validation, the training loop and the fitted state are written once, in
:mod:`skdnn._mlp_base`; all calculus lives in the engine, :mod:`skdnn.nn`.
"""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_array, check_is_fitted

from ._diagnostics import REGRESSOR
from ._docs import predicts
from ._mlp_base import BaseMLPFromScratch
from ._train import combined_sample_weight, partial_fit_available
from ._validation import validate_numeric

# The parameter and attribute sections both estimators' docstrings share.
_NETWORK_PARAMETERS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,) or int, default=(100,)
        Units per hidden layer: the *width* of each layer; its length is the *depth*.
    activation : str, default="relu"
        Hidden activation, any trainable entry of :data:`skdnn.nn.ACTIVATIONS`:
        ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"prelu"`` (one learned slope per hidden unit, starting at 0.25), ``"elu"``,
        ``"gelu"``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The solver for weight optimisation.

        - ``"lbfgs"``: SciPy's L-BFGS-B, a quasi-Newton method, on the whole training set
          at once (no mini-batches, no learning rate).
        - ``"sgd"``: stochastic gradient descent on mini-batches, with ``momentum``.
        - ``"adam"``: the stochastic gradient-based optimiser of Kingma and Ba (2014).

        As in scikit-learn, ``"adam"`` works well on relatively large data sets (thousands
        of samples or more), in training time and validation score alike; on small data
        sets ``"lbfgs"`` can converge faster and to a better optimum.
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights.
    batch_size : int or "auto", default="auto"
        ``min(200, n_samples)`` for ``"auto"``. Not used by lbfgs.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The step-size schedule of ``solver="sgd"`` (adam and lbfgs ignore it).

        - ``"constant"``: ``learning_rate_init`` throughout.
        - ``"invscaling"``: ``learning_rate_init / (t + 1) ** power_t`` after each epoch,
          ``t`` being the number of training samples seen.
        - ``"adaptive"``: ``learning_rate_init`` as long as the training loss keeps falling;
          each time ``n_iter_no_change`` consecutive epochs fail to improve by ``tol`` (the
          training loss, or the validation score with ``early_stopping``), the rate is
          divided by 5 instead of stopping; training stops once it is at most 1e-6.
    learning_rate_init : float, default=0.001
        The initial step size of ``"sgd"`` (then set by the ``learning_rate`` schedule) and
        of ``"adam"``. Not used by ``"lbfgs"``. Too large a value makes training diverge,
        which ``fit`` reports as a ValueError naming it (a regression target's or the
        features' scale is named first when far from the unit scale); a value large enough
        to leave the model no better than the constant predictor (often with every ReLU
        unit dead) makes ``fit`` warn with a ``ConvergenceWarning`` naming it, in the
        estimator's terms (accuracy, or R²). A regression target far from 0 or with a large
        spread (prices) is named as the cause instead, with its fix:
        ``TransformedTargetRegressor(regressor, transformer=StandardScaler())``.
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
        Tolerance for the optimisation. For ``"sgd"`` and ``"adam"``, when the training
        loss (or, with ``early_stopping``, the validation score) does not improve by at
        least ``tol`` for ``n_iter_no_change`` consecutive epochs, training is considered
        converged and stops (``learning_rate="adaptive"`` divides the rate by 5 instead).
        For ``"lbfgs"`` it is the tolerance on the projected gradient (SciPy's ``gtol``).
    verbose : bool, default=False
        Print progress to standard output, in scikit-learn's words: the loss after each
        epoch, the validation score with ``early_stopping``, and why training stopped or
        the learning rate was lowered.
    warm_start : bool, default=False
        Continue from the current ``coefs_`` / ``intercepts_`` (also ones set by hand).
    momentum : float, default=0.9
        Momentum of the ``"sgd"`` updates, between 0 and 1: the velocity keeps this
        fraction of the previous step, ``v <- momentum * v - eta * g``. With 0, plain
        gradient descent. Only used when ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum, which steps from the point the velocity is
        about to reach (``theta <- theta + momentum * v - eta * g``) rather than from the
        current one. Only used when ``solver="sgd"`` and ``momentum > 0``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified by class for single-label
        classification), stop when its score (``early_stopping_metric``) stops improving,
        and keep the best weights seen. Not with ``partial_fit``.
    validation_fraction : float, default=0.1
        The proportion of the training data set aside as the validation set for early
        stopping, strictly between 0 and 1 (at least 2 samples, and one per class when the
        split is stratified). Only used if ``early_stopping`` is True.
    beta_1 : float, default=0.9
        Exponential decay rate of adam's estimate of the first moment (the mean) of the
        gradient, in [0, 1). Only used when ``solver="adam"``.
    beta_2 : float, default=0.999
        Exponential decay rate of adam's estimate of the second moment (the uncentred
        variance) of the gradient, in [0, 1). Only used when ``solver="adam"``.
    epsilon : float, default=1e-8
        Value for numerical stability in adam, added to the square root of the second
        moment before dividing by it. Only used when ``solver="adam"``.
    n_iter_no_change : int, default=10
        Maximum number of consecutive epochs that do not improve by ``tol`` (see ``tol``)
        before training stops, or before ``learning_rate="adaptive"`` lowers the rate. Only
        used when ``solver="sgd"`` or ``"adam"``.
    max_fun : int, default=15000
        Maximum number of loss evaluations of lbfgs.
    negative_slope : float, default=0.01
        Slope of ``"leaky_relu"`` for negative inputs.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit while training (inverted dropout: the
        survivors are scaled by ``1 / (1 - dropout)``, so prediction is deterministic and
        needs no rescaling). Only with ``solver="sgd"`` or ``"adam"``.
"""
_TRAINING_CONTROL_PARAMETERS = """\
    early_stopping_metric : {"score", "loss"}, default="score"
        What early stopping watches on the validation set: ``"score"``, the estimator's
        score (accuracy, or R^2 for regression), as scikit-learn does (at an equal score, a
        validation loss lower by ``tol`` also counts as an improvement, so the flat
        stretches of accuracy early in training do not stop it); or ``"loss"``, the
        validation loss. The weights of the best epoch by that metric are restored at the
        end.
    pretrained : MLPClassifierFromScratch, MLPRegressorFromScratch, FrozenEstimator or None, \
default=None
        A fitted network to fine-tune (transfer learning). ``fit`` copies its hidden layers
        (weights, biases, PReLU slopes) and takes its ``hidden_layer_sizes``, ``activation``
        and ``negative_slope``: this estimator's own must be left at their defaults or
        equal the pretrained ones, else ``fit`` raises a ValueError naming the conflict. A
        new output layer is initialised for the targets of ``y``, which may differ from the
        pretrained task's (a classifier's hidden layers can start a regressor, and the
        reverse).
        ``pretrained`` itself is never modified. ``clone`` (and so ``GridSearchCV``
        and ``cross_val_score``) turns an estimator-valued parameter into an unfitted copy:
        to keep the fitted network through cloning, pass
        ``sklearn.frozen.FrozenEstimator(model)``. A plain fitted model works when this
        estimator is fitted directly. A network pretrained inside a pipeline (say
        ``make_pipeline(StandardScaler(), network)``) is passed as its last step, with the
        pipeline's fitted preprocessing kept in front:
        ``make_pipeline(FrozenEstimator(pipe[:-1]), Estimator(pretrained=FrozenEstimator(
        pipe[-1])))``, so that the new data are scaled as the pretraining data were (a
        Pipeline itself raises a TypeError that says so; see ``docs/fine_tuning.md``).
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
        layer frozen: a logistic regression for a classifier, a linear or Poisson
        regression for a regressor, solved by L-BFGS to convergence with an L2 penalty
        ``alpha=100``, see :mod:`skdnn._fine_tuning`), then trains as ``solver`` says from
        there, with ``n_frozen_layers`` frozen. ``"tune"`` trains from a random new output
        layer at once, which lets its first, wrong gradients distort the pretrained
        features. ``partial_fit`` never probes. Measured on digits transfer tasks (README,
        "Fine-tuning"), probing first gains 1.5 to 8.4 points of accuracy over training from
        scratch when the tasks are related and stays within 0.5 points when they are
        distant, where ``"tune"`` loses up to 3.8 points.
"""
_FITTED_ATTRIBUTES = """\
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
        Validation score (accuracy, or R^2 for regression) per epoch with early stopping.
    best_validation_score_ : float or None
        Validation score of the restored (best) weights, with early stopping.
    validation_loss_curve_ : list of float or None
        Validation loss per epoch with early stopping (no L2 term).
    best_validation_loss_ : float or None
        Validation loss of the restored weights, with early stopping.
    t_ : int
        Training samples seen.
    n_iter_ : int
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string column names.
"""
_NOTES = """\
    Notes
    -----
    The engine (:mod:`skdnn.nn`) holds the math: the forward pass
    ``[n_samples x n_features] . [n_features x h_1] -> ... -> [n_samples x n_outputs]``, the
    backward pass by the chain rule, and the optimiser steps. All parameters are trained as
    one flat vector; ``coefs_``, ``intercepts_`` and ``slopes_`` are views of it.
"""

class SoftTargets(NamedTuple):
    """Class probabilities to train a classifier on, in place of labels.

    Passed as ``y`` to :meth:`MLPClassifierFromScratch._fit_soft_targets` (through the
    shared training loop), it makes the one-hot rows of the cross-entropy the rows of
    ``proba``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Non-negative rows that sum to 1, columns in the order of ``classes``.
    classes : ndarray of shape (n_classes,)
        The sorted class labels.
    """

    proba: np.ndarray
    classes: np.ndarray


def _docstring(summary, parameters, attributes, see_also, examples):
    """An estimator's docstring from its own sections and the shared ones."""
    return (f"{summary}\n\n    Parameters\n    ----------\n{parameters}\n"
            f"    Attributes\n    ----------\n{attributes}\n\n"
            f"    See Also\n    --------\n{see_also}\n\n{_NOTES}\n"
            f"    Examples\n    --------\n{examples}\n    ")


class MLPClassifierFromScratch(ClassifierMixin, BaseMLPFromScratch):
    __doc__ = _docstring(
        r"""Multi-layer perceptron classifier, trained by backpropagation, in NumPy.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same parameters,
    defaults, fitted attributes and objective, plus more hidden activations, dropout and
    class weights. It minimises

    .. math::

        \frac{\sum_i w_i \, \ell(y_i, p(x_i))}{\sum_i w_i}
        + \frac{\alpha}{2 \sum_i w_i} \sum_l \lVert W_l \rVert_F^2

    with ``ell`` the cross-entropy of a softmax output (multiclass) or of sigmoid outputs
    (binary: one unit; multilabel: one per label), and ``w_i`` the sample weight times the
    class weight of sample ``i``. A target with a single class is fitted too (as in
    scikit-learn): the network learns to predict that class.""",
        _NETWORK_PARAMETERS + """
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights. ``"balanced"`` uses
        ``sum(w) / (n_classes * weighted class count)``; in ``partial_fit`` the counts are
        those of the batch. For multilabel targets only ``"balanced"``, per label.
    label_smoothing : float, default=0.0
        In [0, 1). Trains on the targets ``(1 - label_smoothing) * y + label_smoothing / K``
        instead of the one-hot rows ``y``, as Keras's and PyTorch's cross-entropies do:
        ``K`` is the number of classes for a softmax output, and 2 for each sigmoid unit
        (binary and multilabel targets). The default, 0, is scikit-learn's objective. It
        smooths the validation loss of early stopping too; scores compare with the labels.
""" + _TRAINING_CONTROL_PARAMETERS,
        """    classes_ : ndarray of shape (n_classes,)
""" + _FITTED_ATTRIBUTES + """
    out_activation_ : {"softmax", "logistic"}""",
        """    sklearn.neural_network.MLPClassifier : The scikit-learn estimator this one replaces.
    MLPRegressorFromScratch : The same network for regression.
    PerceptronClassifier : A single layer, trained by the perceptron rule.""",
        """    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                                random_state=0).fit(X, y)
    >>> [W.shape for W in clf.coefs_]
    [(4, 16), (16, 3)]
    >>> clf.score(X, y) > 0.95
    True""",
    )

    _parameter_constraints: dict = {
        **BaseMLPFromScratch._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
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
        label_smoothing=0.0,
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
        self.label_smoothing = label_smoothing
        self.early_stopping_metric = early_stopping_metric
        self.pretrained = pretrained
        self.n_frozen_layers = n_frozen_layers
        self.fine_tuning = fine_tuning

    # -- public API ------------------------------------------------------------------------
    @partial_fit_available
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of sgd/adam over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call.

        Returns
        -------
        self : MLPClassifierFromScratch
            The estimator, one epoch further.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_soft_targets(self, X, proba, classes, sample_weight=None):
        r"""Fit on class probabilities ``T`` (soft targets) instead of labels.

        The objective is the classifier's with ``T`` for the one-hot rows,

        .. math::

            \frac{\sum_i w_i \sum_k T_{ik} (-\log p_k(x_i))}{\sum_i w_i}
            + \frac{\alpha}{2 \sum_i w_i} \sum_l \lVert W_l \rVert_F^2,

        which is exactly the objective of :meth:`fit` on the rows repeated once per class,
        row ``(i, k)`` labelled ``k`` with the weight ``w_i T_ik`` (the weights of row
        ``i``'s copies sum to ``w_i``, as ``T``'s rows sum to 1), in ``K`` times less time
        and memory. The engine's cross-entropy is linear in the target, so nothing else
        changes: the fused output gradient is ``w_i (p_i - T_i) / sum(w)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training input.
        proba : array-like of shape (n_samples, n_classes)
            Non-negative rows that sum to 1, the columns in the order of ``classes``.
        classes : array-like of shape (n_classes,)
            The sorted class labels (``classes_`` after the fit).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights ``w_i``.

        Returns
        -------
        self : MLPClassifierFromScratch
            The fitted estimator.
        """
        if self.class_weight is not None:
            raise ValueError("Soft targets take no class_weight: fit the rows expanded once "
                             "per class instead, with the class weights on the copies.")
        return self._fit(X, SoftTargets(proba, np.asarray(classes)), sample_weight,
                         incremental=False)

    @predicts(
        "Probability estimates of the classes (of each label, for multilabel targets).", """
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``, in the dtype of the
            weights: the softmax of the output layer (multiclass), ``[1 - p, p]`` for the
            one sigmoid unit of a binary target, or one independent sigmoid per label
            (multilabel: ``n_classes`` is then the number of labels, and rows need not sum
            to 1). Dropout plays no part in prediction. Each probability is clipped to
            ``[eps, 1 - eps]``, ``eps`` being the machine epsilon of that dtype
            (``numpy.finfo(dtype).eps``), so that none is 0 or 1 and the logarithms of
            :meth:`predict_log_proba` stay finite; a softmax row then sums to 1 within
            ``n_classes * eps``.""")
    def predict_proba(self, X):
        check_is_fitted(self)
        proba = self._forward(X)
        if self.n_outputs_ == 1 and len(self.classes_) > 1:
            return np.hstack([1 - proba, proba])
        return proba

    @predicts("Logarithm of the probability estimates, :meth:`predict_proba`.", """
        log_proba : ndarray of shape (n_samples, n_classes)
            The natural logarithm of each class's probability, in the order of
            ``classes_``. It is always finite: the probabilities are kept at least the
            dtype's machine epsilon away from 0 and 1, as scikit-learn's log-loss clips them.""")
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    @predicts("Predict the class of each sample (the labels, for multilabel targets).", """
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The class of the highest probability, one of ``classes_`` (for a binary target,
            ``classes_[1]`` where its probability exceeds 0.5); for multilabel targets, a
            0/1 indicator per label, 1 where that label's probability exceeds 0.5.""")
    def predict(self, X):
        check_is_fitted(self)
        return self._labels(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # -- what the shared base asks of a classifier ---------------------------------------------
    def _forward(self, X):
        if len(self.classes_) == 1:  # a single class is certain, whatever the network says
            return np.ones((self._check_features(X).shape[0], 1), dtype=self.coefs_[0].dtype)
        return super()._forward(X)

    def _labels(self, proba):
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratify(self, y, Y):
        # Binary targets by their one-hot column (as scikit-learn, whose error then names
        # the class 'True'), multiclass by the labels; multilabel targets are not stratified.
        if self._label_binarizer.y_type_ == "multiclass":
            return y
        return Y if Y.shape[1] == 1 else None

    def _score_outputs(self, outputs, y, sample_weight):
        # accuracy_score's, without its checks of y (a millisecond a call): the share of
        # rows whose labels (every label, for multilabel targets) are right.
        right = self._labels(outputs) == y
        return float(np.average(right if right.ndim == 1 else right.all(axis=1),
                                weights=sample_weight))

    def _prior_score(self, X, y, sample_weight):
        return DummyClassifier(strategy="prior").fit(X, y, sample_weight).score(X, y,
                                                                               sample_weight)

    def _validate_input(self, X, y, incremental, reset):
        if isinstance(y, SoftTargets):
            X, y, Y = self._validate_soft_targets(X, y, reset)
        else:
            X, y, Y = self._validate_labels(X, y, incremental, reset)
        if self.label_smoothing:
            # Keras's and PyTorch's smoothing: K classes for a softmax, 2 for each sigmoid.
            n_classes = Y.shape[1] if self._out_activation() == "softmax" else 2
            Y = (1 - self.label_smoothing) * Y.astype(X.dtype) + self.label_smoothing / n_classes
        return X, y, Y

    def _validate_soft_targets(self, X, targets, reset):
        X = validate_numeric(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32),
                          reset=reset)
        classes = targets.classes
        proba = check_array(targets.proba, dtype=np.float64)
        if not np.array_equal(np.unique(classes), classes):
            raise ValueError("The classes of soft targets must be sorted and distinct.")
        if proba.shape != (X.shape[0], len(classes)) or len(classes) < 2:
            raise ValueError(f"Soft targets need one column per class (at least 2) and one row "
                             f"per sample: got {proba.shape} for {X.shape[0]} samples and "
                             f"{len(classes)} classes.")
        if (proba < 0).any() or not np.allclose(proba.sum(axis=1), 1):
            raise ValueError("Soft targets must be non-negative rows that sum to 1.")
        self._label_binarizer = LabelBinarizer().fit(classes)
        self.classes_ = self._label_binarizer.classes_
        y = self.classes_[proba.argmax(axis=1)]  # what scores and stratification compare with
        Y = proba if len(classes) > 2 else proba[:, 1:]
        return X, y, Y.astype(X.dtype)

    def _validate_labels(self, X, y, incremental, reset):
        X, y = validate_numeric(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # "Unknown label type: continuous. Maybe you are trying to fit a classifier, ...", as
        # the perceptron and scikit-learn's linear classifiers say, not the whole array.
        check_classification_targets(y)
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
        if self._label_binarizer.y_type_.startswith("multilabel"):
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
            return combined_sample_weight(sample_weight, X)
        return combined_sample_weight(sample_weight, X, y, self.class_weight)


class MLPRegressorFromScratch(RegressorMixin, BaseMLPFromScratch):
    __doc__ = _docstring(
        r"""Multi-layer perceptron regressor, trained by backpropagation, in NumPy.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same parameters,
    defaults, fitted attributes, objective and gradient, plus more hidden activations and
    dropout. With ``loss="squared_error"`` the output layer is the identity and the
    objective is

    .. math::

        \frac{1}{2K} \sum_k \frac{\sum_i w_i (p_{ik} - y_{ik})^2}{\sum_i w_i}
        + \frac{\alpha}{2 \sum_i w_i} \sum_l \lVert W_l \rVert_F^2

    over ``K`` outputs (``loss_`` reports it, as scikit-learn's does). With
    ``loss="poisson"`` the output is ``p = exp(z)``, positive, and the data term is the half
    Poisson deviance summed over the outputs, ``sum_k y log(y / p) - y + p`` (targets must
    be non-negative). Both start the backward pass from ``w_i (p_i - y_i) / sum(w)`` for every
    output, as scikit-learn does, so training from the same start follows scikit-learn's
    epoch by epoch (for several squared-error outputs, that is the gradient of the data term
    summed, not averaged, over the outputs).""",
        _NETWORK_PARAMETERS.replace("    solver :", """\
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss, and with it the output layer: the identity for the (half) squared
        error, the exponential for the (half) Poisson deviance.
    solver :""", 1) + _TRAINING_CONTROL_PARAMETERS,
        _FITTED_ATTRIBUTES + """
    out_activation_ : {"identity", "exp"}""",
        """    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this one replaces.
    MLPClassifierFromScratch : The same network for classification.""",
        """    >>> from sklearn.datasets import make_regression
    >>> from skdnn import MLPRegressorFromScratch
    >>> X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    >>> reg = MLPRegressorFromScratch(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                               max_iter=500, random_state=0).fit(X, y)
    >>> [W.shape for W in reg.coefs_], reg.out_activation_
    ([(4, 16), (16, 1)], 'identity')
    >>> reg.score(X, y) > 0.99
    True""",
    )

    _parameter_constraints: dict = {
        **BaseMLPFromScratch._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }
    _diagnostic_terms = REGRESSOR

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
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
        early_stopping_metric="score",
        pretrained=None,
        n_frozen_layers=0,
        fine_tuning="probe_then_tune",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
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
        self.early_stopping_metric = early_stopping_metric
        self.pretrained = pretrained
        self.n_frozen_layers = n_frozen_layers
        self.fine_tuning = fine_tuning

    # -- public API ------------------------------------------------------------------------
    @partial_fit_available
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of sgd/adam over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : MLPRegressorFromScratch
            The estimator, one epoch further.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    @predicts("Predict the target of each sample.", """
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The output layer's values: the last layer's pre-activation for the squared
            error, its exponential for the Poisson loss; one column per target, a 1-d
            array for a single target, in the dtype of the weights.""")
    def predict(self, X):
        check_is_fitted(self)
        return self._predictions(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags

    # -- what the shared base asks of a regressor ----------------------------------------------
    @staticmethod
    def _predictions(outputs):
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _score_outputs(self, outputs, y, sample_weight):
        if not np.isfinite(outputs).all():
            return np.nan  # as scikit-learn: a diverging network scores NaN, not an error
        return r2_score(y, self._predictions(outputs), sample_weight=sample_weight)

    def _prior_score(self, X, y, sample_weight):
        return DummyRegressor().fit(X, y, sample_weight).score(X, y, sample_weight)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_numeric(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs non-negative targets: it models the mean "
                             "of a count or a rate, and its deviance is undefined for y < 0.")
        Y = np.asarray(y, dtype=X.dtype).reshape(X.shape[0], -1)
        return X, y, Y

    def _sample_weight(self, sample_weight, X, y, incremental):
        return combined_sample_weight(sample_weight, X)
