"""The multi-layer perceptron's shared estimator layer: validation, the training loop and the
fitted state of :class:`~skdnn.MLPClassifierFromScratch` and
:class:`~skdnn.MLPRegressorFromScratch`.

The two estimators differ only in their output layer and loss, how they encode targets,
and how they score; each supplies those through a handful of small methods
(:meth:`BaseMLPFromScratch._validate_input`, ``_sample_weight``, ``_out_activation``,
``_stratify`` and ``_score_outputs``). Everything else is here, written once.

The training loop reads top to bottom as small named steps, each taking the one
:class:`_Training` that holds what they share::

    _fit                               a failed fit leaves every attribute as it was
      _fit_checked                     validate, build the network, split off frozen layers
        _fit_lbfgs(run)                SciPy's L-BFGS on the flat parameter vector, or
        _fit_stochastic(run, ...)      the epoch loop of sgd / adam:
          _run_epoch(run)                one pass over shuffled mini-batches
          _diverged                      a loss that is not finite or rose 10,000-fold
          _evaluate / StoppingRule       validation score or training-loss plateau, against
                                         the record's best
          optimizer.after_epoch / _on_plateau   the learning-rate schedule
        _commit                        the fitted attributes, only once training succeeded

All calculus lives in the engine, :mod:`skdnn.nn`.
"""

from __future__ import annotations

import copy
import functools
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result

from ._blocks import BLOCK_MIB, in_row_blocks
from ._diagnostics import (
    CLASSIFIER,
    check_learned,
    divergence_cause,
    scale_causes,
    untrained_loss,
)
from ._docs import DocLinkMixin
from ._fine_tuning import FineTuningMixin, copy_hidden_layers, probe, split
from ._training import (
    CallbackSupportMixin,
    DeferredInterrupt,
    EpochCallbacks,
    KeptInterrupt,
    Record,
    StoppingRule,
    generator,
    unchanged_on_failure,
)
from ._validation import validate_numeric
from ._warnings import warn
from .nn import optimizers
from .nn.activations import HIDDEN_ACTIVATIONS
from .nn.init import glorot_uniform
from .nn.losses import output_loss, output_values, prior_loss
from .nn.network import Network, Params, Trace
from .nn.workspace import minibatches

#: The most training rows whose score a finished fit compares with the constant prediction's
#: (``check_learned``): a pass over every row cost a quarter to a half of a one-epoch fit
#: (10,000 rows through (1024, 1024), and 4,000 sparse rows of 20,000 features).
SCORE_ROWS = 2000


def logits_in_blocks(network, params, X, block_mib=BLOCK_MIB):
    """``network.logits(params, X)``, computed a block of rows at a time.

    Memory then holds the hidden activations of one block: each row needs about two arrays
    of the widest layer at once (a layer's input and output). Each row's values are computed
    as they would be alone: the result equals the one-block product to float precision.
    """
    row_bytes = 2 * max(network.layer_units) * np.dtype(network.dtype).itemsize
    X = X.tocsr() if sp.issparse(X) else X  # row slices
    return in_row_blocks(lambda rows: network.logits(params, X[rows]), X.shape[0], row_bytes,
                         block_mib)


def outputs_in_blocks(network, params, X, block_mib=BLOCK_MIB):
    """``network.outputs(params, X)`` (probabilities or predictions), a block of rows at a
    time (:func:`logits_in_blocks`)."""
    z = logits_in_blocks(network, params, X, block_mib)
    return output_values(z, network.out_activation, out=z)


#: A loss this many times the first epoch's (or 1, if larger) counts as a divergence.
_DIVERGENCE_FACTOR = 1e4


