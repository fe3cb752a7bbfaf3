"""A fit that learned nothing says so: diagnostics of the scale of the input features.

Features in the 1e200s make every gradient's square overflow, so Adam takes steps of zero and
the loss never moves; a network then predicts one class at chance level with a loss near
1e200. That model must never come back silently. Features that are merely large (1e6, even
1e150) can still be learned, with a loss that stays huge because of a few misclassified
samples, so a large loss alone is no verdict: :func:`check_learned` also asks whether the loss
ever fell, and whether the model beats predicting the most frequent class.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# A loss this many times the loss of predicting the class frequencies (or than 1 nat, if
# that is more) is astronomical: a network whose inputs are on a sane scale starts within a
# few nats of it.
ASTRONOMICAL = 1e3


def feature_scale(X):
    """The largest absolute finite value of ``X`` (dense or sparse), 0 for an empty ``X``."""
    data = X.data if sp.issparse(X) else np.asarray(X)
    return float(np.max(np.abs(data), initial=0.0, where=np.isfinite(data)))


def scale_advice(X):
    """A sentence naming the scale of the features of ``X`` and the remedy."""
    return (f"The features reach {feature_scale(X):.1e} in absolute value: scale them, e.g. "
            "with sklearn.preprocessing.StandardScaler.")


def check_learned(curve, baseline, X, accuracies=None):
    """Raise a ValueError when a finished fit learned nothing because of its input's scale.

    Parameters
    ----------
    curve : list of float
        The losses of this fit, epoch by epoch (or iteration by iteration); the last one is
        the final loss.
    baseline : float
        The loss of predicting the class frequencies
        (:func:`skdnn.nn.losses.prior_log_loss`).
    X : {ndarray, sparse matrix}
        The training features, to name their scale.
    accuracies : callable or None
        Returns the fitted model's training accuracy and that of predicting the most frequent
        class; only called for an astronomical loss. ``None`` skips that test.

    Raises
    ------
    ValueError
        When the final loss is astronomical (above ``ASTRONOMICAL * max(baseline, 1)``) and
        either it never fell below the first epoch's loss, or the model's training accuracy
        is closer to that of predicting the most frequent class than to 1.
    """
    if not curve or curve[-1] <= ASTRONOMICAL * max(baseline, 1.0):
        return
    if len(curve) > 1 and min(curve[1:]) >= curve[0]:
        why = f"it never fell below its first value, {curve[0]:.3g}"
    else:
        score, prior = accuracies() if accuracies is not None else (1.0, 0.0)
        if score - prior >= (1.0 - prior) / 2:
            return
        why = (f"its training accuracy, {score:.3f}, is nearer that of predicting the most "
               f"frequent class ({prior:.3f}) than 1")
    raise ValueError(
        f"The fit learned nothing: its loss, {curve[-1]:.3g}, is more than {ASTRONOMICAL:.0f} "
        f"times the loss of predicting the class frequencies ({baseline:.3g}), and {why}. "
        + scale_advice(X)
    )
