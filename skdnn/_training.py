"""The pieces of training that skdnn's estimators share: the fit's generator, sample and
class weights, the BLAS threads of training, the record of a run and the stopping rule that
reads it, scikit-learn's callbacks, a fit that changes nothing when it fails, and Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread: the perceptron's and TabNet's training.

    Their products are a batch times the features or a few dozen columns, too small to
    share; on a machine that other processes share, two OpenBLAS threads wait for each other
    and made such epochs several times slower. The MLPs' larger products keep BLAS's threads
    (benchmarks/README.md, "BLAS threads of training"; ``bench_threads.py``).
    """
    return _BLAS.limit(limits=1, user_api="blas")


def generator(random_state):
    """One numpy Generator per fit, seeded from ``random_state`` (None, int or RandomState)."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def combined_sample_weight(sample_weight, X, y=None, class_weight=None):
    """Per-sample weights ``w_i = sample_weight_i * class_weight[y_i]``, or None for all ones.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The validated input; the weights take its dtype.
    y : ndarray of shape (n_samples,), default=None
        The samples' class labels; None when there are no class weights (a regressor).
    class_weight : dict, "balanced" or None, default=None
        As in scikit-learn's linear models; ``"balanced"`` uses the weighted class counts,
        ``sum(w) / (n_classes * sum of w over the class)``, so that weighting a sample by 2
        and repeating it twice give the same class weights.

    Returns
    -------
    ndarray of shape (n_samples,) or None

    Raises
    ------
    ValueError
        For negative, non-finite or all-zero sample weights, or a class weight that is not
        positive and finite.
    """
    if sample_weight is None and class_weight is None:
        return None
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    if class_weight is not None:
        classes, y_index = np.unique(y, return_inverse=True)
        # Classes whose samples all weigh 0 play no part (and would divide by 0 in "balanced").
        counted = slice(None) if sample_weight is None else sample_weight > 0
        present = np.unique(y_index[counted])
        weights = np.ones(len(classes))
        weights_present = compute_class_weight(
            class_weight,
            classes=classes[present],
            y=classes[y_index[counted]],
            sample_weight=None if sample_weight is None else sample_weight[counted],
        )
        weights[present] = weights_present
        if not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError(f"class_weight must give finite, non-negative weights; got {weights}.")
        per_sample = weights[y_index]
        sample_weight = per_sample if sample_weight is None else sample_weight * per_sample
    if not np.isfinite(sample_weight.sum()) or sample_weight.sum() <= 0:
        raise ValueError(
            "The sample weights (times the class weights) must have a positive, finite sum."
        )
    return sample_weight.astype(X.dtype, copy=False)


class Record:
    """Base of the dataclasses that hold what a fit produces besides the weights.

    Each field ``name`` is the fitted attribute ``name_``, or the private attribute
    ``_name`` for the names in ``_PRIVATE`` (what ``partial_fit`` and ``warm_start`` go on
    from). A fit works on a record and the estimator receives its values only at the end
    (:meth:`attributes`), so a fit that fails leaves the estimator as it was; the stopping
    rule reads and updates the record's best epoch and ``no_improvement_count``.
    """

    _PRIVATE: tuple = ()
    _LISTS: tuple = ()  # fields holding lists, copied by :meth:`of`

    @classmethod
    def _attribute(cls, name):
        return f"_{name}" if name in cls._PRIVATE else f"{name}_"

    @classmethod
    def of(cls, estimator):
        """The record held by ``estimator``'s attributes (defaults for missing ones), with
        its lists copied."""
        record = cls(**{f.name: getattr(estimator, cls._attribute(f.name))
                        for f in fields(cls) if hasattr(estimator, cls._attribute(f.name))})
        for name in cls._LISTS:
            value = getattr(record, name)
            setattr(record, name, None if value is None else list(value))
        return record

    def attributes(self):
        """The record as ``{attribute name: value}``."""
        return {self._attribute(f.name): getattr(self, f.name) for f in fields(self)}


@dataclass
class StoppingRule:
    r"""Counts, in a training record, the epochs in a row that did not improve on its best.

    One rule serves the training-loss plateau and early stopping of the multi-layer
    perceptrons, and the perceptron's progress measure. Each epoch is ranked by a ``key``, a
    tuple in which lower is better, compared element by element: ``(loss,)``, or
    ``(-score, loss)`` where a validation score decides and the loss breaks ties. The record
    holds the best epoch's values and ``no_improvement_count``; the rule reads the best key
    from it with ``best_key(record)`` and updates the count, so the record is the one place
    both live.

    Parameters
    ----------
    tol : float
        How much better than the best key an epoch must be to count as an improvement.
    best_key : callable
        ``best_key(record)``: the key of the record's best epoch (``(inf,)`` before any).

    Notes
    -----
    An epoch with key ``k`` improves on the best key ``b`` when

    .. math::

        k_0 \le b_0 - \mathrm{tol}
        \quad\text{or}\quad
        (k_0 \le b_0 \text{ and } k_1 \le b_1 - \mathrm{tol}),

    so at an equal score (accuracy moves in steps of ``1 / n_val`` and often stays flat for
    many epochs) a loss lower by ``tol`` is progress. A key with a NaN never improves.
    """

    tol: float
    best_key: Callable

    def update(self, record, key):
        """Count one epoch's ``key`` in ``record.no_improvement_count``; True when it beats
        the record's best (the caller then writes the epoch's values as the best)."""
        best = self.best_key(record)
        improved = key[0] <= best[0] - self.tol or (
            min(len(key), len(best)) > 1 and key[0] <= best[0]
            and key[1] <= best[1] - self.tol
        )
        record.no_improvement_count = 0 if improved else record.no_improvement_count + 1
        return tuple(key) < tuple(best)
try:  # scikit-learn >= 1.9 ships the callback framework (ProgressBar, ScoringMonitor, ...)
    from sklearn.callback import CallbackSupportMixin as _CallbackSupportMixin
except ImportError:  # older scikit-learn: the estimators work the same, without callbacks

    class _NoCallbackContext:
        """Stands in for sklearn.callback.CallbackContext: every hook does nothing."""

        def subcontext(self, **kwargs):
            return self

        def call_on_fit_task_begin(self, **kwargs):
            return self

        def call_on_fit_task_end(self, **kwargs):
            return False

    class _CallbackSupportMixin:  # type: ignore[no-redef]
        def _init_callback_context(self, **kwargs):
            return _NoCallbackContext()


#: Where scikit-learn's CallbackSupportMixin keeps the callbacks of ``set_callbacks`` and,
#: during a fit, their context and the ones to tear down; ``_parent_callback_ctx`` is set by a
#: meta-estimator on the estimators it fits.
CALLBACK_ATTRIBUTES = ("_skl_callbacks", "_callback_fit_ctx", "_skl_callbacks_to_teardown",
                       "_parent_callback_ctx")


class CallbackSupportMixin(_CallbackSupportMixin):
    """scikit-learn's callback support, with the callbacks kept out of a saved model.

    A callback is not fitted state: a ``ScoringMonitor`` holds its log (with ``uuid.UUID``
    run ids) and a ``ListenerHandle`` to a live listener, none of it plain data, so a model
    saved with them could not be loaded by ``skops.io.load`` trusting only skdnn's class.
    :meth:`__getstate__`, what ``skops`` saves, leaves them out: a loaded model has no
    callbacks (attach new ones with ``set_callbacks``). ``pickle``, ``copy.deepcopy`` and
    joblib keep them, as scikit-learn requires of every estimator (its callbacks report
    from the worker processes of ``n_jobs``): :meth:`__reduce_ex__` puts them back in the
    state it hands over.
    """

    def __getstate__(self):
        state = super().__getstate__()
        return {name: value for name, value in state.items()
                if name not in CALLBACK_ATTRIBUTES}

    def __reduce_ex__(self, protocol):
        reduced = list(super().__reduce_ex__(protocol))  # its state from __getstate__
        callbacks = {name: value for name, value in vars(self).items()
                     if name in CALLBACK_ATTRIBUTES}
        if callbacks:
            reduced[2] = {**reduced[2], **callbacks}
        return tuple(reduced)


class EpochCallbacks:
    """Calls scikit-learn's callback hooks around one fit and each of its epochs.

    Create it once the input is validated; call :meth:`begin_epoch` and :meth:`end_epoch`
    around every epoch (or solver iteration), and :meth:`end_fit` once the fitted state is
    set. ``scikit-learn``'s ``_fit_context`` tears the callbacks down afterwards, also when
    the fit raises.

    Parameters
    ----------
    estimator : estimator with ``CallbackSupportMixin``
    data : tuple ``(X, y, sample_weight)``
        The training data as the fit was given it, as the callbacks (e.g.
        ``ScoringMonitor``) should score it; ``sample_weight`` may be None.
    max_epochs : int
        The most epochs this fit can run (the length of a progress bar).
    task_name : str, default="epoch"
        Name of one epoch's task, numbered from 0.
    """

    def __init__(self, estimator, data, max_epochs, task_name="epoch"):
        X, y, sample_weight = data
        metadata = {} if sample_weight is None else {"sample_weight": sample_weight}
        self._hook_kwargs = dict(estimator=estimator, X=X, y=y, metadata=metadata)
        self._task_name = task_name
        self._n_begun = 0
        self._root = estimator._init_callback_context(max_subtasks=max_epochs)
        self._root.call_on_fit_task_begin(**self._hook_kwargs)
        self._epoch = None

    def begin_epoch(self):
        self._epoch = self._root.subcontext(task_name=f"{self._task_name} {self._n_begun}")
        self._n_begun += 1
        self._epoch.call_on_fit_task_begin(**self._hook_kwargs)

    def end_epoch(self, fitted_attributes=None):
        """End the current epoch; True when a callback asks to stop.

        ``fitted_attributes`` is a callable returning the attributes a model stopped here
        would have (evaluated only if a callback needs that model), or None for an epoch
        that did no work.
        """
        return bool(self._epoch.call_on_fit_task_end(
            **self._hook_kwargs, reconstruction_attributes=fitted_attributes))

    def end_fit(self):
        self._root.call_on_fit_task_end(**self._hook_kwargs, reconstruction_attributes={})


@contextlib.contextmanager
def unchanged_on_failure(estimator):
    """Run a fit that leaves ``estimator`` as it was when it fails.

    The fits build their new fitted state aside and commit it at their end; what validation
    writes before that (scikit-learn's ``validate_data`` sets ``n_features_in_`` and
    ``feature_names_in_``, the classifiers their classes) is put back here when the fit
    raises, so a failed fit changes no attribute (the callbacks' own, which scikit-learn
    tears down after the fit, are left to it). Ctrl-C is the one deliberate exception: a
    fit that committed the weights trained so far raises :class:`KeptInterrupt`, which
    leaves the estimator as the fit left it; a Ctrl-C before anything was trained restores
    it like any failure.
    """
    before = dict(vars(estimator))
    try:
        yield
    except KeptInterrupt:
        raise
    except BaseException:
        callbacks = {name: value for name, value in vars(estimator).items()
                     if name in CALLBACK_ATTRIBUTES}
        vars(estimator).clear()
        vars(estimator).update({name: value for name, value in before.items()
                                if name not in CALLBACK_ATTRIBUTES}, **callbacks)
        raise


class KeptInterrupt(KeyboardInterrupt):
    """The KeyboardInterrupt a fit raises again after committing the weights trained until a
    Ctrl-C (a KeyboardInterrupt, so that scripts and searches still stop)."""


class DeferredInterrupt:
    """Holds a Ctrl-C during training until the end of the current batch.

    Inside ``with DeferredInterrupt() as interrupt:``, a first SIGINT only records the
    request, and :meth:`check`, called after each batch's step, raises the
    KeyboardInterrupt there, so that the weights and the optimiser's state are those of a
    finished step. A second Ctrl-C interrupts at once. Where Python's own handler is not
    the one in place (a thread other than the main one, or a handler of the user's), signals
    are left as they are and a KeyboardInterrupt comes wherever it comes.
    """

    def __init__(self):
        self.requested = self.raised = False
        self._previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame):
        if self.requested:  # a second Ctrl-C: now
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        """Raise the KeyboardInterrupt of a Ctrl-C held since the last check."""
        if self.requested:
            self.requested, self.raised = False, True
            raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
