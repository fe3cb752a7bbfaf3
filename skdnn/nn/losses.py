r"""Output layers and their losses, computed from the logits.

Four output layers, as in scikit-learn's ``MLPClassifier`` and ``MLPRegressor``:

* ``"softmax"`` for multiclass targets: ``p_ik = exp(z_ik) / sum_j exp(z_ij)``;
* ``"logistic"`` for binary targets (one unit, ``p = P(class 1)``) and multilabel targets
  (one independent sigmoid per label);
* ``"identity"`` for regression with the squared error: the prediction is ``z`` itself;
* ``"exp"`` for regression with the Poisson deviance: the prediction is ``exp(z)``, which
  is positive, as a count's or a rate's mean must be.

Notes
-----
The loss of sample ``i`` is the cross-entropy between its one-hot (or 0/1 indicator) target
row ``y_i`` and the predicted probabilities, and the mean over a batch is weighted:

.. math::

    L = \frac{\sum_i w_i \, \ell_i}{\sum_i w_i}, \qquad
    \ell_i^{softmax} = -\sum_k y_{ik} \log p_{ik}, \qquad
    \ell_i^{sigmoid} = \sum_k \log(1 + e^{z_{ik}}) - y_{ik} z_{ik}.

Both are computed from the logits ``z`` (the output layer's pre-activation) through
log-sum-exp, so no probability is ever logged after rounding to 0.

The regression losses are scikit-learn's half squared error, averaged over the ``K`` outputs,
and half Poisson deviance, summed over them:

.. math::

    \ell_i^{identity} = \frac{1}{2K} \sum_k (z_{ik} - y_{ik})^2, \qquad
    \ell_i^{exp} = \sum_k y_{ik} \log y_{ik} - y_{ik} - y_{ik} z_{ik} + e^{z_{ik}}.

Softmax with cross-entropy, sigmoid with binary cross-entropy, the identity with the squared
error and the exponential with the Poisson deviance are *canonical pairs*: the gradient of
``ell_i`` with respect to the logits is simply ``p_i - y_i``, the output minus the target.
This fused gradient is what starts the backward pass; it avoids the Jacobian of the softmax
altogether. For the squared error, scikit-learn starts the backward pass from ``p - y`` for
every output, without the ``1 / K`` of the loss it reports; skdnn does the same, so that
training follows scikit-learn's step by step. The gradient followed is then that of the loss
summed over the outputs, which is the reported loss for one output.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, expit, xlogy

OUTPUT_ACTIVATIONS = ("softmax", "logistic", "identity", "exp")


def _row_max(z):
    """``max_j z_ij`` of each row, shape (n_samples, 1).

    Taken down the columns of a transposed copy: NumPy reduces a few long contiguous rows
    several times faster than many short ones (a batch has hundreds of rows of a few classes).
    """
    return z.T.copy().max(axis=0)[:, None]


def _row_sum(z):
    """``sum_j z_ij`` of each row, shape (n_samples, 1), computed like :func:`_row_max`."""
    return z.T.copy().sum(axis=0)[:, None]


def output_probabilities(z, out_activation, out=None):
    """Map logits of shape (n_samples, n_outputs) to probabilities, in place when ``out is z``.

    Softmax subtracts the row maximum first: ``softmax(z) = softmax(z - max_j z_j)``, and then
    every ``exp`` is at most 1, so nothing overflows. Every probability, softmax or sigmoid,
    is then clipped to ``[eps, 1 - eps]`` with ``eps = np.finfo(dtype).eps`` (2.2e-16 in
    float64, 1.2e-7 in float32), as scikit-learn's log-loss clips: a softmax row then sums
    to 1 within ``n_outputs * eps``.
    """
    if out is None:
        out = np.empty_like(z)
    if out_activation == "logistic":
        # Clipped to [eps, 1 - eps], as scikit-learn's log-loss clips, so that a saturated
        # sigmoid still reports P(label) and P(not label) as positive numbers.
        eps = np.finfo(out.dtype).eps
        return np.clip(expit(z, out=out), eps, 1 - eps, out=out)
    # Clipping to half the largest float keeps z - max(z) finite even for infinite logits.
    limit = np.finfo(out.dtype).max / 2
    np.clip(z, -limit, limit, out=out)
    np.subtract(out, _row_max(out), out=out)
    np.exp(out, out=out)
    out /= _row_sum(out)
    # Clipped to [eps, 1 - eps] as the sigmoid's are: no probability is 0 or 1, so its
    # logarithm (predict_log_proba) and that of its complement stay finite.
    eps = np.finfo(out.dtype).eps
    return np.clip(out, eps, 1 - eps, out=out)


def output_values(z, out_activation, out=None):
    """The output layer's values: probabilities (softmax, logistic) or predictions (identity,
    exp), in place when ``out is z``."""
    if out_activation in ("softmax", "logistic"):
        return output_probabilities(z, out_activation, out=out)
    if out is None:
        out = np.empty_like(z)
    if out_activation == "exp":
        return np.exp(z, out=out)
    out[...] = z
    return out


# Per-sample losses from the logits. Each writes the output layer's values into ``z`` (the
# fused gradient is formed from them) and returns ``ell_i`` of shape (n_samples,).
def _softmax_cross_entropy(z, y):
    # -sum_k y_k log p_k = logsumexp(z) - sum_k y_k z_k, evaluated after shifting by the max.
    z -= _row_max(z)
    y_dot_z = np.einsum("ij,ij->i", y, z)
    np.exp(z, out=z)
    row_sum = _row_sum(z)
    z /= row_sum
    return np.log(row_sum[:, 0]) - y_dot_z


def _sigmoid_cross_entropy(z, y):
    # log(1 + e^z) - y z, with logaddexp(0, z) = log(1 + e^z) free of overflow.
    per_sample = (np.logaddexp(0, z) - y * z).sum(axis=1)
    expit(z, out=z)
    return per_sample


def _half_squared_error(z, y):
    diff = z - y
    return np.einsum("ij,ij->i", diff, diff) * (0.5 / z.shape[1])


def _half_poisson_deviance(z, y):
    # y log(y / e^z) - y + e^z, with y log y = 0 at y = 0 (xlogy).
    per_sample = (xlogy(y, y) - y - y * z).sum(axis=1)
    np.exp(z, out=z)
    per_sample += _row_sum(z)[:, 0]
    return per_sample


#: Output layer name -> its per-sample loss, the loss it is the canonical pair of.
LOSSES = {
    "softmax": _softmax_cross_entropy,
    "logistic": _sigmoid_cross_entropy,
    "identity": _half_squared_error,
    "exp": _half_poisson_deviance,
}


def _weighted_mean(per_sample, sample_weight):
    if sample_weight is None:
        return float(per_sample.mean())
    # Normalise the weights first: sum_i (w_i / sum(w)) ell_i cannot overflow where
    # sum_i w_i ell_i would (weights near 1e300).
    return float(per_sample @ (sample_weight / float(sample_weight.sum())))


def output_loss(z, y, out_activation, sample_weight=None):
    """Weighted mean loss of the output layer from the logits ``z``, which are left unchanged.

    The same value as :func:`loss_and_output_delta` returns, without the gradient.
    """
    return _weighted_mean(LOSSES[out_activation](z.copy(), y), sample_weight)


def loss_and_output_delta(z, y, out_activation, sample_weight=None):
    """Weighted mean loss of the output layer and its gradient with respect to the logits.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_outputs)
        Logits. Overwritten with the output values (the delta is formed from them).
    y : ndarray of shape (n_samples, n_outputs)
        One-hot rows (softmax), 0/1 indicators (logistic) or targets (identity, exp).
    out_activation : {"softmax", "logistic", "identity", "exp"}
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights ``w_i``; ``None`` means all ones.

    Returns
    -------
    loss : float
        ``sum_i w_i ell_i / sum_i w_i``.
    delta : ndarray of shape (n_samples, n_outputs)
        ``w_i (p_i - y_i) / sum_i w_i`` (the same array as ``z``).
    """
    per_sample = LOSSES[out_activation](z, y)
    loss = _weighted_mean(per_sample, sample_weight)
    delta = z
    delta -= y
    if sample_weight is None:
        delta *= 1.0 / z.shape[0]
    else:
        share = sample_weight / float(sample_weight.sum())
        delta *= share[:, None].astype(delta.dtype, copy=False)
    return loss, delta


def prior_loss(y, out_activation, sample_weight=None):
    r"""The loss of the best constant prediction: the yardstick of a model that learned nothing.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_outputs)
        One-hot rows (softmax), 0/1 indicators (logistic) or targets (identity, exp).
    out_activation : {"softmax", "logistic", "identity", "exp"}
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    float

    Notes
    -----
    The best constant prediction is the weighted mean of each column, ``pi_k``: the class
    frequencies, or the targets' means. Its cross-entropy is the frequencies' entropy; its
    half squared error is half the targets' variance (averaged over the outputs); its half
    Poisson deviance is the mean of ``y log y`` minus ``pi log pi``:

    .. math::

        L_0^{softmax} = -\sum_k \pi_k \log \pi_k, \qquad
        L_0^{sigmoid} = -\sum_k \pi_k \log \pi_k + (1 - \pi_k) \log(1 - \pi_k),

        L_0^{identity} = \frac{1}{2K} \sum_k \overline{(y_k - \pi_k)^2}, \qquad
        L_0^{exp} = \sum_k \overline{y_k \log y_k} - \pi_k \log \pi_k.

    No constant prediction does better, so a trained model's loss far above ``L_0`` means it
    learned nothing.
    """
    freq = np.average(y, axis=0, weights=sample_weight)
    if out_activation == "logistic":
        return float(np.sum(entr(freq) + entr(1 - freq)))
    if out_activation == "identity":
        return float(0.5 * np.average((y - freq) ** 2, axis=0, weights=sample_weight).mean())
    if out_activation == "exp":
        return float(np.sum(np.average(xlogy(y, y), axis=0, weights=sample_weight)
                            - xlogy(freq, freq)))
    return float(np.sum(entr(freq)))

