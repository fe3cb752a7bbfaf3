"""Rosenblatt's single-layer perceptron as a scikit-learn classifier, with Gallant's pocket,
the averaged perceptron and temperature-scaled probabilities."""

from __future__ import annotations

import hashlib
import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    CallbackSupportMixin,
    EpochCallbacks,
    StoppingRule,
    combined_sample_weight,
    generator,
)
from .nn.activations import get_activation

# Heaviside step with H(0) = 1, from the activation registry: the perceptron fires at w.x + b >= 0.
_step = get_activation("step").forward


# -- inputs: the bias as a weight on a constant input, rows scaled by powers of two ------------
def _augmented(X, fit_intercept):
    """``[X, 1]`` (CSR when sparse), so that the bias is the weight of a constant input."""
    if sp.issparse(X):
        if not fit_intercept:
            return X.tocsr()
        return sp.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)], format="csr")
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)]) if fit_intercept else X


def _row_scales(X):
    """Powers of two ``m_i`` with ``max_j |x_ij| < 2 m_i``.

    Dividing a row by a power of two is exact in floating point, and it changes neither the sign
    of ``x_i . w`` nor which class scores highest, which is all the perceptron looks at.
    """
    if sp.issparse(X):
        peak = abs(X).max(axis=1).toarray().ravel()
    else:
        peak = np.abs(X).max(axis=1)
    _, exponent = np.frexp(peak)
    return np.ldexp(np.ones_like(peak), exponent - 1)


def _scale_rows(X, factors):
    if sp.issparse(X):
        return (sp.diags(factors) @ X).tocsr()
    return X * factors[:, None]


def _input_scale(X, fit_intercept):
    """A power of two ``s`` with every entry of ``[X, 1] / s`` in (-2, 2).

    The perceptron trains on ``[X, 1] / s`` with weights ``W / s``: every product and sum is
    then the unscaled one times a power of two, so exactly the same decisions are taken
    (barring underflow), and no value can overflow even for features near the largest float.
    """
    return float(_row_scales(_augmented(X, fit_intercept)).max())


def _scaled_inputs(X, fit_intercept, scale):
    """``[X, 1] / scale`` (CSR when sparse)."""
    augmented = _augmented(X, fit_intercept)
    return augmented / scale if not sp.issparse(augmented) else (augmented / scale).tocsr()


def _decision(X, coef, intercept):
    """``X @ coef.T + intercept`` of shape (n_samples, n_outputs), never inf or NaN.

    Values saturate at a quarter of the largest float, so that sums and differences of two
    decisions cannot overflow either. A row whose plain product
    overflows (features near 1e300 times large weights) is recomputed divided by its power-of-two
    scale ``m`` and multiplied back only as far as the saturation bound allows.
    """
    bound = np.finfo(coef.dtype).max / 4
    with np.errstate(over="ignore", invalid="ignore"):
        Z = np.asarray(X @ coef.T + intercept)
    bad = ~np.isfinite(Z).all(axis=1)
    if bad.any():
        rows = X[bad]
        scales = _row_scales(rows)
        inner = _scale_rows(rows, 1 / scales) @ coef.T + intercept / scales[:, None]
        limit = (bound / scales)[:, None]
        Z[bad] = np.clip(inner, -limit, limit) * scales[:, None]
    return np.clip(Z, -bound, bound, out=Z)


# -- the order in which an epoch presents the samples --------------------------------------------
def _content_digests(X, y_index):
    """A 64-bit digest of each sample's content: its non-zero features and its label.

    The same sample gets the same digest wherever it sits in ``X``, dense or sparse; so an order
    built from digests ignores how the data were ordered, and puts repeated samples side by side.
    """
    digests = np.empty(X.shape[0], dtype=np.uint64)
    if sp.issparse(X):
        X = X.tocsr(copy=True)
        X.sum_duplicates()
        X.eliminate_zeros()
        rows = (
            (X.indices[start:stop], X.data[start:stop])
            for start, stop in zip(X.indptr[:-1], X.indptr[1:], strict=True)
        )
    else:
        rows = ((np.flatnonzero(row), row[row != 0]) for row in X)
    for i, (index, value) in enumerate(rows):
        digest = hashlib.blake2b(index.astype(np.int64).tobytes(), digest_size=8)
        digest.update(value.tobytes())
        digest.update(int(y_index[i]).to_bytes(8, "little"))
        digests[i] = int.from_bytes(digest.digest(), "little")
    return digests


def _mix(digests, seed):
    """SplitMix64 of ``digests xor seed``: a fresh pseudo-random key per sample and seed."""
    z = digests ^ np.uint64(seed)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


# -- accuracy and probabilities ------------------------------------------------------------------
def _predicted_index(Z):
    """Index of the predicted class from decisions of shape (n_samples, n_outputs)."""
    if Z.shape[1] == 1:
        return _step(Z[:, 0], None, None).astype(np.intp)
    return Z.argmax(axis=1)


def _accuracy(Z, y_index, weights):
    """Weighted accuracy; with integer weights the sum is exact, as with repeated samples."""
    return float(weights @ (_predicted_index(Z) == y_index)) / float(weights.sum())


