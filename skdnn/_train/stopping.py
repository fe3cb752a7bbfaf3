"""When training stops: the stopping rule that counts epochs without improvement in the
record, the one early-stopping criterion, and divergence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


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

    def exhausted(self, record, patience):
        """True when more than ``patience`` epochs in a row did not improve: the one way the
        networks count ``n_iter_no_change`` (scikit-learn's MLP's; the perceptron counts as
        scikit-learn's ``Perceptron`` does, ``>=``)."""
        return record.no_improvement_count > patience


#: A loss this many times the first epoch's (or 1, if larger) counts as a divergence.
DIVERGENCE_FACTOR = 1e4


def diverged(loss, theta, loss_curve):
    """True when ``loss`` or ``theta`` is not finite, or ``loss`` rose 10,000-fold over the
    first epoch's loss (or over 1, if larger)."""
    first = loss_curve[0] if loss_curve else loss
    return not (np.isfinite(loss) and np.isfinite(theta).all()) or bool(
        loss > DIVERGENCE_FACTOR * max(first, 1.0))


def validation_key(score, loss, *, classifier, metric="score"):
    """How early stopping ranks an epoch, for every estimator: a :class:`StoppingRule` key,
    lower is better.

    A classifier ranks by its validation accuracy; at an equal accuracy (it moves in steps
    of ``1 / n_val`` and often stays flat for many epochs early on) a validation loss lower
    by ``tol`` is progress too, and a perfect accuracy stops as in scikit-learn. A regressor
    ranks by its validation R². ``metric="loss"`` ranks by the validation loss alone.
    """
    if metric == "loss":
        return (loss,)
    if classifier and score < 1:
        return (-score, loss)
    return (-score,)
