"""The multi-layer perceptron's shared estimator layer: validation, targets, scores and the
fitted state of :class:`~skdnn.MLPClassifierFromScratch` and
:class:`~skdnn.MLPRegressorFromScratch`.

The two estimators differ only in their output layer and loss, how they encode targets,
and how they score; each supplies those through a handful of small methods
(:meth:`BaseMLPFromScratch._validate_input`, ``_sample_weight``, ``_out_activation``,
``_stratify`` and ``_score_outputs``). Training is the one loop of :mod:`skdnn._train`::

    _fit                       a failed fit leaves every attribute as it was
      _fit_checked             validate, build the network, split off frozen layers
        _fit_lbfgs(fit)        SciPy's L-BFGS on the flat parameter vector, or
        fit.fit_loop()         the epochs of sgd / adam (skdnn._train.loop)
        check_learned          a fit that learned nothing: its likely cause
        _commit                the fitted attributes, only once training succeeded

All calculus lives in the engine, :mod:`skdnn.nn`.
"""

from __future__ import annotations

import copy
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import check_is_fitted

from ._diagnostics import (
    CLASSIFIER,
    check_learned,
    divergence_cause,
    scale_causes,
    untrained_loss,
)
from ._docs import DocLinkMixin
from ._fine_tuning import FineTuningMixin, copy_hidden_layers, probe, split
from ._train import (
    CallbackSupportMixin,
    Data,
    DeferredInterrupt,
    EpochCallbacks,
    Fit,
    Interrupted,
    KeptInterrupt,
    StoppingRule,
    TrainingState,
    UnavailableError,
    diverged,
    generator,
    interrupted_message,
    outputs_in_blocks,
    training_scores,
    unchanged_on_failure,
    validation_key,
    validation_split,
)
from ._validation import validate_numeric
from ._warnings import warn
from .nn import optimizers
from .nn.activations import HIDDEN_ACTIVATIONS
from .nn.losses import prior_loss
from .nn.network import Network, Params


