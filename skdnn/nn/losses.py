r"""Output layers and the cross-entropy loss, computed from the logits.

Two output layers, as in scikit-learn's ``MLPClassifier``:

* ``"softmax"`` for multiclass targets: ``p_ik = exp(z_ik) / sum_j exp(z_ij)``;
* ``"logistic"`` for binary targets (one unit, ``p = P(class 1)``) and multilabel targets
  (one independent sigmoid per label).

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

Softmax with cross-entropy, and sigmoid with binary cross-entropy, are *canonical pairs*: the
gradient of ``ell_i`` with respect to the logits is simply ``p_i - y_i``. This fused gradient
is what starts the backward pass; it avoids the Jacobian of the softmax altogether.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, expit, log_softmax

OUTPUT_ACTIVATIONS = ("softmax", "logistic")


def output_activation_for(y_type: str) -> str:
    """The output layer scikit-learn uses for a target type: softmax for ``"multiclass"``."""
    return "softmax" if y_type == "multiclass" else "logistic"


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
    every ``exp`` is at most 1, so nothing overflows.
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
    # No probability is exactly 0, so its logarithm (predict_log_proba) stays finite.
    return np.maximum(out, np.finfo(out.dtype).tiny, out=out)


def log_loss(z, y, out_activation, sample_weight=None):
    """Weighted mean cross-entropy from the logits ``z``, which are left unchanged.

    The same value as :func:`log_loss_and_output_delta` returns, without the gradient.
    """
    if out_activation == "logistic":
        per_sample = (np.logaddexp(0, z) - y * z).sum(axis=1)
    else:
        per_sample = -np.einsum("ij,ij->i", y, log_softmax(z, axis=1))
    if sample_weight is None:
        return float(per_sample.mean())
    return float(per_sample @ (sample_weight / float(sample_weight.sum())))


def log_loss_and_output_delta(z, y, out_activation, sample_weight=None):
    """Weighted mean cross-entropy and its gradient with respect to the logits.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_outputs)
        Logits. Overwritten with the probabilities (the delta is formed from them).
    y : ndarray of shape (n_samples, n_outputs)
        One-hot rows (softmax) or 0/1 indicators (logistic), in ``z``'s dtype.
    out_activation : {"softmax", "logistic"}
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights ``w_i``; ``None`` means all ones.

    Returns
    -------
    loss : float
        ``sum_i w_i ell_i / sum_i w_i``.
    delta : ndarray of shape (n_samples, n_outputs)
        ``dL/dz = w_i (p_i - y_i) / sum_i w_i`` (the same array as ``z``).
    """
    n_samples = z.shape[0]
    if out_activation == "logistic":
        # log(1 + e^z) - y z, with logaddexp(0, z) = log(1 + e^z) free of overflow.
        per_sample = (np.logaddexp(0, z) - y * z).sum(axis=1)
        expit(z, out=z)
    else:
        # -sum_k y_k log p_k = logsumexp(z) - sum_k y_k z_k, evaluated after shifting by the max.
        z -= _row_max(z)
        y_dot_z = np.einsum("ij,ij->i", y, z)
        np.exp(z, out=z)
        row_sum = _row_sum(z)
        per_sample = np.log(row_sum[:, 0]) - y_dot_z
        z /= row_sum
    delta = z
    delta -= y
    if sample_weight is None:
        loss = float(per_sample.sum()) / n_samples
        delta *= 1.0 / n_samples
    else:
        # Normalise the weights first: sum_i (w_i / sum(w)) ell_i cannot overflow where
        # sum_i w_i ell_i would (weights near 1e300).
        share = sample_weight / float(sample_weight.sum())
        loss = float(per_sample @ share)
        delta *= share[:, None].astype(delta.dtype, copy=False)
    return loss, delta


def prior_log_loss(y, out_activation, sample_weight=None):
    r"""The loss of predicting the class frequencies: the yardstick of a model that learned nothing.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_outputs)
        One-hot rows (softmax) or 0/1 indicators (logistic).
    out_activation : {"softmax", "logistic"}
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    float

    Notes
    -----
    With ``pi_k`` the weighted frequency of class (or label) ``k``, the constant prediction
    ``p = pi`` has the cross-entropy of the frequencies themselves, their entropy:

    .. math::

        L_0^{softmax} = -\sum_k \pi_k \log \pi_k, \qquad
        L_0^{sigmoid} = -\sum_k \pi_k \log \pi_k + (1 - \pi_k) \log(1 - \pi_k).

    No constant prediction does better, so a trained model's loss far above ``L_0`` means it
    learned nothing.
    """
    freq = np.average(y, axis=0, weights=sample_weight)
    if out_activation == "logistic":
        return float(np.sum(entr(freq) + entr(1 - freq)))
    return float(np.sum(entr(freq)))
