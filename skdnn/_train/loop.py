"""The one training loop of every network, skorch-style::

    fit_loop(fit)                 epochs until a stopping piece ends them; Ctrl-C keeps
      run_epoch(fit)                shuffled mini-batches, one train_step each
        train_step(fit, batch)        loss_and_gradient, gradient clipping, the optimiser step
      evaluate(fit)                 the validation score and loss (early stopping)
      end_epoch(fit, loss)          record, stopping rule, callbacks, schedule, plateau

It knows the networks only through the engine's interface (:class:`skdnn.nn.layout.Model`:
``loss_and_gradient``, ``forward``, ``buffers``) and the optimisers only through their
registry's (``step``, ``after_epoch``, ``on_plateau``). What differs between estimators (the
score, the early-stopping key, the attributes a callback's model would have, the divergence
diagnosis) arrives as functions in the one :class:`Fit` that every step takes.
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


@dataclass
class Fit:
    """What the steps of one fit share.

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
    interrupt: DeferredInterrupt | None = None
    grad: np.ndarray | None = None
    best: tuple | None = None


def fit_loop(fit):
    """Train ``fit.network`` for up to ``max_epochs`` epochs; leave the trained parameters
    (with early stopping, the best validated ones, and their buffers) in ``fit.theta``.

    Raises
    ------
    Interrupted
        On a KeyboardInterrupt (Ctrl-C waits for the end of the current batch), with the
        parameters to keep.
    """
    record = fit.record
    if sp.issparse(fit.train.X):  # row slices for the mini-batches
        fit.train = fit.train._replace(X=fit.train.X.tocsr())
    fit.grad = np.empty_like(fit.theta)
    if fit.val is not None:
        fit.best = (fit.theta.copy(), fit.network.buffers.copy())
    record.n_iter = 0  # epochs of this call, as in scikit-learn
    epoch = 1  # the epoch running, from 1
    with DeferredInterrupt() as fit.interrupt:
        try:
            for _ in range(fit.max_epochs):
                epoch = record.n_iter + 1
                fit.callbacks.begin_epoch()
                if end_epoch(fit, run_epoch(fit)):
                    break
        except KeyboardInterrupt:
            record.optimizer_state = fit.state
            _restore_best(fit)
            raise Interrupted(epoch, record.n_iter == epoch, fit.theta) from None
    record.optimizer_state = fit.state
    _restore_best(fit)


def _restore_best(fit):
    if fit.best is not None:
        fit.theta[...], fit.network.buffers[...] = fit.best


def run_epoch(fit):
    """One pass over the training data in mini-batches, a :func:`train_step` each; the
    epoch's loss (the batches' losses averaged over the samples)."""
    train = fit.train
    n_samples = train.X.shape[0]
    order = fit.rng.permutation(n_samples) if fit.shuffle else None
    # Shuffled batches are gathered into arrays allocated once (the network's workspace,
    # where it has one); unshuffled ones are views.
    workspace = getattr(fit.network, "workspace", None)
    batches = minibatches((train.X, train.Y, train.sample_weight), fit.batch_size, order=order,
                          workspace=workspace)
    accumulated = 0.0
    for batch in batches:
        accumulated += train_step(fit, *batch) * batch[0].shape[0]
        fit.interrupt.check()  # a Ctrl-C held during the step
    return accumulated / n_samples


def train_step(fit, X, Y, sample_weight):
    """One optimiser step on a batch; returns the batch's loss."""
    if sample_weight is not None and not sample_weight.sum() > 0:
        return 0.0  # a batch of zero-weight samples has nothing to learn from
    theta, grad = fit.theta, fit.grad
    loss = fit.network.loss_and_gradient(theta, grad, X, Y, sample_weight=sample_weight,
                                         rng=fit.rng)
    if fit.clip_value is not None:  # pytorch-tabnet's clip_grad_norm_
        norm = math.sqrt(float(grad @ grad))
        if norm > fit.clip_value:
            grad *= fit.clip_value / (norm + 1e-6)
    workspace = getattr(fit.network, "workspace", None)
    scratch = (None if workspace is None
               else workspace.array("scratch", (min(theta.size, BLOCK),)))
    fit.optimizer.step(theta, grad, fit.state, scratch)
    return loss