@dataclass
class TrainingRecord(Record):
    """What training has produced besides the weights: the fitted state of a fit
    (:class:`~skdnn._base.Record`). Each field ``name`` is the fitted attribute ``name_``
    of scikit-learn's MLP, except the last three, private attributes ``_name``."""

    loss_curve: list = field(default_factory=list)
    t: int = 0
    n_iter: int = 0
    loss: float | None = None
    best_loss: float | None = None
    validation_scores: list | None = None
    validation_loss_curve: list | None = None
    best_validation_score: float | None = None
    best_validation_loss: float | None = None
    no_improvement_count: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None

    _PRIVATE = ("no_improvement_count", "optimizer_state", "rng_state")
    _LISTS = ("loss_curve", "validation_scores", "validation_loss_curve")

    def add_epoch(self, loss, n_samples):
        self.n_iter += 1
        self.t += n_samples
        self.loss = loss
        self.loss_curve.append(loss)


class _Data(NamedTuple):
    """Training (or validation) data: inputs, encoded targets, weights, and the targets as
    given (what the score compares predictions with)."""

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None
    y: np.ndarray


@dataclass
class _Training:
    """What the steps of one fit share: the network being trained and its flat parameters,
    the data, the training record, the generator, the callbacks and ``fitted(theta)`` (the
    attributes of a model stopped at ``theta``); the epoch loop adds the train and
    validation split, the stopping rule, the optimiser and its state, the gradient buffer
    and the batch size."""

    network: Network
    theta: np.ndarray
    data: _Data
    record: TrainingRecord
    rng: np.random.Generator
    callbacks: EpochCallbacks
    fitted: Callable
    train: _Data | None = None
    val: _Data | None = None
    rule: StoppingRule | None = None
    optimizer: object = None
    state: dict | None = None
    grad: np.ndarray | None = None
    batch_size: int = 0
    interrupt: DeferredInterrupt | None = None


class _Interrupted(Exception):
    """A KeyboardInterrupt during training: the epoch (or iteration) it stopped, numbered
    from 1, whether that epoch was complete, and the parameters to keep."""

    def __init__(self, epoch, complete, theta):
        super().__init__(epoch)
        self.epoch, self.complete, self.theta = epoch, complete, theta


class _UnavailableError(AttributeError, ValueError):
    """A method that these parameters make unavailable, and an invalid combination."""


class stochastic_only:
    """Decorator of ``partial_fit``: like scikit-learn's ``available_if``, the method exists
    only when ``estimator._check_solver()`` passes, but the check's own error propagates (so
    that the one for early stopping is a ValueError as well as an AttributeError)."""

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self.method
        try:
            estimator._check_solver()
        except _UnavailableError:
            raise
        except AttributeError as cause:  # worded as available_if words it
            raise AttributeError(f"This {type(estimator).__name__!r} has no attribute "
                                 f"{self.method.__name__!r}") from cause
        return types.MethodType(self.method, estimator)


def _dead_units(network, theta, X, n_rows=10_000):
    """``[(layer, n_dead, n_units), ...]``: for each hidden layer (from 1), how many of its
    units output 0 on every one of the first ``n_rows`` rows of ``X``."""
    trace = Trace([], [], [], [])
    network.logits(network.unpack(theta), X[:n_rows], trace=trace)
    return [(layer, int(np.sum(~np.any(features != 0, axis=0))), features.shape[1])
            for layer, features in enumerate(trace.outputs, start=1)]


def _diverged(loss, theta, loss_curve):
    """True when ``loss`` or ``theta`` is not finite, or ``loss`` rose 10,000-fold over the
    first epoch's loss (or over 1, if larger)."""
    first = loss_curve[0] if loss_curve else loss
    return not (np.isfinite(loss) and np.isfinite(theta).all()) or bool(
        loss > _DIVERGENCE_FACTOR * max(first, 1.0))