def _logits(decision):
    """Decisions as one logit per class: ``[0, d]`` for binary, so softmax is ``sigmoid(d)``."""
    decision = np.asarray(decision, dtype=np.float64)
    if decision.ndim == 1:
        return np.column_stack([np.zeros_like(decision), decision])
    return decision


def _fit_temperature(decision, y_index, weights):
    """The temperature ``T`` minimising the weighted log-loss of ``softmax(logits / T)``.

    The targets are Platt's: ``(N_k + 1) / (N_k + 2)`` for the true class ``k`` and the rest
    ``1 / (N_k + 2)`` shared by the other classes, with ``N_k`` the weighted count of class
    ``k``. On data the perceptron separates, plain 0/1 targets would drive ``T`` to 0 and the
    probabilities to 0 and 1.

    The loss is convex in ``1 / T``; its derivative changes sign once, and :func:`brentq` finds
    that root to machine precision (so equal data always give the same ``T``).
    """
    logits = _logits(decision)
    scale = float(np.abs(logits).max())
    if not scale > 0:
        return 1.0  # all decisions 0: every temperature gives the same uniform probabilities
    logits = logits / scale
    n_samples, n_classes = logits.shape
    weights = np.asarray(weights, dtype=np.float64)
    counts = np.bincount(y_index, weights=weights, minlength=n_classes)
    smoothing = 1 / (counts[y_index] + 2)
    targets = np.repeat((smoothing / (n_classes - 1))[:, None], n_classes, axis=1)
    targets[np.arange(n_samples), y_index] = 1 - smoothing

    def slope(log_gamma):
        # d/d(gamma) of sum_i w_i [logsumexp(gamma l_i) - gamma t_i . l_i], gamma = scale / T.
        proba = softmax(math.exp(log_gamma) * logits, axis=1)
        return float(weights @ ((proba - targets) * logits).sum(axis=1))

    low, high = -30.0, 30.0
    if slope(low) >= 0:
        log_gamma = low
    elif slope(high) <= 0:
        log_gamma = high
    else:
        log_gamma = brentq(slope, low, high, xtol=1e-12)
    return min(scale * math.exp(-log_gamma), float(np.finfo(np.float64).max))


def _scaled_logits(decision, temperature):
    """``logits / T``, clipped to a quarter of the largest float so that softmax is safe."""
    largest = float(np.finfo(np.float64).max)
    limit = min(largest / 4 * temperature, largest)  # Python floats: inf, not a warning
    return np.clip(_logits(decision), -limit, limit) / temperature


# -- training ------------------------------------------------------------------------------------
def _targets(y_index, n_outputs, dtype):
    """0/1 target of each output: ``y == 1`` for two classes, one-hot (one-vs-rest) for more."""
    if n_outputs == 1:
        return (y_index == 1).astype(dtype)[:, None]
    return (y_index[:, None] == np.arange(n_outputs)).astype(dtype)