def _dead_units(network, theta, X, n_rows=10_000):
    """``[(layer, n_dead, n_units), ...]``: for each hidden layer (from 1), how many of its
    units output 0 on every one of the first ``n_rows`` rows of ``X``."""
    _, trace = network.forward(theta, X[:n_rows])
    return [(layer, int(np.sum(~np.any(features != 0, axis=0))), features.shape[1])
            for layer, features in enumerate(trace.outputs, start=1)]


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
            raise UnavailableError("partial_fit does not support early_stopping=True.")
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

    def _theta(self, network):
        """The fitted parameters as ``network``'s flat vector (a new one)."""
        return network.pack(self.coefs_, self.intercepts_, getattr(self, "slopes_", ()))

    def _check_features(self, X):
        return validate_numeric(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )

    def _forward(self, X):
        """The output layer's values on ``X``, shape (n_samples, n_outputs), predicted in
        blocks of rows (:func:`skdnn._train.outputs_in_blocks`)."""
        params = Params(list(self.coefs_), list(self.intercepts_),
                        list(getattr(self, "slopes_", [])))  # views: no copy of the weights
        return outputs_in_blocks(self._network(), params, self._check_features(X))

    def as_engine(self, dtype=np.float64):
        """The fitted model as the engine's network and its flat parameters.

        What :mod:`skdnn.explain` differentiates: ``network.forward(theta, X)`` gives the
        logits, and ``network.backward`` their gradients (:class:`skdnn.nn.layout.Model`).

        Parameters
        ----------
        dtype : numpy dtype, default=numpy.float64
            Gradients of a float32 model are still computed exactly in float64.

        Returns
        -------
        network : skdnn.nn.network.Network
            The fitted network's structure, in ``dtype``.
        theta : ndarray of shape (network.size,)
            A new vector: the fitted weights, biases and slopes.
        """
        check_is_fitted(self)
        network = self._network(dtype=dtype)
        return network, self._theta(network)

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
        data = Data(X, Y, self._sample_weight(sample_weight, X, y, incremental), y)
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
        train = data._replace(X=features)

        def fitted(top_theta):
            return self._fitted_attributes(network, merge(top_theta))

        try:
            if self.solver == "lbfgs":
                top_theta = self._fit_lbfgs(top, top_theta, train, record, callbacks, fitted)
            else:
                # BLAS keeps its threads: on an idle machine two made whole fits up to a
                # third faster than one (benchmarks/README.md, "BLAS threads of training").
                fit = self._stochastic_fit(top, top_theta, train, record, rng, callbacks,
                                           fitted, incremental)
                fit.fit_loop()
                top_theta = fit.theta
        except Interrupted as interrupted:
            return self._keep_interrupted(network, merge(interrupted.theta), record, rng,
                                          callbacks, interrupted)
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
        if keeps_best and diverged(curve[-1], theta, curve[:-1]):
            curve = curve[:-1]  # the model is the best validated one, from before it
        check_learned(
            curve, prior_loss(Y, network.out_activation, data.sample_weight), X,
            None if incremental else partial(training_scores, network, theta, data,
                                             self._score_outputs, self._prior_score),
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

    def _keep_interrupted(self, network, theta, record, rng, callbacks, interrupted):
        """Commit the weights trained until a KeyboardInterrupt, warn, and re-raise it."""
        if not np.isfinite(theta).all():  # nothing worth keeping
            raise KeyboardInterrupt
        lbfgs = self.solver == "lbfgs"
        message = interrupted_message(interrupted, "iteration" if lbfgs else "epoch",
                                      best=self.early_stopping and not lbfgs)
        record.rng_state = rng.bit_generator.state
        self._commit(network, theta, record)
        callbacks.end_fit()
        warn(message, UserWarning)
        raise KeptInterrupt

    def _generator(self, incremental, first_pass):
        """The fit's one random generator. partial_fit goes on with the random stream
        (shuffles, dropout masks) where the previous call left it."""
        resumes = incremental and not first_pass
        return generator(self.random_state, getattr(self, "_rng_state", None) if resumes
                         else None)

    def _start(self, data, rng, first_pass, incremental):
        """The network to train, its starting parameters and its training record: new
        ones, or the current ones (also weights a user assigned by hand)."""
        X, Y = data.X, data.Y
        base = self._pretrained_model() if first_pass else None
        hidden_sizes, spec = self._architecture(base, X, first_pass)
        network = Network([X.shape[1], *hidden_sizes, Y.shape[1]], spec["activation"],
                          self._out_activation(), negative_slope=spec["negative_slope"],
                          dtype=X.dtype, alpha=self.alpha, dropout=self.dropout)
        if not first_pass:
            record = TrainingState.of(self)
            if not incremental:  # only partial_fit resumes the optimiser
                record.optimizer_state = None
            return network, self._theta(network), record
        theta = network.init(rng)
        if base is not None:  # fine-tuning: the pretrained network's hidden layers
            base_network, base_theta = base.as_engine(dtype=network.dtype)
            copy_hidden_layers(network, theta, base_network.unpack(base_theta))
            if self.fine_tuning == "probe_then_tune" and not incremental:
                theta = probe(network, theta, data)
        return network, theta, TrainingState()

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
    def _fit_lbfgs(self, network, theta, data, record, callbacks, fitted):
        """SciPy's L-BFGS-B on the flat parameters; returns the trained vector. SciPy runs
        the iterations, so this is the one fit outside :meth:`skdnn._train.Loop.fit_loop`; it
        shares the record, the callbacks and Ctrl-C with it."""
        dtype = network.dtype
        grad = np.empty(network.size, dtype=dtype)

        def objective(x):
            loss = network.loss_and_gradient(x.astype(dtype, copy=False), grad, data.X, data.Y,
                                             sample_weight=data.sample_weight)
            return loss, grad.astype(np.float64)

        finished = [theta]  # the parameters of the last finished iteration

        def record_iteration(intermediate_result):
            record.loss_curve.append(float(intermediate_result.fun))
            finished[0] = intermediate_result.x.astype(dtype)
            callbacks.end_epoch(partial(fitted, finished[0]))
            callbacks.begin_epoch()
            interrupt.check()

        # As scipy reports only finished iterations, the last iteration begun never runs.
        callbacks.begin_epoch()
        n_before = len(record.loss_curve)
        # A Ctrl-C waits for the end of the current iteration, whose parameters are kept.
        with DeferredInterrupt() as interrupt:
            try:
                result = scipy.optimize.minimize(
                    objective, theta.astype(np.float64), method="L-BFGS-B", jac=True,
                    callback=record_iteration,
                    options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
                )
            except KeyboardInterrupt:
                record.n_iter = len(record.loss_curve) - n_before
                record.loss = record.loss_curve[-1] if record.n_iter else None
                # Held until an iteration's end, where it is complete; else the one begun.
                complete = interrupt.raised
                raise Interrupted(record.n_iter + (not complete), complete,
                                  finished[0]) from None
        callbacks.end_epoch()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record.n_iter = _check_optimize_result("lbfgs", result, self.max_iter)
        for caught_warning in caught:  # scikit-learn's words, at the user's line
            warn(str(caught_warning.message), caught_warning.category)
        record.loss = float(result.fun)
        return result.x.astype(dtype)

    def _stochastic_fit(self, network, theta, data, record, rng, callbacks, fitted,
                        incremental):
        """The :class:`~skdnn._train.Fit` of sgd and adam: the early-stopping split, the
        stopping rule, the optimiser (resuming its state for partial_fit)."""
        early_stopping = self.early_stopping
        if sp.issparse(data.X):
            data = data._replace(X=data.X.tocsr())  # row slicing for mini-batches
        train, val = (validation_split(data, self.validation_fraction, rng,
                                       self._stratify(data.y, data.Y))
                      if early_stopping else (data, None))
        record.watch(early_stopping)
        rule = StoppingRule(self.tol, self._best_key)
        optimizer = self._optimizer()
        # A copy: the committed state stays as it was should this call fail.
        state = optimizer.resume(copy.deepcopy(record.optimizer_state), theta)
        return Fit(network, theta, train, val, record, rng, callbacks, optimizer, state, rule,
                   score=self._score_outputs, rank=self._validation_key, fitted=fitted,
                   divergence=partial(self._divergence_error, network, train),
                   max_epochs=self.max_iter, batch_size=self._batch_size(train.X.shape[0]),
                   patience=self.n_iter_no_change, tol=self.tol, shuffle=self.shuffle,
                   incremental=incremental, verbose=self.verbose)

    def _best_key(self, record):
        """The stopping rule's key of the record's best epoch."""
        if record.validation_scores is None:
            return (record.best_loss,)
        return self._validation_key(record.best_validation_score, record.best_validation_loss)

    def _validation_key(self, score, val_loss):
        """How early stopping ranks an epoch: :func:`skdnn._train.validation_key`."""
        return validation_key(score, val_loss, classifier=is_classifier(self),
                              metric=self.early_stopping_metric)

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

    def _divergence_error(self, network, train, epoch, loss):
        # Raising leaves the fitted state as it was before this call (it is only committed
        # at the end of a fit), so no NaN weight is ever stored.
        cause = divergence_cause(train.X, self.learning_rate_init,
                                 self._diagnosed_target(network, train.Y),
                                 train.sample_weight)
        if not np.isfinite(loss):  # scikit-learn's message, which its users may look for
            return ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. Training diverged in epoch {epoch} "
                f"(the loss became {loss:.3g}). {cause}"
            )
        return ValueError(f"Training diverged in epoch {epoch}: the loss became {loss:.3g}. "
                          f"{cause}")

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
