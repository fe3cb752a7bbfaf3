"""scikit-learn's callbacks (``sklearn.callback``, from scikit-learn 1.9): the support mixin,
kept out of a saved model, and the hooks around a fit and each of its epochs."""

from __future__ import annotations

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