def evaluate(fit, diverged_now=False):
    """The validation score and loss of the current parameters (NaN for weights that
    overflow or diverged), appended to the record's curves."""
    network, val, record = fit.network, fit.val, fit.record
    z = None if diverged_now else logits_in_blocks(network, fit.theta, val.X)
    if z is None or not np.isfinite(z).all():  # overflowing weights have no score
        score = loss = np.nan
    else:
        loss = float(output_loss(z, val.Y, network.out_activation, val.sample_weight))
        outputs = output_values(z, network.out_activation, out=z)
        score = float(fit.score(outputs, val.y, val.sample_weight))
    record.validation_scores.append(score)
    record.validation_loss_curve.append(loss)
    if fit.verbose:
        print(f"Validation score: {score:f}")
    return score, loss


def end_epoch(fit, loss):
    """What follows an epoch: the record, divergence, validation and the stopping rule, the
    callbacks, the learning-rate schedule and its plateaus; True when training stops."""
    record, rule = fit.record, fit.rule
    gone = diverged(loss, fit.theta, record.loss_curve)
    # With early stopping, the best validated weights (if any) survive a divergence.
    if gone and not (fit.val is not None and np.isfinite(rule.best_key(record)[0])):
        raise fit.divergence(record.n_iter + 1, loss)
    record.add_epoch(loss, fit.train.X.shape[0])
    if fit.verbose:
        print(f"Iteration {record.n_iter}, loss = {loss:.8f}")
    if fit.val is not None:
        score, val_loss = evaluate(fit, gone)
        if gone:
            warn("Training diverged; the weights of the best validation epoch are kept.",
                 ConvergenceWarning)
        if rule.update(record, fit.rank(score, val_loss)):
            record.best_validation_score, record.best_validation_loss = score, val_loss
            fit.best[0][...], fit.best[1][...] = fit.theta, fit.network.buffers
    elif rule.update(record, (loss,)):
        record.best_loss = loss
    if fit.callbacks.end_epoch(lambda: fit.fitted(fit.theta)) or gone:
        return True  # a callback asked to stop, or the best weights are all that is left
    fit.optimizer.after_epoch(fit.state, record.t)
    if rule.exhausted(record, fit.patience):
        if not _on_plateau(fit):
            return True
        record.no_improvement_count = 0
    if fit.incremental:
        return True
    if record.n_iter == fit.max_epochs:
        warn(f"Stochastic Optimizer: Maximum iterations ({fit.max_epochs}) reached and the "
             "optimization hasn't converged yet.", ConvergenceWarning)
    return False


def _on_plateau(fit):
    """The stopping rule fired: True to go on (the schedule lowered the learning rate),
    False to stop."""
    what = "Validation score" if fit.val is not None else "Training loss"
    msg = (f"{what} did not improve more than tol={fit.tol:f} for {fit.patience} consecutive "
           "epochs.")
    go_on = fit.optimizer.on_plateau(fit.state)
    if fit.verbose:
        print(f"{msg} Setting learning rate to {fit.state['learning_rate']:f}" if go_on
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


def training_scores(network, theta, data, score, prior_score):
    """The score of ``theta`` and that of the best constant prediction, both on the same
    rows of ``data``: every row up to ``SCORE_ROWS``, else evenly spaced ones (what
    :func:`skdnn._diagnostics.check_learned` compares)."""
    rows = slice(None, None, -(-data.X.shape[0] // SCORE_ROWS))  # a step of ceil(n / max)
    X, y = data.X[rows], data.y[rows]
    sample_weight = None if data.sample_weight is None else data.sample_weight[rows]
    # In blocks of 1/4 MiB: the check adds about the memory of one batch of training.
    outputs = outputs_in_blocks(network, theta, X, block_mib=0.25)
    return score(outputs, y, sample_weight), prior_score(X, y, sample_weight)