class _OnlinePerceptron:
    """The perceptron's weights over one training set, updated one sample at a time.

    Lives only during ``fit`` or ``partial_fit``; the estimator keeps plain arrays.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y_index : ndarray of shape (n_samples,) of int
    repeats : ndarray of shape (n_samples,)
        Sample weights: how many times each sample is presented per epoch.
    class_scale : ndarray of shape (n_samples,)
        Class weight of each sample's class: a factor on its step.
    W : ndarray of shape (n_inputs, n_outputs)
        Initial weights, the bias in the last row when ``fit_intercept``.
    eta0 : float
    fit_intercept : bool
    scale : float
        Power of two from :func:`_input_scale`. Inside, inputs and weights (``self.X``,
        ``self.W``, the mean, the pocket) are divided by it; :meth:`unscaled` undoes it.
    mean : ndarray like ``W`` or None, and clock : float
        Running mean of the weights over the ``clock`` presentations so far (see
        :meth:`average`); None to keep no mean.
    pocket : bool
        Keep Gallant's pocket (see :meth:`_extend_run`).
    """

    def __init__(
        self, X, y_index, repeats, class_scale, W, eta0, fit_intercept, scale, mean=None,
        clock=0.0, pocket=False,
    ):
        self.X = _scaled_inputs(X, fit_intercept, scale)
        self.scale = scale
        self.y = y_index
        self.targets = _targets(y_index, W.shape[1], W.dtype)
        self.repeats = repeats
        self.class_scale = class_scale
        self.steps = eta0 * class_scale
        # Growth of a sample's own decision per presentation: eta0 c ||x~||^2.
        squared_norms = (
            np.asarray(self.X.multiply(self.X).sum(axis=1)).ravel()
            if sp.issparse(self.X)
            else np.einsum("ij,ij->i", self.X, self.X)
        )
        self.gains = self.steps * squared_norms
        # Each sample counts with its sample weight times its class weight in the scores.
        self.weights = repeats * class_scale
        self.total_weight = float(self.weights.sum())
        self.W = W / scale
        self.mean = None if mean is None else mean / scale
        self.clock, self.mean_clock = clock, clock
        self.digests = _content_digests(X, y_index)
        self.tracks_pocket = pocket
        if pocket:
            self.pocket, self.pocket_score = self.W.copy(), self.accuracy(self.W)
            self.pocket_run, self.run, self.evaluated = 0.0, 0.0, True

    def accuracy(self, W):
        """Weighted training accuracy of the weights ``W``."""
        return _accuracy(self.decisions(W), self.y, self.weights)

    def decisions(self, W):
        """Decisions of the training samples, divided by ``scale ** 2``."""
        return np.asarray(self.X @ W)

    def unscaled(self, W):
        """Weights ``W`` (divided by ``scale`` inside) back in the units of ``X``.

        Where that would overflow, they are brought down by a power of two instead, which
        changes no prediction of the perceptron.
        """
        peak = float(np.abs(W).max())
        largest = float(np.finfo(W.dtype).max) / 16
        factor = self.scale
        if peak * factor > largest:
            factor = 2.0 ** math.floor(math.log2(largest / peak))
        return W * factor

    def criterion(self):
        """Perceptron criterion of the current weights, per unit of sample weight.

        ``J = sum_i s_i sum_k [H(z_ik) != t_ik] (1 + |z_ik| / ||W||) / sum_i s_i``: the number of
        misclassifications (one per sample and output) plus how far the misclassified samples
        lie on the wrong side of the boundaries. The perceptron rule is stochastic gradient
        descent on ``sum |z_ik|`` over the mistakes; dividing by ``||W||`` keeps the distances
        from growing with the weights, and counting the mistakes makes a sample on the boundary
        (``z = 0``, a mistake for class 0) count.
        """
        Z = self.decisions(self.W)
        wrong = _step(Z, None, None) != self.targets
        peak = float(np.abs(self.W).max())
        norm = peak * float(np.linalg.norm(self.W / peak)) if peak > 0 else 1.0
        per_sample = (wrong * (1 + np.abs(Z) / norm)).sum(axis=1)
        return float(self.weights @ per_sample) / self.total_weight

    def average(self):
        """Mean of the weights after each presentation (Freund and Schapire).

        Kept as a running mean, ``mean <- mean + (W_block - mean) P / (T + P)`` for each block
        of ``P`` presentations, so that no sum of weights can overflow.
        """
        if self.mean is None or self.clock == 0:
            return self.W.copy()
        pending = self.clock - self.mean_clock  # presentations since the last update
        return self.mean + (self.W - self.mean) * (pending / self.clock)

    def _flush_mean(self):
        """Bring the mean up to the clock, before ``W`` changes."""
        if self.clock > self.mean_clock:
            self.mean = self.average()
            self.mean_clock = self.clock

    def _add_to_mean(self, block_mean, duration):
        self.mean += (block_mean - self.mean) * (duration / (self.clock + duration))
        self.mean_clock = self.clock + duration

    def order(self, seed):
        """Samples of positive weight, sorted by a key drawn from their content and ``seed``."""
        order = np.argsort(_mix(self.digests, seed), kind="stable")
        return order[self.weights[order] > 0]

    def epoch(self, order):
        """One pass over ``order``; returns the weight of the presentations that were mistakes.

        A sample of weight ``s`` is presented ``floor(s)`` times in a row with step ``eta0``,
        then once with step ``(s - floor(s)) eta0``, but only until it is classified right (the
        rest change nothing): integer weights act exactly as repeated samples, which the order
        puts side by side. The presentations are not looped over: each output ``k`` of a
        sample gains ``g = eta0 c ||x~||^2`` per update in the right direction, so it needs
        ``ceil(-z_k / g)`` updates (target 1) or ``floor(z_k / g) + 1`` (target 0).
        """
        X, W = self.X, self.W
        sparse = sp.issparse(X)
        mistakes = 0.0
        for i in order:
            if sparse:
                start, stop = X.indptr[i], X.indptr[i + 1]
                cols, row = X.indices[start:stop], X.data[start:stop]
            else:
                cols, row = slice(None), X[i]
            weight = float(self.repeats[i])
            z = row @ W[cols]
            error = self.targets[i] - _step(z, None, None)
            if not error.any():
                self.clock += weight
                if self.tracks_pocket:
                    self._extend_run(weight)
                continue
            updates, presented, mean_updates = _repeated_updates(
                z, error, self.gains[i], weight
            )
            direction = np.outer(row, error * self.steps[i])
            if self.mean is not None:
                self._flush_mean()
                block_mean = W.copy()
                block_mean[cols] += direction * mean_updates
            W[cols] += direction * updates
            if self.mean is not None:
                self._add_to_mean(block_mean, presented)
            self.clock += presented
            mistakes += presented * self.class_scale[i]
            self.run, self.evaluated = 0.0, False
            if weight > presented:
                self.clock += weight - presented
                if self.tracks_pocket:
                    self._extend_run(weight - presented)
        return mistakes

    def _extend_run(self, amount):
        """Add ``amount`` correct presentations to the current weights' run (Gallant's pocket).

        When the run first grows longer than the pocket's, the ratchet computes the training
        accuracy of the current weights (``O(n_samples n_features)``, at most once per weight
        vector) and pockets them if it is higher. The crossing point is found as if the
        presentations came one at a time, as repeated samples do.
        """
        if not self.evaluated and self.run + amount > self.pocket_run:
            units = math.floor(self.pocket_run - self.run) + 1 if self.pocket_run >= self.run else 1
            crossing = self.run + min(units, amount)
            self.evaluated = True
            score = self.accuracy(self.W)
            if score > self.pocket_score:
                self.pocket, self.pocket_score, self.pocket_run = self.W.copy(), score, crossing
        self.run += amount


