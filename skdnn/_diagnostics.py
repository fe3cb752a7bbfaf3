"""A fit that learned nothing says so, and names the likely cause from what the fit saw.

Three causes make a network end no better than a constant prediction, and each leaves its own
trace:

* **the learning rate**: the loss grows from the first epochs (the first epoch's loss is many
  times that of the constant predictor, which a freshly initialised network starts near, or
  a later early epoch's loss is above the first's), or training diverges outright;
* **the features' scale**: features far from the unit scale of standardized data (in the
  1e200s, every gradient's square overflows and Adam steps by zero);
* **dead units**: every ReLU of a hidden layer outputs 0 on every sample, so the network
  predicts one constant and no gradient reaches the layers below (a step too large pushes
  the biases there).

:func:`check_learned` judges a finished fit. An astronomical loss that never fell, or that
came with a model near the constant predictor's score, raises a ValueError; a model whose
training score is no better than the constant predictor's warns (a ``ConvergenceWarning``).
Either names the likely causes, the likeliest first, in the estimator's own terms
(:class:`Terms`: accuracy and class frequencies for a classifier, R² and the mean target for
a regressor). Large features alone are no verdict: features of 1e6 or even 1e150 can still
be learned, with a loss that stays huge because of a few misclassified samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._warnings import warn

# A loss this many times the loss of predicting the class frequencies (or than 1 nat, if
# that is more) is astronomical: a network whose inputs are on a sane scale starts within a
# few nats of it.
ASTRONOMICAL = 1e3
#: Features beyond this in absolute value are named as a cause: standardized features
#: rarely reach it, raw counts, prices and pixel intensities do.
LARGE_FEATURE = 10.0
#: A first epoch's loss this many times the constant predictor's (or 1, if larger) means the
#: first steps threw the weights far from where they started: the learning rate.
GROWTH = 10.0
#: The epochs in which a loss above the first epoch's means the loss grew.
FIRST_EPOCHS = 10
#: A training score within this share of the gap between the constant predictor's score and
#: a perfect 1 is "no better than" the constant predictor.
MARGIN = 0.01


@dataclass(frozen=True)
class Terms:
    """How an estimator names its score and its constant predictor in a diagnosis.

    Parameters
    ----------
    score : str
        The training score, e.g. ``"training accuracy"``.
    constant : str
        The constant predictor whose score it is compared with.
    baseline : str
        The constant predictor whose loss the loss is compared with.
    """

    score: str
    constant: str
    baseline: str


CLASSIFIER = Terms("training accuracy", "always predicting the most frequent class",
                   "predicting the class frequencies")
REGRESSOR = Terms("R² on the training data", "always predicting the mean target",
                  "predicting the mean target")


def feature_scale(X):
    """The largest absolute finite value of ``X`` (dense or sparse), 0 for an empty ``X``."""
    data = X.data if sp.issparse(X) else np.asarray(X)
    return float(np.max(np.abs(data), initial=0.0, where=np.isfinite(data)))


def scale_advice(X):
    """A sentence naming the scale of the features of ``X`` and the remedy."""
    return (f"The features reach {feature_scale(X):.1e} in absolute value: scale them, e.g. "
            "with sklearn.preprocessing.StandardScaler.")


def loss_grew(curve, baseline):
    """Whether the loss grew from the first epochs (see the module's docstring).

    Parameters
    ----------
    curve : list of float
        The losses, epoch by epoch.
    baseline : float
        The loss of the constant predictor.

    Returns
    -------
    bool
        True when ``curve[0] > GROWTH * max(baseline, 1)``, or when one of the next
        ``FIRST_EPOCHS - 1`` losses is above ``curve[0]``.
    """
    if not curve:
        return False
    first = curve[0]
    return first > GROWTH * max(baseline, 1.0) or any(
        loss > first for loss in curve[1:FIRST_EPOCHS])


def divergence_cause(X, learning_rate):
    """The likely cause of a diverged training loop: the features' scale when they are
    large, else the learning rate ``learning_rate`` (``learning_rate_init``)."""
    lower = f"lower learning_rate_init={learning_rate}"
    if feature_scale(X) > LARGE_FEATURE:
        return f"{scale_advice(X)} Or {lower}."
    return (f"The features are on a moderate scale (at most {feature_scale(X):.2g} in "
            f"absolute value), so the learning rate is the likely cause: {lower}.")


def likely_causes(curve, baseline, X, terms, learning_rate=None, dead_units=None):
    """Sentences naming what most likely made a fit fail, the likeliest first.

    Parameters
    ----------
    curve : list of float
        The losses of the fit, epoch by epoch.
    baseline : float
        The loss of the constant predictor.
    X : {ndarray, sparse matrix}
        The training features.
    terms : Terms
    learning_rate : float or None
        ``learning_rate_init`` of a stochastic solver; None for lbfgs, which has none.
    dead_units : callable or None
        Returns ``[(layer, n_dead, n_units), ...]``, for each hidden layer (numbered from 1)
        the units that output 0 on every training sample.

    Returns
    -------
    str
    """
    causes = []
    if learning_rate is not None and loss_grew(curve, baseline):
        causes.append(
            f"The loss grew from the first epochs (to {max(curve[:FIRST_EPOCHS]):.3g}, against "
            f"{baseline:.3g} for {terms.baseline}): the learning rate is likely too large; "
            f"lower learning_rate_init={learning_rate}.")
    if feature_scale(X) > LARGE_FEATURE:
        causes.append(scale_advice(X))
    for layer, n_dead, n_units in dead_units() if dead_units is not None else []:
        if 2 * n_dead >= n_units:
            causes.append(
                f"{n_dead} of the {n_units} units of hidden layer {layer} output 0 for every "
                "training sample (dead units): the network predicts nearly one constant. A "
                "smaller learning rate, scaled features or activation='leaky_relu' keep them "
                "alive.")
    if not causes:
        causes.append(
            "Neither the loss, the features' scale nor the hidden units point to a cause: "
            "train longer (max_iter), or check that the features carry information about "
            "the target.")
    return " ".join(causes)


def check_learned(curve, baseline, X, scores=None, *, terms=CLASSIFIER, learning_rate=None,
                  dead_units=None):
    """Raise a ValueError, or warn, when a finished fit learned nothing; name the cause.

    Parameters
    ----------
    curve : list of float
        The losses of this fit, epoch by epoch (or iteration by iteration); the last one is
        the final loss.
    baseline : float
        The loss of the constant predictor (:func:`skdnn.nn.losses.prior_loss`).
    X : {ndarray, sparse matrix}
        The training features, to name their scale.
    scores : callable or None
        Returns the fitted model's training score and that of the constant predictor.
        ``None`` (``partial_fit``, one batch at a time) judges the loss alone.
    terms : Terms, default=CLASSIFIER
        How the estimator names its score and constant predictor.
    learning_rate : float or None, default=None
        ``learning_rate_init`` of a stochastic solver; None for lbfgs.
    dead_units : callable or None, default=None
        See :func:`likely_causes`; called only for a fit that failed.

    Raises
    ------
    ValueError
        When the final loss is astronomical (above ``ASTRONOMICAL * max(baseline, 1)``) and
        either it never fell below the first epoch's loss, or the model's training score is
        closer to the constant predictor's than to 1.

    Warns
    -----
    ConvergenceWarning
        When the model's training score is no better than the constant predictor's (within
        ``MARGIN`` of the gap to 1), unless the constant predictor is already perfect.
    """
    if not curve:
        return
    measured = scores() if scores is not None else None

    def causes():
        return likely_causes(curve, baseline, X, terms, learning_rate, dead_units)

    if curve[-1] > ASTRONOMICAL * max(baseline, 1.0):
        if len(curve) > 1 and min(curve[1:]) >= curve[0]:
            why = f"it never fell below its first value, {curve[0]:.3g}"
        elif measured is None or measured[0] - measured[1] >= (1.0 - measured[1]) / 2:
            return
        else:
            why = (f"its {terms.score}, {measured[0]:.3f}, is nearer that of {terms.constant} "
                   f"({measured[1]:.3f}) than 1")
        raise ValueError(
            f"The fit learned nothing: its loss, {curve[-1]:.3g}, is more than "
            f"{ASTRONOMICAL:.0f} times the loss of {terms.baseline} ({baseline:.3g}), and "
            f"{why}. {causes()}")
    if measured is None:
        return
    score, constant = measured
    if constant < 1.0 and not score > constant + MARGIN * (1.0 - constant):
        warn(f"The fit ended no better than {terms.constant}: its {terms.score} is "
             f"{score:.3g}, and that of the constant {constant:.3g}. {causes()}",
             ConvergenceWarning)
