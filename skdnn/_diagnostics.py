"""A fit that learned nothing says so, and names the likely cause from what the fit saw.

Four causes make a network end no better than a constant prediction, and each leaves its own
trace:

* **the target's scale** (a regressor with the squared error): a freshly initialised network
  outputs values near 0, and its weights move by about ``learning_rate_init`` a step, so a
  target far from 0 or with a large spread (prices of 1e5) is out of reach in any sensible
  number of epochs; in the first epochs the loss stays at the loss of predicting 0;
* **the learning rate**: the loss grows from the first epochs (the first epoch's loss is many
  times that of the network it started from, a network with all-zero outputs before the
  output layer's activation, or a later early epoch's loss is above the first's), or
  training diverges outright;
* **the features' scale**: a column far from the unit scale of standardized data, judged by
  its root mean square (a standardized column's is 1, however heavy its tail; in the 1e200s,
  every gradient's square overflows and Adam steps by zero);
* **dead units**: every ReLU of a hidden layer outputs 0 on every sample, so the network
  predicts one constant and no gradient reaches the layers below (a step too large pushes
  the biases there).

:func:`check_learned` judges a finished fit. An astronomical loss that never fell, or that
came with a model near the constant predictor's score, raises a ValueError; a model whose
training score is no better than the constant predictor's warns (a ``ConvergenceWarning``).
Either names the likely causes, the likeliest first, in the estimator's own terms
(:class:`Terms`: accuracy and class frequencies for a classifier, R² and the mean target for
a regressor). Large features alone are no verdict: features of 1e6 or even 1e150 can still
be learned, with a loss that stays huge because of a few misclassified samples. Each cause's
advice is tested to improve the fit it is given for (``tests/test_diagnostics.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches

from ._warnings import warn

# A loss this many times the loss of predicting the class frequencies (or than 1 nat, if
# that is more) is astronomical: a network whose inputs are on a sane scale starts within a
# few nats of it.
ASTRONOMICAL = 1e3
#: A feature column whose root mean square is beyond this is named as a cause:
#: standardized columns have 1 (a heavy tail reaching 10 or 20 included), raw counts,
#: prices and pixel intensities have more.
LARGE_FEATURE = 10.0
#: A regression target whose root mean square (its mean and spread together) is beyond this
#: is named as a cause: a network's outputs start near 0 and move slowly.
LARGE_TARGET = 10.0
#: A first epoch's loss this many times the loss the network started from (or 1, if
#: larger) means the first steps threw the weights far from where they started: the
#: learning rate.
GROWTH = 10.0
#: The epochs in which a loss above the first epoch's means the loss grew.
FIRST_EPOCHS = 10
#: A training score within this share of the gap between the constant predictor's score and
#: a perfect 1 is "no better than" the constant predictor.
MARGIN = 0.01
#: Rows per block of the whole-data passes over the features (bounded memory).
_BLOCK_ROWS = 4096


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


def column_scales(X):
    """The root mean square of each column of ``X`` (dense or sparse), free of overflow.

    Non-finite values count as 0. A standardized column's is 1 whatever its tail, so this,
    unlike the largest value, tells raw columns (prices, counts, pixels) from scaled ones.

    Returns
    -------
    ndarray of shape (n_features,)
    """
    n_samples, n_features = X.shape
    if n_samples == 0:
        return np.zeros(n_features)
    if sp.issparse(X):
        X = sp.csc_array(X, dtype=np.float64)
        data = np.where(np.isfinite(X.data), X.data, 0.0)
        column = np.repeat(np.arange(n_features), np.diff(X.indptr))
        largest = np.zeros(n_features)
        np.maximum.at(largest, column, np.abs(data))
        safe = np.where(largest > 0, largest, 1.0)
        mean_square = np.bincount(column, (data / safe[column]) ** 2, minlength=n_features)
        return safe * np.sqrt(mean_square / n_samples) * (largest > 0)
    X = np.asarray(X)
    # Two passes in blocks of rows: the largest value, then the mean square of X over it.
    blocks = list(gen_batches(n_samples, _BLOCK_ROWS))
    largest = np.zeros(n_features)
    for rows in blocks:
        block = np.abs(X[rows], dtype=np.float64)
        largest = np.maximum(largest, np.max(block, axis=0, initial=0.0,
                                             where=np.isfinite(block)))
    safe = np.where(largest > 0, largest, 1.0)
    mean_square = np.zeros(n_features)
    for rows in blocks:
        block = np.asarray(X[rows], dtype=np.float64) / safe
        mean_square += np.sum(np.square(block, where=np.isfinite(block), out=np.zeros_like(
            block)), axis=0)
    return safe * np.sqrt(mean_square / n_samples) * (largest > 0)


def features_too_large(X):
    """Whether a column of ``X`` is far from the unit scale (see :data:`LARGE_FEATURE`)."""
    return bool(np.max(column_scales(X), initial=0.0) > LARGE_FEATURE)


def scale_advice(X):
    """A sentence naming the scale of the features of ``X`` and the remedy."""
    scales = column_scales(X)
    widest = int(np.argmax(scales)) if scales.size else 0
    rms = (f", and column {widest}'s root mean square is {scales[widest]:.2g} (a standardized "
           "column's is 1)" if scales.size else "")
    return (f"The features reach {feature_scale(X):.1e} in absolute value{rms}: scale them, "
            "e.g. with sklearn.preprocessing.StandardScaler.")


def target_scale(Y, sample_weight=None):
    """``(output, mean, std)`` of the output of ``Y`` (shape (n_samples, n_outputs)) with the
    largest root mean square, weighted by ``sample_weight``."""
    Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
    mean = np.average(Y, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=sample_weight))
    output = int(np.argmax(np.hypot(mean, std)))
    return output, float(mean[output]), float(std[output])


def target_too_large(Y, sample_weight=None):
    """Whether a regression target ``Y`` is far from the unit scale (:data:`LARGE_TARGET`)."""
    if Y is None or not len(Y):
        return False
    _, mean, std = target_scale(Y, sample_weight)
    return bool(np.hypot(mean, std) > LARGE_TARGET)


def target_advice(Y, sample_weight=None):
    """A sentence naming the scale of the regression target ``Y`` and the remedy, in code."""
    output, mean, std = target_scale(Y, sample_weight)
    several = np.ndim(Y) == 2 and np.shape(Y)[1] > 1
    which = f"output {output} of the target" if several else "the target"
    return (f"The target is far from the unit scale: {which} has a mean of {mean:.3g} and a "
            f"standard deviation of {std:.3g}, while the network's outputs start near 0, "
            "and its small steps reach such values slowly (adam) or overshoot them (sgd). "
            "Standardize it inside the model: "
            "TransformedTargetRegressor(regressor=MLPRegressorFromScratch(...), "
            "transformer=StandardScaler()), from sklearn.compose and "
            "sklearn.preprocessing; predict then returns the target on its own scale.")


def untrained_loss(Y, out_activation, sample_weight=None):
    r"""The loss of all-zero logits, near which a freshly initialised network starts.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        The encoded targets, as the loss reads them.
    out_activation : {"softmax", "logistic", "identity", "exp"}
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    float
        :math:`\log K` (softmax), :math:`K \log 2` (logistic), the weighted mean of
        :math:`\tfrac{1}{2K} \sum_k y_k^2` (identity, predicting 0) or of
        :math:`\sum_k y_k \log y_k - y_k + 1` (exp, predicting 1).
    """
    n_outputs = Y.shape[1]
    if out_activation == "softmax":
        return float(np.log(n_outputs))
    if out_activation == "logistic":
        return float(n_outputs * np.log(2.0))
    Y = np.asarray(Y, dtype=np.float64)
    if out_activation == "identity":
        return float(0.5 * np.average(Y ** 2, axis=0, weights=sample_weight).mean())
    return float(np.sum(np.average(xlogy(Y, Y) - Y + 1, axis=0, weights=sample_weight)))


def loss_grew(curve, start, scaled=True):
    """Whether the loss grew from the first epochs (see the module's docstring).

    Parameters
    ----------
    curve : list of float
        The losses, epoch by epoch.
    start : float
        The loss the network started near: :func:`untrained_loss` (or, without it, the
        constant predictor's).
    scaled : bool, default=True
        Whether the features are near the unit scale. A network starts near ``start``
        only then: on large features its first outputs are large before any step, so the
        first epoch's loss says nothing of the learning rate.

    Returns
    -------
    bool
        True when ``scaled`` and ``curve[0] > GROWTH * max(start, 1)``, or when one of the
        next ``FIRST_EPOCHS - 1`` losses is above ``curve[0]``.
    """
    if not curve:
        return False
    first = curve[0]
    return (scaled and first > GROWTH * max(start, 1.0)) or any(
        loss > first for loss in curve[1:FIRST_EPOCHS])


def scale_causes(X, target=None, sample_weight=None):
    """The sentences naming the target's scale and the features' scale, where they are far
    from the unit scale (the target first: a regressor's likeliest cause)."""
    causes = []
    if target is not None and target_too_large(target, sample_weight):
        causes.append(target_advice(target, sample_weight))
    if features_too_large(X):
        causes.append(scale_advice(X))
    return causes


def divergence_cause(X, learning_rate, target=None, sample_weight=None):
    """The likely cause of a diverged training loop: the target's or the features' scale
    when they are far from the unit scale, else the learning rate ``learning_rate``
    (``learning_rate_init``).

    Parameters
    ----------
    X : {ndarray, sparse matrix}
        The training features.
    learning_rate : float
    target : ndarray of shape (n_samples, n_outputs) or None, default=None
        A regression target of the squared error (None for the other losses).
    sample_weight : ndarray of shape (n_samples,) or None, default=None
    """
    lower = f"lower learning_rate_init={learning_rate}"
    causes = scale_causes(X, target, sample_weight)
    if causes:
        return f"{' '.join(causes)} Or {lower}."
    return (f"The features are on a moderate scale (no column's root mean square is above "
            f"{LARGE_FEATURE:g}), so the learning rate is the likely cause: {lower}.")


def likely_causes(curve, baseline, X, terms, learning_rate=None, dead_units=None, *,
                  start=None, target=None, sample_weight=None):
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
    start : float or None, default=None
        The loss the network started near (:func:`untrained_loss`); None for ``baseline``.
    target : ndarray of shape (n_samples, n_outputs) or None, default=None
        A regression target of the squared error, whose scale may be the cause; None for
        the other losses.
    sample_weight : ndarray of shape (n_samples,) or None, default=None

    Returns
    -------
    str
    """
    start = baseline if start is None else start
    causes = []
    large_target = target is not None and target_too_large(target, sample_weight)
    if large_target:
        causes.append(target_advice(target, sample_weight))
    large_features = features_too_large(X)
    if learning_rate is not None and loss_grew(curve, start, scaled=not large_features):
        causes.append(
            f"The loss grew from the first epochs (to {max(curve[:FIRST_EPOCHS]):.3g}, against "
            f"{start:.3g} for the untrained network): the learning rate is likely too large; "
            f"lower learning_rate_init={learning_rate}.")
    if large_features:
        causes.append(scale_advice(X))
    for layer, n_dead, n_units in dead_units() if dead_units is not None else []:
        if 2 * n_dead >= n_units:
            remedies = ("a standardized target, " if large_target else "") + (
                "a smaller learning rate, scaled features or activation='leaky_relu'")
            causes.append(
                f"{n_dead} of the {n_units} units of hidden layer {layer} output 0 for every "
                "training sample (dead units): the network predicts nearly one constant. "
                f"{remedies[0].upper()}{remedies[1:]} keep them alive.")
    if not causes:
        causes.append(
            "Neither the loss, the features' scale nor the hidden units point to a cause: "
            "train longer (max_iter), or check that the features carry information about "
            "the target.")
    return " ".join(causes)


def check_learned(curve, baseline, X, scores=None, *, terms=CLASSIFIER, learning_rate=None,
                  dead_units=None, start=None, target=None, sample_weight=None):
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
    start, target, sample_weight : see :func:`likely_causes`

    Raises
    ------
    ValueError
        When the final loss is astronomical (above ``ASTRONOMICAL * max(baseline, start,
        1)``) and
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
        return likely_causes(curve, baseline, X, terms, learning_rate, dead_units,
                             start=start, target=target, sample_weight=sample_weight)

    # Against the larger of the two: a regressor's unscaled target starts its loss far
    # above the constant predictor's, and that alone is a bad fit, not an astronomical one.
    if curve[-1] > ASTRONOMICAL * max(baseline, start or 0.0, 1.0):
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
