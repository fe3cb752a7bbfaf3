"""Weight initialisation.

Notes
-----
A layer mapping ``fan_in`` units to ``fan_out`` units has a weight matrix ``W`` of shape
``(fan_in, fan_out)`` and a bias ``b`` of shape ``(fan_out,)``. Glorot and Bengio (2010)
draw both from ``U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))``, which keeps the variance
of activations and gradients roughly constant from layer to layer for tanh units.
scikit-learn's MLP uses ``r = sqrt(2 / (fan_in + fan_out))`` for the logistic activation,
whose slope at 0 is 1/4 rather than 1; skdnn does the same, so fitted networks start alike.
(He et al. (2015) scale by ``fan_in`` alone, ``r = sqrt(6 / fan_in)``, for ReLU-like units;
skdnn keeps scikit-learn's choice so that the two start alike.)
"""

from __future__ import annotations

import numpy as np


def glorot_uniform(fan_in, fan_out, rng, *, activation="relu", dtype=np.float64):
    """Draw ``(W, b)`` from Glorot's uniform distribution, as scikit-learn's MLP does.

    Parameters
    ----------
    fan_in, fan_out : int
        Units feeding into and out of the layer.
    rng : numpy.random.Generator
    activation : str
        The hidden activation; ``"logistic"`` narrows the range as scikit-learn does.
    dtype : dtype

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out)
    b : ndarray of shape (fan_out,)
    """
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
    b = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
    return W, b



def xavier_normal(fan_in, fan_out, rng, *, gain=1.0, dtype=np.float64):
    r"""Draw a weight matrix from Glorot's normal distribution, as ``torch.nn.init.xavier_normal_``.

    Parameters
    ----------
    fan_in, fan_out : int
        Units feeding into and out of the layer.
    rng : numpy.random.Generator
    gain : float, default=1.0
        Scales the standard deviation.
    dtype : dtype, default=np.float64

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out)

    Notes
    -----
    ``W_ij ~ N(0, gain^2 * 2 / (fan_in + fan_out))``. TabNet (:mod:`skdnn.nn.tabnet`) picks
    the gain so that the variance depends on ``fan_in`` alone.
    """
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype, copy=False)
