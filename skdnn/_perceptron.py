"""PerceptronClassifier: Rosenblatt's perceptron as a scikit-learn classifier, online or in
mini-batches, with Gallant's pocket, averaging and temperature-scaled probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets

from ._diagnostics import feature_scale, scale_advice
from ._docs import DocLinkMixin, predicts
from ._train import (
    CallbackSupportMixin,
    EpochCallbacks,
    Interrupted,
    KeptInterrupt,
    Loop,
    Record,
    StoppingRule,
    combined_sample_weight,
    generator,
    interrupted_message,
    one_blas_thread,
    unchanged_on_failure,
)
from ._validation import naming_columns, validate_numeric
from ._warnings import warn
from .nn import perceptron as engine

# Beyond this, products of features and weights can overflow float64: scale the features.
_LARGEST_FEATURE = 1e150


@dataclass
class PerceptronRecord(Record):
    """What the perceptron's training produces besides ``coef_``, ``intercept_`` and
    ``temperature_`` (:class:`~skdnn._train.Record`): ``n_iter_`` and ``t_``, and the private
    state ``partial_fit`` goes on from: the rule's raw weights ``W`` (n_features, n_outputs)
    and ``b``, the averaging sums ``U`` and the presentations counted, the features' scales
    the rule divides by, and the stopping rule's best progress and count."""

    n_iter: int = 0
    t: float = 0.0
    raw_coef: np.ndarray | None = None
    raw_intercept: np.ndarray | None = None
    average_sums: list | None = None
    presentations: float = 0
    rule_scale: np.ndarray | None = None
    best_progress: float = np.inf
    no_improvement_count: int = 0

    _PRIVATE = ("raw_coef", "raw_intercept", "average_sums", "presentations", "rule_scale",
                "best_progress", "no_improvement_count")

    def keep(self, weights):
        """Keep the rule's weights and averaging sums, to go on from."""
        self.raw_coef, self.raw_intercept = weights.W, weights.b
        self.average_sums, self.presentations = weights.U, weights.count


def _validation_split(y_index, s, fraction, rng):
    """A stratified hold-out mask: ``fraction`` (rounded) of each class's rows of positive
    weight ``s``, at least one row."""
    held = np.zeros(len(y_index), dtype=bool)
    for label in np.unique(y_index):
        members = rng.permutation(np.flatnonzero((y_index == label) & (s > 0)))
        held[members[: int(round(fraction * len(members)))]] = True
    if not held.any():
        held[rng.choice(np.flatnonzero(s > 0))] = True
    if np.all(held | (s <= 0)):
        raise ValueError("The validation set of early_stopping would hold every sample; use "
                         "more samples or a smaller validation_fraction.")
    return held


def _root_mean_squares(X, s):
    """Each feature's root-mean-square over the rows, weighted by ``s`` (1 for a feature that
    is always 0)."""
    # The weights as shares of their sum: weights near 1e300 times squares near 1e8 would
    # overflow, where shares of at most 1 times squares of at most 1e300 (_LARGEST_FEATURE
    # squared) cannot.
    share = s / s.sum()
    mean_squares = np.ravel(share @ (X.multiply(X) if sp.issparse(X) else X * X))
    return np.sqrt(np.where(mean_squares > 0, mean_squares, 1.0))


def _accuracy(W, b, data):
    """The accuracy of weights ``(W, b)`` on ``data`` ``(X, y_index, s)``, weighted by ``s``."""
    X, y_index, s = data
    return float(s @ (engine.predicted_index(X @ W + b) == y_index)) / float(s.sum())