def _repeated_updates(z, error, gain, weight):
    """The effect of presenting one sample ``weight`` times in a row (see ``epoch``).

    Parameters
    ----------
    z : ndarray of shape (n_outputs,)
        The sample's decisions.
    error : ndarray of shape (n_outputs,)
        ``t - H(z)``, in {-1, 0, 1}.
    gain : float
        Growth of ``|z_k|`` towards the right side per update.
    weight : float
        Presentations: ``floor(weight)`` full steps, then one step of the fraction.

    Returns
    -------
    updates : ndarray of shape (n_outputs,)
        Total step of each output (0 for those already right).
    presented : float
        Presentations until every output is right (``weight`` if some never is).
    mean_updates : ndarray of shape (n_outputs,)
        Mean over those presentations of each output's step so far (for the averaged
        perceptron), computed without forming any product of two counts.
    """
    whole = float(math.floor(weight))
    fraction = weight - whole
    needed = np.full(z.shape, np.inf)
    if gain > 0:
        with np.errstate(over="ignore"):  # a tiny gain: never right in any number of steps
            ratio = np.asarray(z, dtype=np.float64) / gain
        needed = np.where(error > 0, np.ceil(-ratio), np.floor(ratio) + 1)
    needed = np.where(error != 0, needed, 0.0)
    last = float(needed.max())
    presented = last if last <= whole else weight
    # Outputs right within the whole steps take `needed` steps; the others take them all.
    updates = np.where(needed <= whole, needed, weight)
    # Mean over the block of the steps taken so far: u (P - (u - 1) / 2) / P for u unit steps
    # in a block of P, and R / 2 + (F + f^2) / (2 R) for every step of R = F + f.
    within = updates * ((presented - (updates - 1) / 2) / presented)
    throughout = weight / 2 + (whole + fraction**2) / (2 * weight)
    mean_updates = np.where(needed <= whole, within, throughout)
    return updates, presented, mean_updates


def _validation_split(y_index, weights, fraction, rng):
    """Boolean mask of a stratified hold-out set, drawn among the samples of positive weight."""
    held_out = np.zeros(y_index.shape[0], dtype=bool)
    for label in np.unique(y_index):
        members = np.flatnonzero((y_index == label) & (weights > 0))
        n_held = int(round(fraction * members.size))
        held_out[rng.permutation(members)[:n_held]] = True
    if not held_out.any():
        held_out[rng.choice(np.flatnonzero(weights > 0))] = True
    if np.all(held_out | (weights <= 0)):
        raise ValueError(
            "The validation set for early stopping would hold every sample; use more samples, "
            "a smaller validation_fraction, or early_stopping=False."
        )
    return held_out