class BaseMLPFromScratch(FineTuningMixin, DocLinkMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of skdnn's multi-layer perceptrons (not for direct use).

    See :class:`~skdnn.MLPClassifierFromScratch` and :class:`~skdnn.MLPRegressorFromScratch`
    for the parameters and attributes.
    """

    #: How a failed fit's diagnosis names the score and the constant predictor.
    _diagnostic_terms = CLASSIFIER

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *optimizers.OPTIMIZERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(optimizers.SCHEDULES))],
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
        "early_stopping_metric": [StrOptions({"score", "loss"})],
        "pretrained": [HasMethods(["predict"]), None],
        "n_frozen_layers": [Interval(Integral, 0, None, closed="left")],
        "fine_tuning": [StrOptions({"probe_then_tune", "tune"})],
    }

    # -- what each estimator supplies --------------------------------------------------------
    def _validate_input(self, X, y, incremental, reset):
        """``(X, y, Y)``: validated input, targets as given, and targets encoded for the
        output layer (2-D)."""
        raise NotImplementedError

    def _sample_weight(self, sample_weight, X, y, incremental):
        """The per-sample weights of training (an array, or None for all ones)."""
        raise NotImplementedError

    def _out_activation(self):
        """The output layer: a key of :data:`skdnn.nn.losses.LOSSES`."""
        raise NotImplementedError

    def _stratify(self, y, Y):
        """What the early-stopping split is stratified by, or None."""
        return None

    def _score_outputs(self, outputs, y, sample_weight):
        """The validation score of the output layer's values ``outputs`` against ``y``."""
        raise NotImplementedError

    def _prior_score(self, X, y, sample_weight):
        """The score of the best constant prediction (a Dummy estimator's) on ``(X, y)``."""
        raise NotImplementedError

    # -- public API ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or a multilabel indicator matrix (classifier), or real-valued
            targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        A Ctrl-C (KeyboardInterrupt) stops sgd and adam at the end of the current
        mini-batch, and lbfgs at the end of the current iteration (keeping the last complete
        iteration's parameters). The weights trained so far (with early stopping, the best
        validated ones) become the fitted model, a ``UserWarning`` says at which epoch, and
        the KeyboardInterrupt is raised again, so that scripts and searches still stop.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        """Whether ``partial_fit`` is available: only for a stochastic solver without early
        stopping."""
        if self.solver not in optimizers.OPTIMIZERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        if self.early_stopping:
            # One batch at a time has no held-out set to watch. scikit-learn raises a
            # ValueError when partial_fit is called; this is one, and an AttributeError too,
            # so that hasattr(estimator, "partial_fit") is False, as for lbfgs.
            raise _UnavailableError("partial_fit does not support early_stopping=True.")
        return True

    def __sklearn_is_fitted__(self):
        # Fitted means trained weights: a fit that failed after validating its input has set
        # n_features_in_ (and classes_), but must still count as unfitted.
        return hasattr(self, "coefs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- the fitted network ----------------------------------------------------------------
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

    def _check_features(self, X):
        return validate_numeric(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )

    def _forward(self, X):
        """The output layer's values on ``X``, shape (n_samples, n_outputs), predicted in
        blocks of rows (:func:`outputs_in_blocks`)."""
        return outputs_in_blocks(self._network(), self._params(), self._check_features(X))

    # -- training: set-up --------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, incremental):
        # Overflow is detected by checking the loss and the weights after each epoch (and
        # raised as a ValueError), not by NumPy's warnings, which hostile input (values
        # near 1e300) would otherwise set off deep inside the engine.
        with unchanged_on_failure(self), np.errstate(over="ignore", invalid="ignore"):
            return self._fit_checked(X, y, sample_weight, incremental)

    def _check_training_options(self):
        self._hidden_sizes()
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout > 0 needs a stochastic solver ('sgd' or 'adam'): random masks make "
                "the objective noisy, which breaks lbfgs's line search."
            )

    def _fit_checked(self, X, y, sample_weight, incremental):
        self._check_training_options()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, Y = self._validate_input(X, y, incremental, reset=first_pass)
        # scipy's last L-BFGS iteration begun is never run: one more than max_iter.
        n_tasks = (self.max_iter + 1 if self.solver == "lbfgs"
                   else 1 if incremental else self.max_iter)
        callbacks = EpochCallbacks(self, (X, y, sample_weight), n_tasks,
                                   "iteration" if self.solver == "lbfgs" else "epoch")
        data = _Data(X, Y, self._sample_weight(sample_weight, X, y, incremental), y)
        rng = self._generator(incremental, first_pass)
        network, theta, record = self._start(data, rng, first_pass, incremental)
        n_epochs_before = len(record.loss_curve)
        n_frozen = self._n_frozen(network)
        if n_frozen:
            # Frozen layers are a fixed feature map: their output is computed once, and the
            # layers above it train on that output as a smaller network.
            top, top_theta, features, merge = split(network, theta, X, n_frozen)
        else:  # the whole network trains on X; the fitted model gets a copy of its weights
            top, top_theta, features, merge = network, theta, X, np.copy
        run = _Training(top, top_theta, data._replace(X=features), record, rng, callbacks,
                        fitted=lambda top_theta: self._fitted_attributes(network,
                                                                         merge(top_theta)))
        try:
            if self.solver == "lbfgs":
                top_theta = self._fit_lbfgs(run)
            else:
                # BLAS keeps its threads: on an idle machine two made whole fits up to a
                # third faster than one (benchmarks/README.md, "BLAS threads of training").
                top_theta = self._fit_stochastic(run, incremental)
        except _Interrupted as interrupted:
            return self._keep_interrupted(network, merge(interrupted.theta), run, interrupted)
        theta = merge(top_theta)
        # With early stopping, a diverged epoch's loss is recorded and the best weights kept.
        keeps_best = self.early_stopping and self.solver != "lbfgs"
        if not (np.isfinite(theta).all() and (keeps_best or np.isfinite(record.loss))):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed. " + " ".join(
                    scale_causes(X, self._diagnosed_target(network, Y), data.sample_weight))
            )
        # partial_fit is judged on all its calls' losses, and not on one epoch's score.
        curve = record.loss_curve[0 if incremental else n_epochs_before:] or [record.loss]
        if keeps_best and _diverged(curve[-1], theta, curve[:-1]):
            curve = curve[:-1]  # the model is the best validated one, from before it
        check_learned(
            curve, prior_loss(Y, network.out_activation, data.sample_weight), X,
            None if incremental else partial(self._training_scores, network, theta, data),
            terms=self._diagnostic_terms,
            learning_rate=None if self.solver == "lbfgs" else self.learning_rate_init,
            dead_units=partial(_dead_units, network, theta, X),
            start=untrained_loss(Y, network.out_activation, data.sample_weight),
            target=self._diagnosed_target(network, Y), sample_weight=data.sample_weight,
        )
        record.rng_state = rng.bit_generator.state  # a plain dict
        self._commit(network, theta, record)
        callbacks.end_fit()
        return self

    @staticmethod
    def _diagnosed_target(network, Y):
        """The target whose scale a diagnosis may name: a squared-error regressor's (an
        identity output, which must reach the target's scale), else None."""
        return Y if network.out_activation == "identity" else None

    def _keep_interrupted(self, network, theta, run, interrupted):
        """Commit the weights trained until a KeyboardInterrupt, warn, and re-raise it."""
        record = run.record
        if not np.isfinite(theta).all():  # nothing worth keeping
            raise KeyboardInterrupt
        what, n = ("iteration" if self.solver == "lbfgs" else "epoch"), interrupted.epoch
        kept = ("the weights of the best validation epoch" if self.early_stopping
                and self.solver != "lbfgs" else "the weights trained until then")
        when = (f"at the end of {what} {n}: the model keeps {kept}" if interrupted.complete
                else f"in {what} {n}: the model keeps the parameters of iteration {n - 1}, "
                "the last complete one" if what == "iteration"
                else f"in {what} {n}: the model keeps {kept}, after {n - 1} complete "
                f"{what}(s) and the batches of {what} {n} that ran")
        record.rng_state = run.rng.bit_generator.state
        self._commit(network, theta, record)
        run.callbacks.end_fit()
        warn(f"Training was interrupted (KeyboardInterrupt) {when}.", UserWarning)
        raise KeptInterrupt

    def _generator(self, incremental, first_pass):
        """The fit's one random generator. partial_fit goes on with the random stream
        (shuffles, dropout masks) where the previous call left it."""
        rng_state = getattr(self, "_rng_state", None)
        if not incremental or first_pass or rng_state is None:
            return generator(self.random_state)
        rng = np.random.default_rng()
        rng.bit_generator.state = rng_state
        return rng

    def _start(self, data, rng, first_pass, incremental):
        """The network to train, its starting parameters and its training record: new
        ones, or the current ones (also weights a user assigned by hand)."""
        X, Y = data.X, data.Y
        base = self._pretrained_model() if first_pass else None
        hidden_sizes, spec = self._architecture(base, X, first_pass)
        network = Network([X.shape[1], *hidden_sizes, Y.shape[1]], spec["activation"],
                          self._out_activation(), negative_slope=spec["negative_slope"],
                          dtype=X.dtype)
        if not first_pass:
            theta = network.pack(self.coefs_, self.intercepts_, getattr(self, "slopes_", ()))
            record = TrainingRecord.of(self)
            if not incremental:  # only partial_fit resumes the optimiser
                record.optimizer_state = None
            return network, theta, record
        init = partial(glorot_uniform, activation=spec["activation"], dtype=X.dtype)
        theta = network.init_params(rng, init)
        if base is not None:  # fine-tuning: the pretrained network's hidden layers
            copy_hidden_layers(network, theta, base._params())
            if self.fine_tuning == "probe_then_tune" and not incremental:
                theta = probe(network, theta, data)
        return network, theta, TrainingRecord()

    def _training_scores(self, network, theta, data):
        """The score of ``theta`` and that of the best constant prediction, both on the same
        rows of ``data``: every row up to ``SCORE_ROWS``, else evenly spaced ones."""
        rows = slice(None, None, -(-data.X.shape[0] // SCORE_ROWS))  # a step of ceil(n / max)
        X, y = data.X[rows], data.y[rows]
        sample_weight = None if data.sample_weight is None else data.sample_weight[rows]
        # In blocks of 1/4 MiB: the check adds about the memory of one batch of training.
        outputs = outputs_in_blocks(network, network.unpack(theta), X, block_mib=0.25)
        return (self._score_outputs(outputs, y, sample_weight),
                self._prior_score(X, y, sample_weight))

    def _architecture(self, base, X, first_pass):
        """``(hidden layer sizes, {"activation", "negative_slope"})`` of the network to
        train: the pretrained one's, this estimator's, or the current network's."""
        if base is not None:
            return self._pretrained_architecture(base, X)
        own = {"activation": self.activation, "negative_slope": self.negative_slope}
        if first_pass:
            return self._hidden_sizes(), own
        # Continue the current network, whatever built it (a fit, or a user's hands).
        spec = getattr(self, "_hidden_spec", None) or own
        return [np.shape(W)[1] for W in self.coefs_[:-1]], dict(spec)

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    # -- training: the solvers ---------------------------------------------------------------
    def _fit_lbfgs(self, run):
        """SciPy's L-BFGS-B on the flat parameters; returns the trained vector."""
        network, data, record, callbacks = run.network, run.data, run.record, run.callbacks
        dtype = network.dtype
        grad = np.empty(network.size, dtype=dtype)

        def objective(x):
            loss = network.loss_and_gradient(x.astype(dtype, copy=False), grad, data.X, data.Y,
                                             sample_weight=data.sample_weight, alpha=self.alpha)
            return loss, grad.astype(np.float64)

        finished = [run.theta]  # the parameters of the last finished iteration

        def record_iteration(intermediate_result):
            record.loss_curve.append(float(intermediate_result.fun))
            finished[0] = intermediate_result.x.astype(dtype)
            callbacks.end_epoch(partial(run.fitted, finished[0]))
            callbacks.begin_epoch()
            interrupt.check()

        # As scipy reports only finished iterations, the last iteration begun never runs.
        callbacks.begin_epoch()
        n_before = len(record.loss_curve)
        # A Ctrl-C waits for the end of the current iteration, whose parameters are kept.
        with DeferredInterrupt() as interrupt:
            try:
                result = scipy.optimize.minimize(
                    objective, run.theta.astype(np.float64), method="L-BFGS-B", jac=True,
                    callback=record_iteration,
                    options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
                )
            except KeyboardInterrupt:
                record.n_iter = len(record.loss_curve) - n_before
                record.loss = record.loss_curve[-1] if record.n_iter else None
                # Held until an iteration's end, where it is complete; else the one begun.
                complete = interrupt.raised
                raise _Interrupted(record.n_iter + (not complete), complete,
                                   finished[0]) from None
        callbacks.end_epoch()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record.n_iter = _check_optimize_result("lbfgs", result, self.max_iter)
        for caught_warning in caught:  # scikit-learn's words, at the user's line
            warn(str(caught_warning.message), caught_warning.category)
        record.loss = float(result.fun)
        return result.x.astype(dtype)

    def _fit_stochastic(self, run, incremental):
        """The epoch loop of sgd and adam; returns the trained (or best) vector."""
        early_stopping, record, theta = self.early_stopping, run.record, run.theta
        if sp.issparse(run.data.X):
            run.data = run.data._replace(X=run.data.X.tocsr())  # row slicing for mini-batches
        run.train, run.val = (self._validation_split(run.data, run.rng) if early_stopping
                              else (run.data, None))
        run.rule = self._stopping_rule(record, early_stopping)
        run.optimizer = self._optimizer()
        # A copy: the committed state stays as it was should this call fail.
        run.state = run.optimizer.resume(copy.deepcopy(record.optimizer_state), theta)
        run.grad, best_theta = np.empty_like(theta), theta.copy() if early_stopping else theta
        run.batch_size = self._batch_size(run.train.X.shape[0])
        record.n_iter = 0  # epochs of this call, as in scikit-learn
        # Ctrl-C waits for the end of the current batch (DeferredInterrupt); there, or
        # wherever else a KeyboardInterrupt comes from (a callback), training stops and
        # keeps what it has trained (see _fit_checked).
        epoch = 1  # the epoch running, from 1
        with DeferredInterrupt() as run.interrupt:
            try:
                for _ in range(self.max_iter):
                    epoch = record.n_iter + 1
                    if self._train_epoch(run, best_theta, incremental):
                        break
            except KeyboardInterrupt:
                record.optimizer_state = run.state
                raise _Interrupted(epoch, record.n_iter == epoch, best_theta) from None
        record.optimizer_state = run.state
        return best_theta

    # -- training: the steps of an epoch -----------------------------------------------------
    def _train_epoch(self, run, best_theta, incremental):
        """One epoch of sgd or adam and what follows it (recording, validation, the
        stopping rule, the callbacks); returns whether training stops here."""
        early_stopping, record, theta = self.early_stopping, run.record, run.theta
        run.callbacks.begin_epoch()
        loss = self._run_epoch(run)
        diverged = _diverged(loss, theta, record.loss_curve)
        # With early stopping, the best validated weights (if any) survive a divergence.
        if diverged and not (early_stopping and np.isfinite(run.rule.best_key(record)[0])):
            raise self._divergence_error(record.n_iter + 1, loss, run)
        record.add_epoch(loss, run.train.X.shape[0])
        if self.verbose:
            print(f"Iteration {record.n_iter}, loss = {loss:.8f}")
        if early_stopping:
            if self._evaluate(run, diverged):
                best_theta[...] = theta
        elif run.rule.update(record, (loss,)):
            record.best_loss = loss
        if run.callbacks.end_epoch(partial(run.fitted, theta)) or diverged:
            return True  # a callback asked to stop, or the best weights are all that is left
        run.optimizer.after_epoch(run.state, record.t)
        if record.no_improvement_count > self.n_iter_no_change:
            if not self._on_plateau(run):
                return True
            record.no_improvement_count = 0
        if incremental:
            return True
        if record.n_iter == self.max_iter:
            warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                 "optimization hasn't converged yet.", ConvergenceWarning)
        return False

    def _optimizer(self):
        """The solver's optimiser from the registry, with this estimator's parameters."""
        cls = optimizers.OPTIMIZERS[self.solver]
        return cls(**{name: getattr(self, name) for name in cls.PARAMETERS})

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warn("Got `batch_size` less than 1 or larger than sample size. It is going to be "
                 "clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _run_epoch(self, run):
        """One pass over the training data in mini-batches, an optimiser step per batch;
        returns the epoch's loss (the batches' losses averaged over the samples). A Ctrl-C
        that ``run.interrupt`` (a :class:`~skdnn._base.DeferredInterrupt`) held is raised
        once the batch's step is done."""
        network, theta, train = run.network, run.theta, run.train
        n_samples = train.X.shape[0]
        order = run.rng.permutation(n_samples) if self.shuffle else None
        # Shuffled batches are gathered into arrays allocated once; unshuffled ones are
        # views. The optimiser's scratch array is allocated once too.
        batches = minibatches((train.X, train.Y, train.sample_weight), run.batch_size,
                              order=order, workspace=network.workspace)
        scratch = network.workspace.array("scratch", (min(theta.size, optimizers.BLOCK),))
        accumulated = 0.0
        for X_batch, Y_batch, sw_batch in batches:
            batch_loss = network.loss_and_gradient(
                theta, run.grad, X_batch, Y_batch, sample_weight=sw_batch, alpha=self.alpha,
                dropout=self.dropout, rng=run.rng,
            )
            accumulated += batch_loss * X_batch.shape[0]
            run.optimizer.step(theta, run.grad, run.state, scratch)
            if run.interrupt is not None:
                run.interrupt.check()
        return accumulated / n_samples

    def _divergence_error(self, epoch, loss, run):
        # Raising leaves the fitted state as it was before this call (it is only committed
        # at the end of a fit), so no NaN weight is ever stored.
        train = run.train
        cause = divergence_cause(train.X, self.learning_rate_init,
                                 self._diagnosed_target(run.network, train.Y),
                                 train.sample_weight)
        if not np.isfinite(loss):  # scikit-learn's message, which its users may look for
            return ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. Training diverged in epoch {epoch} "
                f"(the loss became {loss:.3g}). {cause}"
            )
        return ValueError(f"Training diverged in epoch {epoch}: the loss became {loss:.3g}. "
                          f"{cause}")

    def _stopping_rule(self, record, early_stopping):
        """The rule for this fit, which reads its best epoch from the record (setting up the
        record's fields for this mode on a first fit, those of the other mode to None)."""
        if not early_stopping:
            record.validation_scores = record.validation_loss_curve = None
            record.best_validation_score = record.best_validation_loss = None
            if record.best_loss is None:
                record.best_loss = np.inf
            return StoppingRule(self.tol, lambda record: (record.best_loss,))
        if record.validation_scores is None:
            record.validation_scores, record.validation_loss_curve = [], []
            record.best_validation_score, record.best_validation_loss = -np.inf, np.inf
        record.best_loss = None
        return StoppingRule(self.tol, lambda record: self._validation_key(
            record.best_validation_score, record.best_validation_loss))

    def _evaluate(self, run, diverged):
        """Score the validation set after an epoch and update the stopping rule; True when
        these are the best weights so far."""
        network, val, record = run.network, run.val, run.record
        z = None if diverged else logits_in_blocks(network, network.unpack(run.theta), val.X)
        if z is None or not np.isfinite(z).all():  # overflowing weights have no score
            score = val_loss = np.nan
        else:
            val_loss = output_loss(z, val.Y, network.out_activation, val.sample_weight)
            outputs = output_values(z, network.out_activation, out=z)
            score = float(self._score_outputs(outputs, val.y, val.sample_weight))
        if diverged:
            warn("Training diverged; the weights of the best validation epoch are kept.",
                 ConvergenceWarning)
        record.validation_scores.append(score)
        record.validation_loss_curve.append(val_loss)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if not run.rule.update(record, self._validation_key(score, val_loss)):
            return False
        record.best_validation_score, record.best_validation_loss = score, val_loss
        return True

    def _validation_key(self, score, val_loss):
        """How early stopping ranks an epoch (a :class:`StoppingRule` key, lower is better):
        by the validation loss, or by the score."""
        return (val_loss,) if self.early_stopping_metric == "loss" else (-score,)

    def _on_plateau(self, run):
        """The stopping rule fired: True to go on (the schedule lowered the learning rate),
        False to stop."""
        what = "Validation score" if self.early_stopping else "Training loss"
        msg = (f"{what} did not improve more than tol={self.tol:f} for "
               f"{self.n_iter_no_change} consecutive epochs.")
        go_on = run.optimizer.on_plateau(run.state)
        if self.verbose:
            print(f"{msg} Setting learning rate to {run.state['learning_rate']:f}" if go_on
                  else f"{msg} Stopping.")
        return go_on

    def _validation_split(self, data, rng):
        """The early-stopping split: ``(train, validation)``, each a :class:`_Data`."""
        stratify = self._stratify(data.y, data.Y)
        n_samples = data.X.shape[0]
        # At least 2 validation samples, and one per class when stratifying.
        n_val = max(int(np.ceil(self.validation_fraction * n_samples)), 2)
        if stratify is not None:
            n_val = max(n_val, len(np.unique(data.y)))
        if n_samples - n_val < 2:
            raise ValueError(
                f"The validation set is too small: {n_samples} samples cannot be split into a "
                f"training set and a validation set of {n_val}. Increase the size of your "
                "dataset, or set early_stopping=False."
            )
        seed = int(rng.integers(np.iinfo(np.int32).max))
        arrays = [data.X, data.Y, data.y] + ([] if data.sample_weight is None
                                             else [data.sample_weight])
        # Stratifying raises a ValueError when a class has a single member, as in
        # scikit-learn: such a class cannot be on both sides.
        parts = train_test_split(*arrays, test_size=n_val, random_state=seed, stratify=stratify)
        if data.sample_weight is None:
            parts += [None, None]
        train, val = parts[0::2], parts[1::2]
        return _Data(train[0], train[1], train[3], train[2]), _Data(val[0], val[1], val[3],
                                                                    val[2])

    # -- the fitted state --------------------------------------------------------------------
    def _fitted_attributes(self, network, theta):
        """The fitted attributes of ``network`` with parameters ``theta`` (views of it)."""
        params = network.unpack(theta)
        state = {"coefs_": params.coefs, "intercepts_": params.intercepts,
                 "n_layers_": len(network.layer_units), "n_outputs_": network.layer_units[-1],
                 "out_activation_": network.out_activation,
                 "_hidden_spec": {"activation": network.hidden.name,
                                  "negative_slope": network.negative_slope}}
        if network.has_slopes:
            state["slopes_"] = params.slopes
        return state

    def _commit(self, network, theta, record):
        """Set the fitted attributes: the network's and the training record's."""
        if hasattr(self, "slopes_") and not network.has_slopes:
            del self.slopes_
        for name, value in {**self._fitted_attributes(network, theta),
                            **record.attributes()}.items():
            setattr(self, name, value)