@dataclass
class _Epochs(Loop):
    """The perceptron's epochs, run by the one loop (:class:`skdnn._train.Loop`).

    An epoch is a pass of the perceptron's own rule (online, or one step per mini-batch),
    not gradient steps on a loss, and what the fit keeps after it is the averaged or the
    pocket's weights, not the last ones; so the perceptron supplies its own
    :meth:`run_epoch` and :meth:`end_epoch` and shares the loop, its record, stopping rule,
    callbacks and Ctrl-C. ``train`` and ``valid`` are ``(X, y_index, s)``; ``scale`` the
    features' root-mean-squares.
    """

    estimator: object
    weights: engine.Weights
    train: tuple
    valid: tuple | None
    rng: np.random.Generator | None
    callbacks: EpochCallbacks
    scale: np.ndarray
    record: PerceptronRecord
    max_epochs: int
    stop: str = "max_iter"
    mistakes: float = 0.0
    last: tuple | None = None  # the kept weights of the last complete epoch
    progress: float = np.inf

    def __post_init__(self):
        est = self.estimator
        X, y_index, s = self.train
        self.Y = est._targets(y_index, self.weights.W.shape[1], X.dtype)
        self.total = float(s.sum())
        scored = self.valid if est.early_stopping else self.train
        self.score = lambda W, b: _accuracy(W, b, scored)
        self.pocket = engine.Pocket(self.score) if est.pocket else None
        self.rule = StoppingRule(est.tol or 0.0, lambda record: (record.best_progress,))

    def run_epoch(self):
        """One pass of the rule; the epoch's loss (the mistakes' margins, summed)."""
        est, weights, pocket = self.estimator, self.weights, self.pocket
        X, _, s = self.train
        loss, self.mistakes = est._one_epoch(weights, (X, self.Y, s), self.rng, pocket)
        est._check_finite(weights.W, weights.b)
        separated = self.mistakes == 0 and est.penalty is None
        # Separating weights are better than an average of worse ones.
        kept = weights.average() if not separated else (weights.W.copy(), weights.b.copy())
        kept_score = None if pocket is None else pocket.offer(*kept)
        if pocket is not None:
            pocket.offer(weights.W, weights.b)
            kept = pocket.best
        self.last = kept  # the weights of a complete epoch are kept
        # The mean distance of the samples on the wrong side of their lines, with each
        # feature in units of its scale. All margins 0 (zero weights) measure nothing.
        norm = max(float(np.linalg.norm(weights.W * self.scale[:, None])), 1e-300)
        self.progress = loss / self.total / norm if loss or not self.mistakes else np.inf
        if est.early_stopping:
            self.progress = -(self.score(*kept) if kept_score is None else kept_score)
        return loss

    def end_epoch(self, loss):
        """The record, the stopping rule, the callbacks; True to stop."""
        est, record = self.estimator, self.record
        record.n_iter += 1
        record.t = float(record.n_iter * self.train[0].shape[0] + 1)
        if est.verbose:
            print(f"Epoch {record.n_iter}: loss {loss / self.total:.6g}, training error "
                  f"{self.mistakes / self.total:.4f}"
                  + (f", validation accuracy {-self.progress:.4f}" if est.early_stopping
                     else ""))
        if est.tol is not None and self.rule.update(record, (self.progress,)):
            record.best_progress = self.progress
        kept, scored = self.last, self.valid or self.train
        if self.callbacks.end_epoch(lambda: est._attributes(*kept, scored)):
            self.stop = "callback"
        elif self.mistakes == 0 and est.penalty is None:
            self.stop = "separated"
        # scikit-learn's Perceptron counts n_iter_no_change with >= (the networks, as its
        # MLP, with >): the drop-in keeps its own.
        elif est.tol is not None and record.no_improvement_count >= est.n_iter_no_change:
            self.stop = "no_change"
        return self.stop != "max_iter"

    def kept(self):
        """On a Ctrl-C: the weights of the complete epochs; none, and the fit is undone."""
        if self.last is None:
            raise KeyboardInterrupt
        return self.last


