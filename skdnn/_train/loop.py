"""The one training loop of every estimator, skorch-style::

    Loop.fit_loop()               epochs until end_epoch says stop; Ctrl-C keeps what
                                  kept() returns
      Fit.run_epoch()               shuffled mini-batches, one train_step each
        Fit.train_step(batch)         loss_and_gradient, gradient clipping, optimiser step
      Fit.end_epoch(loss)           record, divergence, evaluate (validation score and
                                    loss), stopping rule, callbacks, schedule, plateau

It knows the networks only through the engine's interface (:class:`skdnn.nn.layout.Model`:
``loss_and_gradient``, ``forward``, ``buffers``) and the optimisers only through their
registry's (``step``, ``after_epoch``, ``on_plateau``). What differs between estimators (the
score, the early-stopping key, the attributes a callback's model would have, the divergence
diagnosis) arrives as functions in the one :class:`Fit` whose methods the steps are. The
perceptron, whose epoch is its own rule's rather than gradient steps, runs its epochs
through the same :class:`Loop`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._blocks import in_row_blocks
from .._warnings import warn
from ..nn._kernels import BLOCK, minibatches
from ..nn.losses import output_loss, output_values
from .callbacks import EpochCallbacks
from .interrupt import DeferredInterrupt, Interrupted
from .state import TrainingState
from .stopping import StoppingRule, diverged

#: The most training rows whose score a finished fit compares with the constant prediction's
#: (``check_learned``): a pass over every row cost a quarter to a half of a one-epoch fit
#: (10,000 rows through (1024, 1024), and 4,000 sparse rows of 20,000 features).
SCORE_ROWS = 2000


class Data(NamedTuple):
    """Training (or validation) data: inputs, encoded targets, weights, and the targets as
    given (what the score compares predictions with)."""

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None
    y: np.ndarray


class Loop:
    """The loop itself, skorch's ``fit_loop``: epochs until :meth:`end_epoch` says stop.

    A subclass supplies :meth:`run_epoch` (one pass over the data; its loss),
    :meth:`end_epoch` (what follows it; True to stop) and :meth:`kept` (what a Ctrl-C keeps),
    and has ``record`` (a :class:`~skdnn._train.state.Record` with ``n_iter``), ``callbacks``
    and ``max_epochs``. :class:`Fit` is the networks' (mini-batches of gradient steps);
    the perceptron's epochs are its own rule's (``skdnn._perceptron``).
    """

    interrupt: DeferredInterrupt | None = None

    def fit_loop(self):
        """Run the epochs.

        Raises
        ------
        Interrupted
            On a KeyboardInterrupt (a Ctrl-C waits for the next :meth:`DeferredInterrupt.check`,
            after each batch and each epoch), with what :meth:`kept` returns.
        """
        record = self.record
        record.n_iter = 0  # epochs of this call, as in scikit-learn
        epoch = 1  # the epoch running, from 1
        with DeferredInterrupt() as self.interrupt:
            try:
                for _ in range(self.max_epochs):
                    epoch = record.n_iter + 1
                    self.callbacks.begin_epoch()
                    if self.end_epoch(self.run_epoch()):
                        break
                    self.interrupt.check()
            except KeyboardInterrupt:
                raise Interrupted(epoch, record.n_iter == epoch, self.kept()) from None
        self.finish()

    def run_epoch(self):
        raise NotImplementedError

    def end_epoch(self, loss):
        raise NotImplementedError

    def kept(self):
        raise NotImplementedError

    def finish(self):
        """What the end of the loop leaves (nothing by default)."""


@dataclass
class Fit(Loop):
    """One fit of a network: what the steps share, and the steps.

    Parameters
    ----------
    network : skdnn.nn.layout.Model
        The network being trained; its ``buffers`` train with ``theta``.
    theta : ndarray
        The flat parameters, trained in place.
    train, val : Data
        The training data, and the validation data of early stopping (or None).
    record : TrainingState
    rng : numpy.random.Generator
    callbacks : EpochCallbacks
    optimizer : object
        An optimiser of :data:`skdnn.nn.optimizers.OPTIMIZERS`, and ``state`` its state.
    rule : StoppingRule
    score : callable ``(outputs, y, sample_weight) -> float``
        The estimator's score of the output layer's values.
    rank : callable ``(score, loss) -> tuple``
        The early-stopping key of an epoch (:func:`~skdnn._train.stopping.validation_key`).
    fitted : callable ``theta -> dict``
        The attributes of a model stopped at ``theta`` (for a callback that asks for it).
    divergence : callable ``(epoch, loss) -> Exception``
        The error of a fit that diverged, naming its likely cause.
    max_epochs, batch_size, patience : int
    tol : float
    shuffle : bool
    clip_value : float or None
        Gradient-norm clipping (TabNet's, as pytorch-tabnet); None for none.
    incremental : bool
        ``partial_fit``: one epoch.
    verbose : bool
    max_epochs_warning : bool
        Warn (``ConvergenceWarning``) when ``max_epochs`` ran out, as scikit-learn's MLP
        does; False for a fit whose schedule is planned to end there (the tabular MLPs').
    """

    network: object
    theta: np.ndarray
    train: Data
    val: Data | None
    record: TrainingState
    rng: np.random.Generator
    callbacks: EpochCallbacks
    optimizer: object
    state: dict
    rule: StoppingRule
    score: Callable
    rank: Callable
    fitted: Callable
    divergence: Callable
    max_epochs: int
    batch_size: int
    patience: int
    tol: float = 0.0
    shuffle: bool = True
    clip_value: float | None = None
    incremental: bool = False
    verbose: bool = False
    max_epochs_warning: bool = True
    grad: np.ndarray | None = None
    scratch: np.ndarray | None = None
    best: tuple | None = None

    def fit_loop(self):
        """Train for up to ``max_epochs`` epochs; leave the trained parameters (with early
        stopping, the best validated ones, and their buffers) in ``theta``."""
        if sp.issparse(self.train.X):  # row slices for the mini-batches
            self.train = self.train._replace(X=self.train.X.tocsr())
        self.grad = np.empty_like(self.theta)
        # The optimiser's scratch block: the network's workspace's (shared with its L2 term),
        # or a new one.
        workspace = getattr(self.network, "workspace", None)
        size = (min(self.theta.size, BLOCK),)
        self.scratch = (np.empty(size, self.theta.dtype) if workspace is None
                        else workspace.array("scratch", size))
        if self.val is not None:
            self.best = (self.theta.copy(), self.network.buffers.copy())
        super().fit_loop()

    def finish(self):
        self.record.optimizer_state = self.state
        if self.best is not None:
            self.theta[...], self.network.buffers[...] = self.best

    def kept(self):
        """On a Ctrl-C: the parameters trained so far (with early stopping, the best)."""
        self.finish()
        return self.theta

    def run_epoch(self):
        """One pass over the training data in mini-batches, a :meth:`train_step` each; the
        epoch's loss (the batches' losses averaged over the samples)."""
        train = self.train
        n_samples = train.X.shape[0]
        order = self.rng.permutation(n_samples) if self.shuffle else None
        # Shuffled batches are gathered into arrays allocated once (the network's workspace,
        # where it has one); unshuffled ones are views.
        workspace = getattr(self.network, "workspace", None)
        batches = minibatches((train.X, train.Y, train.sample_weight), self.batch_size,
                              order=order, workspace=workspace)
        accumulated = 0.0
        for batch in batches:
            accumulated += self.train_step(*batch) * batch[0].shape[0]
            self.interrupt.check()  # a Ctrl-C held during the step
        return accumulated / n_samples

    def train_step(self, X, Y, sample_weight):
        """One optimiser step on a batch; returns the batch's loss."""
        if sample_weight is not None and not sample_weight.sum() > 0:
            return 0.0  # a batch of zero-weight samples has nothing to learn from
        theta, grad = self.theta, self.grad
        loss = self.network.loss_and_gradient(theta, grad, X, Y, sample_weight=sample_weight,
                                              rng=self.rng)
        if self.clip_value is not None:  # pytorch-tabnet's clip_grad_norm_
            norm = math.sqrt(float(grad @ grad))
            if norm > self.clip_value:
                grad *= self.clip_value / (norm + 1e-6)
        self.optimizer.step(theta, grad, self.state, self.scratch)
        return loss

    def evaluate(self, diverged_now=False):
        """The validation score and loss of the current parameters (NaN for weights that
        overflow or diverged), appended to the record's curves."""
        network, val, record = self.network, self.val, self.record
        z = None if diverged_now else logits_in_blocks(network, self.theta, val.X)
        if z is None or not np.isfinite(z).all():  # overflowing weights have no score
            score = loss = np.nan
        else:
            loss = float(output_loss(z, val.Y, network.out_activation, val.sample_weight))
            outputs = output_values(z, network.out_activation, out=z)
            score = float(self.score(outputs, val.y, val.sample_weight))
        record.validation_scores.append(score)
        record.validation_loss_curve.append(loss)
        if self.verbose:
            print(f"Validation score: {score:f}")
        return score, loss

    def end_epoch(self, loss):
        """What follows an epoch: the record, divergence, validation and the stopping rule,
        the callbacks, the learning-rate schedule and its plateaus; True to stop."""
        record, rule = self.record, self.rule
        gone = diverged(loss, self.theta, record.loss_curve)
        # With early stopping, the best validated weights (if any) survive a divergence.
        if gone and not (self.val is not None and np.isfinite(rule.best_key(record)[0])):
            raise self.divergence(record.n_iter + 1, loss)
        record.add_epoch(loss, self.train.X.shape[0])
        if self.verbose:
            print(f"Iteration {record.n_iter}, loss = {loss:.8f}")
        if self.val is not None:
            score, val_loss = self.evaluate(gone)
            if gone:
                warn("Training diverged; the weights of the best validation epoch are kept.",
                     ConvergenceWarning)
            if rule.update(record, self.rank(score, val_loss)):
                record.best_validation_score, record.best_validation_loss = score, val_loss
                self.best[0][...], self.best[1][...] = self.theta, self.network.buffers
        elif rule.update(record, (loss,)):
            record.best_loss = loss
        if self.callbacks.end_epoch(lambda: self.fitted(self.theta)) or gone:
            return True  # a callback asked to stop, or the best weights are all that is left
        self.optimizer.after_epoch(self.state, record.t)
        if rule.exhausted(record, self.patience):
            if not self.on_plateau():
                return True
            record.no_improvement_count = 0
        if self.incremental:
            return True
        if record.n_iter == self.max_epochs and self.max_epochs_warning:
            warn(f"Stochastic Optimizer: Maximum iterations ({self.max_epochs}) reached and the "
                 "optimization hasn't converged yet.", ConvergenceWarning)
        return False

    def on_plateau(self):
        """The stopping rule fired: True to go on (the schedule lowered the learning rate),
        False to stop."""
        what = "Validation score" if self.val is not None else "Training loss"
        msg = (f"{what} did not improve more than tol={self.tol:f} for {self.patience} "
               "consecutive epochs.")
        go_on = self.optimizer.on_plateau(self.state)
        if self.verbose:
            print(f"{msg} Setting learning rate to {self.state['learning_rate']:f}" if go_on
                  else f"{msg} Stopping.")
        return go_on


# -- passes over all rows --------------------------------------------------------------------
def logits_in_blocks(network, theta, X, block_mib=None):
    """``network.forward(theta, X)``'s logits (prediction mode), a block of rows at a time
    (:func:`skdnn._blocks.in_row_blocks`); each row's values are those of a one-block pass."""
    X = X.tocsr() if sp.issparse(X) else X  # row slices
    kwargs = {} if block_mib is None else {"block_mib": block_mib}
    return in_row_blocks(lambda rows: network.forward(theta, X[rows])[0], X.shape[0],
                         network.row_bytes, **kwargs)


def outputs_in_blocks(network, theta, X, block_mib=None):
    """``network.outputs(theta, X)`` (probabilities or predictions), in blocks of rows."""
    z = logits_in_blocks(network, theta, X, block_mib)
    return output_values(z, network.out_activation, out=z)


def training_scores(network, theta, data, score, prior_score, block_mib=0.25):
    """The score of ``theta`` and that of the best constant prediction, both on the same
    rows of ``data``: every row up to ``SCORE_ROWS``, else evenly spaced ones (what
    :func:`skdnn._diagnostics.check_learned` compares), in blocks of ``block_mib``: about the
    memory of one batch of training (1/4 MiB for the MLPs' and TabNet's batches; the
    tabular network's, an ensemble of 8, hold 100 times more a row)."""
    rows = slice(None, None, -(-data.X.shape[0] // SCORE_ROWS))  # a step of ceil(n / max)
    X, y = data.X[rows], data.y[rows]
    sample_weight = None if data.sample_weight is None else data.sample_weight[rows]
    outputs = outputs_in_blocks(network, theta, X, block_mib=block_mib)
    return score(outputs, y, sample_weight), prior_score(X, y, sample_weight)