class PerceptronClassifier(ClassifierMixin, CallbackSupportMixin, BaseEstimator):
    """Rosenblatt's single-layer perceptron, with Gallant's pocket, averaging and probabilities.

    A linear combination of the inputs plus a bias, then a step: ``classes_[1]`` when
    ``w . x + b >= 0``. Trained with the perceptron rule ``w <- w + eta0 (y - y_hat) x``, one
    sample at a time, in NumPy. More than two classes get one perceptron each (one-vs-rest; see
    Notes for the measurements that decided it).

    Parameters
    ----------
    eta0 : float, default=1.0
        Step size of the perceptron rule. From zero initial weights it only scales the weights
        (every update is a multiple of ``eta0``), so it changes no prediction; it matters with
        ``coef_init``, ``intercept_init`` or ``warm_start``.
    max_iter : int, default=1000
        Most epochs (passes over the training data).
    tol : float or None, default=1e-3
        Stop when the progress measure has not improved by ``tol`` for ``n_iter_no_change``
        epochs in a row: the perceptron criterion (see Notes) of the training data, or the
        validation accuracy with ``early_stopping``. ``None`` trains for ``max_iter`` epochs
        unless the training data are separated first.
    shuffle : bool, default=True
        Present the samples in a new order each epoch, drawn from ``random_state`` and each
        sample's content (see Notes); ``shuffle=False`` uses one such order for every epoch.
        Neither depends on the order of the rows of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds the epoch orders and the early-stopping split.
    fit_intercept : bool, default=True
        Learn the bias ``b``; otherwise ``b = 0``.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data; stop when the
        validation accuracy stops rising, keep the weights that score best on it (see Notes),
        and fit the temperature on it.
    validation_fraction : float, default=0.1
        Share of the training data held out with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement to wait before stopping.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class: it multiplies the step of the rule for that class's samples and
        their weight in the accuracy and the temperature fit. ``"balanced"`` uses
        ``n_samples / (n_classes * count of the class)``, counts weighted by ``sample_weight``.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_`` (unless ``coef_init`` is
        given).
    verbose : int, default=0
        Print the online training error and the progress measure after each epoch.
    pocket : bool, default=True
        Gallant's pocket algorithm with ratchet: keep the weights with the best (weighted)
        training accuracy seen, not the last ones. On data that no line separates (XOR) the
        perceptron never settles; the pocket keeps the best line it met.
    average : bool, default=False
        The averaged perceptron of Freund and Schapire: the weights are the mean of the weights
        after every presentation, which generalises better than the last ones.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights ``w`` (one row for two classes), in the dtype of ``X`` (float32 or float64).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases ``b``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    temperature_ : float
        The fitted temperature ``T > 0`` of :meth:`predict_proba`.
    n_iter_ : int
        Epochs run by the last ``fit`` (counted up by ``partial_fit``).
    t_ : float
        Sample presentations in training (a sample of weight 2 counts twice).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.Perceptron : scikit-learn's perceptron (a case of SGD), without
        probabilities, pocket or averaging.

    Notes
    -----
    **Rule.** With the augmented input ``x~ = [x, 1]`` and ``W`` holding ``w`` and ``b``, the
    perceptron predicts ``y_hat = H(w . x + b)`` with the step ``H(z) = 1`` for ``z >= 0``, else
    0 (``"step"`` in :data:`skdnn.nn.activations.ACTIVATIONS`), and after each sample updates

    .. math:: W \\leftarrow W + \\eta_0 \\, c_y \\, (y - \\hat y) \\, \\tilde x

    with ``c_y`` the class weight (1 by default). On data that a line separates with margin
    ``gamma`` (inputs of norm at most ``R``) it makes at most ``(R / gamma)^2`` mistakes
    (Novikoff), then stops: an epoch without mistakes ends training.

    **More than two classes: one-vs-rest.** Class ``k`` has its own perceptron with target
    ``[y == k]``, all updated on each sample; the prediction is ``argmax_k w_k . x + b_k``.
    The multiclass perceptron rule (one weight vector per class, the true class moved towards
    ``x`` and the rivals scoring at least as high moved away, as in Crammer and Singer) was
    measured against it. Mean accuracy over ``random_state`` 0 to 9 of 5-fold cross-validation
    on standardised data, scikit-learn's ``Perceptron`` for reference:

    ============  ===========  ================  ==========================
    data set      one-vs-rest  multiclass rule   sklearn ``Perceptron``
    ============  ===========  ================  ==========================
    iris          0.927        0.951             0.873
    wine          0.969        0.962             0.974
    digits        0.897        0.881             0.888
    ============  ===========  ================  ==========================

    (Breast cancer has two classes: 0.968 against 0.963.) The multiclass rule wins on iris,
    where versicolor cannot be cut off from the other two classes by one line (which
    one-vs-rest needs), but loses to one-vs-rest on wine and digits and falls 1.2 points behind
    scikit-learn on wine; one-vs-rest is within 0.5 points of scikit-learn, or above it, on
    every data set.

    **Sample weights are repeated samples.** A sample of weight ``s`` is presented ``floor(s)``
    times in a row with step ``eta0``, then once with step ``(s - floor(s)) eta0``, until it is
    classified right; samples of weight 0 are never presented. The presentations are not
    looped over: each update moves the sample's own decision by ``eta0 c ||x~||^2``, so the
    number of updates it takes is a division, and any weight (even 1e300) costs one step.
    An epoch's order sorts the samples by a pseudo-random key computed from their content
    (non-zero features and label) and a seed drawn from ``random_state``: it does not depend
    on the order of the rows, and it puts the copies of a repeated sample side by side.
    So fitting with integer weights is fitting on the rows repeated that many times, in any
    order, up to floating-point rounding. (A full-batch rule would give the same guarantee,
    but it cannot learn the best XOR line: by symmetry each batch update of XOR from zero
    weights is a multiple of one vector, and the weights flip between two lines that each get
    2 of 4 points right.)

    **Pocket with ratchet (Gallant).** The current weights' *run* is the number of correct
    presentations since their last update. When the run grows longer than the pocket's, their
    training accuracy is computed (``O(n_samples n_features)``, at most once per weight vector)
    and they replace the pocket's weights if they classify more training weight right. At the
    end of each epoch the weights of the epoch (averaged with ``average``) compete too. With
    ``early_stopping`` the kept weights are those with the best validation accuracy among the
    pocket's and the epochs' weights, validation accuracies within ``tol`` counting as ties
    broken by the training accuracy.

    **Stopping.** Without early stopping the progress measure is the perceptron criterion per
    unit of sample weight, ``sum_i s_i sum_k [H(z_ik) != t_ik] (1 + |z_ik| / ||W||)`` (the
    mistakes, plus how far the misclassified samples lie on the wrong side): it keeps falling
    while the perceptron approaches a separating line even over epochs in which the accuracy
    stalls. A fit that stops with training mistakes left raises a ``ConvergenceWarning`` saying
    the data are not linearly separable (or need more epochs). On tiny data sets a reshuffled
    order can stop the perceptron before it separates them: use ``shuffle=False`` or
    ``tol=None`` there.

    **Averaging.** ``W_avg = (1 / T) sum_t W(t)`` over the ``T`` presentations, kept as a
    running mean that is touched only when the weights change: a block of ``P`` presentations
    with mean weights ``W_P`` moves it by ``(W_P - W_avg) P / (T + P)``. No sum of weights is
    formed, so nothing overflows however long the training.

    **Probabilities.** ``predict_proba`` is ``sigmoid(d / T)`` for two classes and
    ``softmax(d / T)`` for more, with ``d`` the decision function and one temperature ``T > 0``
    (temperature scaling, Guo et al.). As a strictly increasing function of the decisions, the
    probabilities rank samples as the decisions do, and their arg-max is the prediction. ``T``
    minimises the weighted log-loss on the training data (on the validation split with
    ``early_stopping``) against Platt's targets: ``(N_k + 1) / (N_k + 2)`` for the true class
    ``k`` and ``1 / (N_k + 2)`` shared by the others, ``N_k`` the weighted count of class ``k``.
    Plain 0/1 targets would send ``T`` to 0 on data the perceptron separates, and the held-out
    probabilities to 0 and 1. The loss is convex in ``1 / T``; the root of its derivative is
    found by :func:`scipy.optimize.brentq` to machine precision.

    **Huge values.** Where ``X @ coef_.T`` overflows (features near 1e300), the row is divided by
    a power of two (exact in floating point), and decisions saturate at a quarter of the
    largest float; training compares only the signs of such rows. Decisions and probabilities
    stay finite, never NaN.

    References
    ----------
    F. Rosenblatt (1958). The perceptron: a probabilistic model for information storage and
    organization in the brain. Psychological Review 65(6).

    S. I. Gallant (1990). Perceptron-based learning algorithms. IEEE Transactions on Neural
    Networks 1(2).

    Y. Freund and R. E. Schapire (1999). Large margin classification using the perceptron
    algorithm. Machine Learning 37(3).

    K. Crammer and Y. Singer (2003). Ultraconservative online algorithms for multiclass
    problems. Journal of Machine Learning Research 3.

    J. Platt (1999). Probabilistic outputs for support vector machines and comparisons to
    regularized likelihood methods. Advances in Large Margin Classifiers.

    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger (2017). On calibration of modern neural
    networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn._perceptron import PerceptronClassifier
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> clf = PerceptronClassifier(shuffle=False, random_state=0).fit(X, [0, 0, 0, 1])  # AND
    >>> clf.predict(X)
    array([0, 0, 0, 1])
    >>> proba = clf.predict_proba(X)
    >>> bool(np.all(proba.argmax(axis=1) == clf.predict(X)))
    True
    """

    _parameter_constraints: dict = {
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "fit_intercept": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "pocket": ["boolean"],
        "average": ["boolean"],
    }

    def __init__(
        self,
        *,
        eta0=1.0,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        random_state=None,
        fit_intercept=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        verbose=0,
        pocket=True,
        average=False,
    ):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.pocket = pocket
        self.average = average

    def __sklearn_is_fitted__(self):
        # A fit that failed after validating its input has set classes_, not the weights.
        return hasattr(self, "coef_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitting ---------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Train the perceptron for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        coef_init : array-like of shape (n_outputs, n_features), default=None
            Initial weights (``n_outputs`` is 1 for two classes, else ``n_classes``).
        intercept_init : array-like of shape (n_outputs,), default=None
            Initial biases.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight acts exactly as repeating the sample.

        Returns
        -------
        self : PerceptronClassifier
        """
        previous = None
        if self.warm_start and hasattr(self, "coef_") and coef_init is None:
            previous = self.classes_, self.coef_, self.intercept_
        X, y = validate_data(
            self, X, y, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32)
        )
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        _check_two_classes(self.classes_)
        if previous is not None:
            if not np.array_equal(self.classes_, previous[0]):
                raise ValueError(
                    f"warm_start needs the classes of the previous fit, {previous[0]}; "
                    f"got {self.classes_}."
                )
            coef_init, intercept_init = previous[1:]
        callbacks = EpochCallbacks(self, X, y, sample_weight, self.max_iter)
        repeats, class_scale = self._sample_weights(sample_weight, X, y_index)
        W = self._initial_weights(coef_init, intercept_init, X.shape[1], X.dtype)
        rng = generator(self.random_state)
        weights = repeats * class_scale
        calibration = X, y_index, weights
        scale = _input_scale(X, self.fit_intercept)
        if self.early_stopping:
            held_out = _validation_split(y_index, weights, self.validation_fraction, rng)
            calibration = X[held_out], y_index[held_out], weights[held_out]
            X, y_index = X[~held_out], y_index[~held_out]
            repeats, class_scale = repeats[~held_out], class_scale[~held_out]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run = _OnlinePerceptron(
                X, y_index, repeats, class_scale, W, self.eta0, self.fit_intercept, scale,
                mean=W.copy() if self.average else None, pocket=self.pocket,
            )
            kept, kept_score, stop = self._train(run, rng, calibration, callbacks)
        self._check_finite(kept)

        kept = run.unscaled(kept)
        self._set_weights(kept)
        # partial_fit continues from the kept weights, with a fresh running average.
        self._raw, self._mean, self._clock = kept, kept.copy(), 0.0
        self.t_ = run.clock
        X_cal, y_cal, w_cal = calibration
        self.temperature_ = _fit_temperature(self._decision_unchecked(X_cal), y_cal, w_cal)
        self._warn_if_not_separated(stop, kept_score)
        callbacks.end_fit()
        return self

    def _fitted_state(self, W, calibration):
        """The fitted attributes of weights ``W`` (in the scaled inputs of ``run``), the
        temperature fitted on ``calibration``: what a model stopped here would have."""
        state = self._weights_as_attributes(W)
        X_cal, y_cal, w_cal = calibration
        decision = _decision(X_cal, state["coef_"], state["intercept_"])
        state["temperature_"] = _fit_temperature(
            decision[:, 0] if decision.shape[1] == 1 else decision, y_cal, w_cal)
        return state

    def _train(self, run, rng, validation, callbacks):
        """Epochs of ``run`` until a stopping rule fires; returns the kept weights.

        Returns
        -------
        kept : ndarray of shape (n_inputs, n_outputs)
        kept_accuracy : float
            Training accuracy of ``kept`` (validation accuracy with ``early_stopping``).
        stop : {"separated", "no_change", "max_iter"}
        """
        if self.early_stopping:
            X_val_hat = _scaled_inputs(validation[0], self.fit_intercept, run.scale)

        def rank(W):
            """``(validation accuracy, training accuracy)``; without early stopping, the
            training accuracy twice."""
            training = run.accuracy(W)
            if self.early_stopping:
                return _accuracy(np.asarray(X_val_hat @ W), *validation[1:]), training
            return training, training

        slack = self.tol or 0.0

        def better(score, than):
            # Validation accuracies within tol of each other count as tied (a small validation
            # set ties often); the training accuracy decides between them.
            return score[0] > than[0] + slack or (
                score[0] >= than[0] - slack and score[1] > than[1]
            )

        def candidate():
            return run.average() if self.average else run.W.copy()

        kept = candidate()
        kept_score = rank(kept)
        rule, stop = StoppingRule(self.tol or 0.0), "max_iter"
        fixed_seed = int(rng.integers(2**63))
        for epoch in range(1, self.max_iter + 1):
            callbacks.begin_epoch()
            seed = int(rng.integers(2**63)) if self.shuffle else fixed_seed
            mistakes = run.epoch(run.order(seed))
            # The candidates: the weights at the end of the epoch (averaged with ``average``),
            # and with ``pocket`` the most accurate weights the ratchet has seen.
            current = candidate()
            current_score = rank(current)
            if not self.pocket or better(current_score, kept_score):
                kept, kept_score = current, current_score
            if self.pocket and (self.early_stopping or run.pocket_score > kept_score[1]):
                pocket_score = rank(run.pocket)
                if better(pocket_score, kept_score):
                    kept, kept_score = run.pocket, pocket_score
            # Without early stopping, progress is measured by the perceptron criterion: it
            # keeps falling while the weights approach a separating line, also over epochs in
            # which the accuracy stalls.
            progress = current_score[0] if self.early_stopping else -run.criterion()
            if self.verbose:
                print(
                    f"Epoch {epoch}: online training error {mistakes / run.total_weight:.4f}, "
                    + (f"validation accuracy {progress:.4f}" if self.early_stopping
                       else f"perceptron criterion {-progress:.4f}")
                )
            if callbacks.end_epoch(
                lambda kept=kept: self._fitted_state(run.unscaled(kept), validation)
            ):
                stop = "callback"
                break
            if mistakes == 0:
                stop = "separated"
                break
            if self.tol is not None:
                rule.update((-progress,))  # keys are lower-is-better
                if rule.count >= self.n_iter_no_change:
                    stop = "no_change"
                    break
        self.n_iter_ = epoch
        return kept, kept_score[0], stop

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of the perceptron rule over the batch ``(X, y)``.

        Continues from the previous weights (of ``fit`` or ``partial_fit``). The pocket and early
        stopping do not apply: each call sees one batch only. The temperature is refitted on the
        batch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : PerceptronClassifier
        """
        first = _check_partial_fit_first_call(self, classes)
        if first:
            check_classification_targets(self.classes_)
            _check_two_classes(self.classes_)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32) if first else self._raw.dtype,
            reset=first,
        )
        check_classification_targets(y)
        y_index = np.searchsorted(self.classes_, y)
        unknown = (y_index >= len(self.classes_)) | (
            self.classes_[np.minimum(y_index, len(self.classes_) - 1)] != y
        )
        if unknown.any():
            raise ValueError(
                f"y has labels {np.unique(y[unknown])} not in classes {self.classes_}."
            )
        repeats, class_scale = self._sample_weights(sample_weight, X, y_index)
        if first:
            self._raw = self._initial_weights(None, None, X.shape[1], X.dtype)
            self._mean, self._clock = self._raw.copy(), 0.0
            self.n_iter_, self.t_ = 0, 0.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run = _OnlinePerceptron(
                X, y_index, repeats, class_scale, self._raw, self.eta0, self.fit_intercept,
                _input_scale(X, self.fit_intercept), mean=self._mean if self.average else None,
                clock=self._clock,
            )
            rng = generator(self.random_state)
            callbacks = EpochCallbacks(self, X, y, sample_weight, 1)
            callbacks.begin_epoch()
            run.epoch(run.order(int(rng.integers(2**63))))
        self._check_finite(run.W)
        self._raw, self._mean = run.unscaled(run.W), run.unscaled(run.average())
        self._clock = run.clock
        self._set_weights(self._mean if self.average else self._raw)
        self.n_iter_ += 1
        self.t_ += float(repeats.sum())
        self.temperature_ = _fit_temperature(self._decision_unchecked(X), y_index, run.weights)
        callbacks.end_epoch(lambda: {"coef_": self.coef_, "intercept_": self.intercept_,
                                     "temperature_": self.temperature_})
        callbacks.end_fit()
        return self

    def _sample_weights(self, sample_weight, X, y_index):
        """``(repeats, class_scale)``: validated sample weights, and each sample's class weight.

        They stay apart because they act differently: a sample weight repeats the sample, a
        class weight scales its step (repeating a sample of class weight 0.5 twice is two half
        steps, not one full step).
        """
        ones = np.ones(X.shape[0], dtype=X.dtype)
        repeats = combined_sample_weight(sample_weight, X, y_index, self.classes_, None, X.dtype)
        repeats = ones if repeats is None else repeats
        if self.class_weight is None:
            return repeats, ones
        weights = combined_sample_weight(
            sample_weight, X, y_index, self.classes_, self.class_weight, X.dtype
        )
        return repeats, np.divide(weights, repeats, out=np.ones_like(weights), where=repeats > 0)

    def _initial_weights(self, coef_init, intercept_init, n_features, dtype):
        """Raw weights ``W`` of shape (n_inputs, n_outputs), the bias in the last row."""
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        W = np.zeros((n_features + self.fit_intercept, n_outputs), dtype=dtype)
        for name, value, shape in (
            ("coef_init", coef_init, (n_outputs, n_features)),
            ("intercept_init", intercept_init, (n_outputs,)),
        ):
            if value is None or (name == "intercept_init" and not self.fit_intercept):
                continue
            value = np.asarray(value, dtype=dtype)
            if value.size == math.prod(shape) and value.ndim <= len(shape):
                value = value.reshape(shape)
            if value.shape != shape or not np.all(np.isfinite(value)):
                raise ValueError(
                    f"{name} must be finite, of shape {shape}; got shape {value.shape}."
                )
            if name == "coef_init":
                W[:n_features] = value.T
            else:
                W[n_features] = value
        return W

    def _check_finite(self, W):
        # Overflow shows here, after training, rather than as NumPy warnings within it; the
        # fitted state is only set after this check, so no NaN weight is ever kept.
        if not np.isfinite(W).all():
            raise ValueError(
                f"The perceptron's weights overflowed: the learning rate eta0={self.eta0} is "
                "too large for these inputs (or the initial weights are); lower it, or scale "
                "the input features."
            )

    def _weights_as_attributes(self, W):
        n_features = W.shape[0] - self.fit_intercept
        return {
            "coef_": np.ascontiguousarray(W[:n_features].T),
            "intercept_": (W[n_features].copy() if self.fit_intercept
                           else np.zeros(W.shape[1], dtype=W.dtype)),
        }

    def _set_weights(self, W):
        for name, value in self._weights_as_attributes(W).items():
            setattr(self, name, value)

    def _warn_if_not_separated(self, stop, kept_score):
        if stop == "separated" or (stop == "no_change" and self.early_stopping):
            return
        reason = (
            f"reached max_iter={self.max_iter} epochs"
            if stop == "max_iter"
            else f"stopped improving by tol={self.tol} for {self.n_iter_no_change} epochs"
        )
        where = "validation" if self.early_stopping else "training"
        warnings.warn(
            f"The perceptron {reason} without separating the training data (kept weights: "
            f"{where} accuracy {kept_score:.6g}); the data are not linearly separable, or need "
            "more epochs (raise max_iter or n_iter_no_change, or set tol=None).",
            ConvergenceWarning,
            stacklevel=2,
        )

    # -- prediction ------------------------------------------------------------------------------
    def _decision_unchecked(self, X):
        Z = _decision(X, self.coef_, self.intercept_)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def decision_function(self, X):
        """Signed scores ``X @ coef_.T + intercept_``, finite even for huge inputs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive means ``classes_[1]``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=self.coef_.dtype, reset=False
        )
        return self._decision_unchecked(X)

    def predict(self, X):
        """Class labels: ``H(d)`` for two classes, ``argmax_k d_k`` for more.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        decision = self.decision_function(X)
        return self.classes_[_predicted_index(decision.reshape(decision.shape[0], -1))]

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed as a log-softmax (no log of 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._probabilities(X, log=True)

    def predict_proba(self, X):
        """Class probabilities ``softmax(d / T)`` (``sigmoid(d / T)`` for two classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        return self._probabilities(X, log=False)

    def _probabilities(self, X, log):
        decision = self.decision_function(X)
        logits = _scaled_logits(decision, self.temperature_)
        dtype = self.coef_.dtype
        out = (log_softmax if log else softmax)(logits, axis=1).astype(dtype, copy=False)
        if decision.ndim == 1:
            # predict says classes_[1] at d = 0 (H(0) = 1); where the probabilities round to
            # 1/2 there, lean them to classes_[1] by one ulp so that their arg-max agrees.
            tie = (decision >= 0) & (out[:, 1] <= out[:, 0])
            if tie.any():
                half_up = np.nextafter(dtype.type(0.5), dtype.type(1))
                lean = np.array([1 - half_up, half_up], dtype=dtype)
                out[tie] = np.log(lean) if log else lean
        return out


def _check_two_classes(classes):
    if len(classes) < 2:
        raise ValueError(
            "PerceptronClassifier needs samples of at least 2 classes in the data; got 1 class, "
            f"{classes[0]!r}."
        )