class PerceptronClassifier(
    LinearClassifierMixin, SparseCoefMixin, DocLinkMixin, CallbackSupportMixin, BaseEstimator
):
    r"""Rosenblatt's perceptron: inputs times weights plus a bias, a step, the perceptron rule.

    Predicts ``classes_[1]`` when ``x . w + b > 0``; more classes get one perceptron each
    (one-vs-rest) and the highest decision wins. Each mistake (a sample on the wrong side of
    the line, or on it) moves the weights towards it: ``w <- w + eta0 y x``, ``b <- b + eta0
    y`` with ``y`` in {-1, +1}. The rules are written out in :mod:`skdnn.nn.perceptron`, and
    how the defaults were measured in ``docs/perceptron.md``. Parameters shared with
    :class:`sklearn.linear_model.Perceptron` mean the same.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default=None
        Penalty on the weights (not the bias), applied at each sample as in scikit-learn.
    alpha : float, default=0.0001
        Strength of the penalty.
    l1_ratio : float, default=0.15
        Share of L1 in the elastic net (0 is L2, 1 is L1).
    fit_intercept : bool, default=True
        Learn the bias ``b``; otherwise ``b = 0``.
    max_iter : int, default=1000
        Most epochs (passes over the training data).
    tol : float or None, default=1e-3
        Stop when for ``n_iter_no_change`` epochs the epoch's loss (the mean distance of the
        mistakes to their lines, each feature in units of its root-mean-square) has not fallen
        below its best minus ``tol``; with ``early_stopping``, when the validation accuracy
        has not risen above its best plus ``tol``. ``None``: no such rule. An epoch without a
        mistake ends training.
    shuffle : bool, default=True
        Present the rows in a new order each epoch, drawn from ``random_state``; otherwise
        in the order of ``X``.
    verbose : int, default=0
        Print the loss and the mistakes of each epoch.
    eta0 : float, default=1.0
        Step size of the rule.
    n_jobs : int or None, default=None
        Unused: the one-vs-rest perceptrons train together in the same matrix products.
    random_state : int, RandomState instance or None, default=0
        Seeds the orders and the early-stopping split; 0 makes default fits identical.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the data, stop on its accuracy and fit
        the temperature on it (with ``pocket``, keep the weights that score best on it).
    validation_fraction : float, default=0.1
        Share of the training data held out with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement to wait before stopping.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class; it multiplies the samples' weights.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_``.
    batch_size : int, default=1024
        ``1`` is the online rule of the lesson: with ``shuffle=False``, ``pocket=False`` and
        ``tol=None`` it gives scikit-learn's ``Perceptron``'s ``coef_`` and ``intercept_``.
        More is the mini-batch perceptron: one step per batch along the sum of its
        mistakes' updates, on each feature divided by its root-mean-square (1 when
        standardized), so that the rule does not depend on the features' scales. 1024 fit
        fastest, as accurately as scikit-learn, on the data sets of ``docs/perceptron.md``.
    pocket : bool, default=False
        Gallant's pocket: keep the weights with the best training accuracy seen (validation
        accuracy with ``early_stopping``). Where no line separates the classes (XOR) the
        rule never settles; the pocket keeps the best line it met.
    average : bool or "auto", default="auto"
        Freund and Schapire's averaged perceptron: the mean of the weights after every
        presentation. ``"auto"`` averages the mini-batch rule, which needs it to be accurate,
        and not the online rule (the lesson's, and scikit-learn's).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights ``w`` (one row for two classes), in the dtype of ``X``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases ``b``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    temperature_ : float
        ``T`` of :meth:`predict_proba`, ``softmax(d / T)`` of the decisions ``d``, fitted
        to the training data's log-loss.
    n_iter_ : int
        Epochs run by the last ``fit`` (counted up by ``partial_fit``).
    t_ : float
        Samples presented in training.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.Perceptron : The scikit-learn estimator whose parameters it takes.
    MLPClassifierFromScratch : Hidden layers, trained by backpropagation.

    Notes
    -----
    A sample's update is multiplied by its weight (times its class weight). An integer
    weight acts as repeating the sample when its copies share a batch, so always with
    ``batch_size >= n_samples``; not in the online rule (nor in scikit-learn's), nor in the
    split of ``early_stopping``. A fit that the stopping rule ends below the training
    accuracy of always predicting the most frequent class warns (a ``UserWarning``) that the
    features need standardizing. References are in ``docs/perceptron.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn import PerceptronClassifier
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> clf = PerceptronClassifier(batch_size=1, shuffle=False).fit(X, [0, 0, 0, 1])  # AND
    >>> clf.predict(X)
    array([0, 0, 0, 1])
    >>> bool(np.all(clf.predict_proba(X).argmax(axis=1) == clf.predict(X)))
    True
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "pocket": ["boolean"],
        "average": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self, *, penalty=None, alpha=0.0001, l1_ratio=0.15, fit_intercept=True, max_iter=1000,
        tol=1e-3, shuffle=True, verbose=0, eta0=1.0, n_jobs=None, random_state=0,
        early_stopping=False, validation_fraction=0.1, n_iter_no_change=5, class_weight=None,
        warm_start=False, batch_size=1024, pocket=False, average="auto",
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.batch_size = batch_size
        self.pocket = pocket
        self.average = average

    def __sklearn_is_fitted__(self):
        # A fit that failed after validating its input has set classes_, not the weights.
        return hasattr(self, "coef_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitting ---------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        coef_init : array-like of shape (n_outputs, n_features), default=None
            Initial weights (``n_outputs`` is 1 for two classes, else ``n_classes``).
        intercept_init : array-like of shape (n_outputs,), default=None
            Initial biases.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : PerceptronClassifier
            The fitted estimator.

        Notes
        -----
        A Ctrl-C (KeyboardInterrupt) keeps the weights of the epochs completed before it as
        the fitted model, warns (a ``UserWarning``) at which epoch, and is raised again; in
        the first epoch nothing is fitted.
        """
        with unchanged_on_failure(self):
            return self._fit((X, y, sample_weight), (coef_init, intercept_init))

    def _fit(self, data, init):
        """Fit on ``data`` ``(X, y, sample_weight)`` as given, from ``init`` ``(coef_init,
        intercept_init)``."""
        previous = self.classes_ if self.warm_start and hasattr(self, "coef_") else None
        if previous is not None and init[0] is None:
            init = self.coef_, self.intercept_
        _, y, sample_weight = data
        X, y_index, s = self._validate(data, first=True)
        if previous is not None and not np.array_equal(previous, self.classes_):
            raise ValueError(f"warm_start needs the classes of the previous fit, {previous}.")
        # Drawn only where chance plays a part: one batch is the same sum in any order.
        chance = self.early_stopping or (self.shuffle and self.batch_size < X.shape[0])
        rng = generator(self.random_state) if chance else None
        train, valid = (X, y_index, s), None
        if self.early_stopping:
            held = _validation_split(y_index, s, self.validation_fraction, rng)
            train, valid = (X[~held], y_index[~held], s[~held]), (X[held], y_index[held], s[held])
        # The mini-batch rule sees each feature divided by its root-mean-square, so that it
        # does not depend on the features' scales (1 when standardized); the online rule is the
        # lesson's, on the raw features (as scikit-learn's).
        scale = _root_mean_squares(train[0], train[2])
        rule_scale = scale if self.batch_size > 1 else None
        weights = self._weights(*self._initial(init, X), rule_scale)
        callbacks = EpochCallbacks(self, (X, y, sample_weight), self.max_iter)
        record = PerceptronRecord(rule_scale=rule_scale)
        run = _Epochs(self, weights, train, valid, rng, callbacks, scale, record, self.max_iter)
        interrupted = None
        with np.errstate(over="ignore", invalid="ignore"), one_blas_thread():
            try:
                run.fit_loop()
            except Interrupted as stopped:
                interrupted = stopped
            W, b = run.last
            attributes = self._attributes(W, b, valid or train)
        record.raw_coef, record.raw_intercept = W.copy(), b.copy()  # fit's kept weights
        self._commit(attributes, record)
        if interrupted is not None:
            callbacks.end_fit()
            warn(interrupted_message(interrupted, keeps_partial=False), UserWarning)
            raise KeptInterrupt
        if run.stop == "max_iter" and run.mistakes:
            warn(f"max_iter={self.max_iter} epochs ended the fit before the stopping rule did: "
                 f"its last epoch still made mistakes (of total sample weight "
                 f"{run.mistakes:g}). Raise max_iter, or set tol; the data may not be linearly "
                 "separable.", ConvergenceWarning)
        elif run.stop == "no_change":
            self._warn_if_below_constant((W, b), train)
        callbacks.end_fit()
        return self

    def _warn_if_below_constant(self, kept, data):
        # Any line with a bias can do as well as always predicting the most frequent class:
        # a fit that does worse has stopped before it learned (features far from 0, or of
        # very unequal scales in the online rule, make it wander for tens of epochs).
        _, y_index, s = data
        accuracy = _accuracy(*kept, data)
        constant = float(np.bincount(y_index, weights=s).max()) / float(s.sum())
        if accuracy < constant:
            warn(f"The stopping rule ended the fit with a training accuracy of {accuracy:.3g}, "
                 f"below the {constant:.3g} of always predicting the most frequent class: "
                 "standardize the features (sklearn.preprocessing.StandardScaler), or raise "
                 "n_iter_no_change.", UserWarning)

    def _commit(self, attributes, record):
        """Set the fitted attributes: the weights' and the training record's."""
        for name, value in {**attributes, **record.attributes()}.items():
            setattr(self, name, value)

    def _one_epoch(self, weights, data, rng, pocket):
        """One pass over ``data`` ``(X, Y, s)``, online or in mini-batches, in a new order if
        shuffling needs one."""
        X, Y, s = data
        order = rng.permutation(X.shape[0]) if self.shuffle and rng is not None else None
        if self.batch_size == 1:
            return engine.online_epoch(weights, X, Y, s, self.eta0, order, pocket)
        return engine.minibatch_epoch(weights, X, Y, s, self.eta0, self.batch_size, order, pocket)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``, from the previous weights.

        No pocket and no early stopping; an average runs on over the calls, and the
        temperature is refitted on the batch. The features' scales are the previous ``fit``'s,
        or 1 (a stream's are not known in advance).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : PerceptronClassifier
            The estimator, one epoch further.
        """
        with unchanged_on_failure(self):
            return self._partial_fit(X, y, classes, sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight):
        first = _check_partial_fit_first_call(self, classes)
        X, y_index, s = self._validate((X, y, sample_weight), first, classes_from_y=False)
        if first:
            W, b = self._initial((None, None), X)
            record = PerceptronRecord(raw_coef=W, raw_intercept=b)
        else:
            record = PerceptronRecord.of(self)
        weights = self._weights(record.raw_coef.copy(), record.raw_intercept.copy(),
                                record.rule_scale)
        if weights.U is not None and record.average_sums is not None:
            weights.U = [u.copy() for u in record.average_sums]
            weights.count = record.presentations
        callbacks = EpochCallbacks(self, (X, y, sample_weight), 1)
        callbacks.begin_epoch()
        Y = self._targets(y_index, weights.W.shape[1], X.dtype)
        rng = generator(self.random_state) if self.shuffle else None
        with np.errstate(over="ignore", invalid="ignore"), one_blas_thread():
            self._one_epoch(weights, (X, Y, s), rng, None)
            self._check_finite(weights.W, weights.b)
            attributes = self._attributes(*weights.average(), (X, y_index, s))
        record.keep(weights)
        record.n_iter, record.t = record.n_iter + 1, record.t + X.shape[0]
        self._commit(attributes, record)
        callbacks.end_epoch(lambda: self._attributes(self.coef_.T, self.intercept_, None))
        callbacks.end_fit()
        return self

    # -- pieces of fitting -----------------------------------------------------------------------
    def _validate(self, data, first, classes_from_y=True):
        """``(X, y_index, s)`` of ``data`` ``(X, y, sample_weight)``: checked input, class
        indices, sample times class weights."""
        X, y, sample_weight = data
        dtype = (np.float64, np.float32) if first else self._raw_coef.dtype
        X, y = validate_numeric(self, X, y, accept_sparse="csr", dtype=dtype, reset=first)
        check_classification_targets(y)
        if classes_from_y:
            self.classes_, y_index = np.unique(y, return_inverse=True)
        else:
            y_index = np.searchsorted(self.classes_, y).clip(0, len(self.classes_) - 1)
            if not np.all(self.classes_[y_index] == y):
                raise ValueError(f"y has labels {np.setdiff1d(y, self.classes_)} not in "
                                 f"classes {self.classes_}.")
        if len(self.classes_) < 2:
            raise ValueError("PerceptronClassifier needs samples of at least 2 classes; got 1 "
                             f"class, {self.classes_[0]!r}.")
        s = combined_sample_weight(sample_weight, X, y, self.class_weight)
        if feature_scale(X) > _LARGEST_FEATURE:
            raise ValueError(f"Beyond {_LARGEST_FEATURE:g} the perceptron's arithmetic would "
                             f"overflow. {scale_advice(X)}")
        return X, y_index, np.ones(X.shape[0], dtype=X.dtype) if s is None else s

    def _initial(self, init, X):
        """Initial ``(W, b)``: zeros, or ``coef_init.T`` and ``intercept_init`` of ``init``
        ``(coef_init, intercept_init)``."""
        coef_init, intercept_init = init
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        W, b = np.zeros((X.shape[1], n_outputs), dtype=X.dtype), np.zeros(n_outputs, X.dtype)
        for name, value, target in (("coef_init", coef_init, W.T),
                                    ("intercept_init", intercept_init, b)):
            if value is not None:
                value = np.asarray(value.toarray() if hasattr(value, "toarray") else value,
                                   dtype=X.dtype)
                if value.size != target.size or not np.isfinite(value).all():
                    raise ValueError(f"{name} must be finite, of shape {target.shape}; got "
                                     f"shape {value.shape}.")
                target[...] = value.reshape(target.shape)
        return W, b

    def _weights(self, W, b, scale):
        """The engine's :class:`~skdnn.nn.perceptron.Weights` with this penalty and averaging."""
        l1_share = {"l1": 1.0, "l2": 0.0, "elasticnet": self.l1_ratio, None: 0.0}[self.penalty]
        strength = 0.0 if self.penalty is None else self.eta0 * self.alpha
        averaged = self.batch_size > 1 if self.average == "auto" else self.average
        return engine.Weights(W, b, self.fit_intercept, l2=strength * (1 - l1_share),
                              l1=strength * l1_share, averaged=averaged, scale=scale)

    @staticmethod
    def _targets(y_index, n_outputs, dtype):
        """``Y`` in {-1, +1}: ``y == classes_[1]`` for two classes, one-vs-rest for more."""
        if n_outputs == 1:
            return (2.0 * (y_index == 1) - 1).astype(dtype)[:, None]
        return (2.0 * (y_index[:, None] == np.arange(n_outputs)) - 1).astype(dtype)

    def _check_finite(self, W, b):
        # Overflow shows here rather than as NumPy warnings; nothing is fitted before this.
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(
                f"The perceptron's weights overflowed: eta0={self.eta0} times the sample "
                "weights is too large for these features (or the initial weights are); lower "
                "it, or scale the features (StandardScaler).")

    def _attributes(self, W, b, calibration):
        """The fitted attributes of weights ``(W, b)``, with the temperature fitted on
        ``calibration`` ``(X, y_index, s)`` (kept as it is when None)."""
        attributes = {"coef_": np.ascontiguousarray(W.T),
                      "intercept_": b.copy() if self.fit_intercept else np.zeros_like(b)}
        if calibration is not None:
            X, y_index, s = calibration
            with np.errstate(over="ignore", invalid="ignore"):
                decision = np.asarray(X @ W + b)
            self._check_finite(decision, b)
            attributes["temperature_"] = engine.fit_temperature(
                decision[:, 0] if decision.shape[1] == 1 else decision, y_index, s)
        return attributes

    # -- prediction ------------------------------------------------------------------------------
    @predicts("Signed distances ``X @ coef_.T + intercept_``; a ``ValueError`` if they "
              "overflow.", """
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive means ``classes_[1]``.""")
    def decision_function(self, X):
        with np.errstate(over="ignore", invalid="ignore"), naming_columns(self, X):
            decision = super().decision_function(X)
        if not np.isfinite(decision).all():
            raise ValueError("The decisions overflow: features too large for the weights; "
                             "scale them (e.g. with sklearn.preprocessing.StandardScaler).")
        return decision

    @predicts("Class probabilities ``softmax(d / T)`` (``sigmoid(d / T)`` for two classes).", """
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; the arg-max is :meth:`predict`.""")
    def predict_proba(self, X):
        return self._probabilities(X, softmax)

    @predicts("Log of :meth:`predict_proba`, as a log-softmax (no log of 0).", """
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class, columns in the order of ``classes_``.""")
    def predict_log_proba(self, X):
        return self._probabilities(X, log_softmax)

    def _probabilities(self, X, function):
        z, largest = engine.logits(self.decision_function(X)), np.finfo(np.float64).max / 4
        with np.errstate(over="ignore"):
            z = np.clip(z / self.temperature_, -largest, largest)
        return function(z, axis=1).astype(self.coef_.dtype, copy=False)
