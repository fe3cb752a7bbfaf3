"""Activation functions, each kept next to its derivative, in one registry.

Every activation ``g`` is one :class:`Activation` entry in :data:`ACTIVATIONS`. The engine and
both estimators read the list of names from this registry, so adding an activation is adding
one entry here.

Conventions
-----------
``z`` is the pre-activation of a layer, ``z = a_prev @ W + b``, of shape
``(n_samples, n_units)``; ``a = g(z)`` has the same shape (an activation never changes the
shape of the matrix that flows through the network). ``param`` is the activation's parameter:
the fixed negative slope of ``leaky_relu`` (a float), the learned per-unit slopes of ``prelu``
(ndarray of shape ``(n_units,)``), and ``None`` for the others.

Backpropagation needs ``g'(z)``. Many derivatives are cheapest when written with the output
``a`` (sigmoid: ``a * (1 - a)``), others need ``z`` itself (GELU). Each entry says which one
it needs through ``needs_z``, so the network keeps ``z`` only where it must.

Both functions take an ``out`` array to write into. Training calls them on every mini-batch,
and writing into arrays allocated once (``out`` may even be ``z``: the activation then
overwrites its input) spares the allocation of a new matrix each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit


@dataclass(frozen=True)
class Activation:
    """One activation function and its derivative.

    An entry of the registry :data:`ACTIVATIONS`: the function and its derivative side by
    side, so that adding an activation is adding one entry.

    Parameters
    ----------
    name : str
        Registry key, also the value of the estimators' ``activation`` parameter.
    forward : callable ``(z, param, out) -> a``
        Computes ``g(z)``; writes into ``out`` when given (``out`` may be ``z`` itself).
    derivative : callable ``(z, a, param, out=None) -> ndarray or float``
        ``g'(z)`` element-wise, from the pre-activation ``z`` and/or the output ``a``.
        ``z`` is ``None`` when ``needs_z`` is false. Writes into ``out`` when given, which
        may be ``a`` or ``z`` itself (a constant derivative may return a number instead).
    needs_z : bool
        Whether ``derivative`` (or ``param_gradient``) reads ``z``.
    param_gradient : callable ``(z, delta_a) -> ndarray`` or None
        For a learned parameter (PReLU slopes): ``dL/dparam`` given ``delta_a = dL/da``.
    trainable : bool
        False for the step function, whose derivative is zero almost everywhere: gradient
        descent cannot train through it (the perceptron rule does instead).

    See Also
    --------
    get_activation : The registry entry of a name.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn.nn import get_activation
    >>> relu = get_activation("relu")
    >>> z = np.array([[-1.0, 2.0]])
    >>> relu.forward(z.copy(), None, None), relu.derivative(z, relu.forward(z, None, None), None)
    (array([[0., 2.]]), array([[False,  True]]))
    """

    name: str
    forward: Callable
    derivative: Callable
    needs_z: bool = False
    param_gradient: Callable | None = None
    trainable: bool = True


def _write(out, values):
    if out is None:
        return values
    out[...] = values
    return out


# -- step: the perceptron's activation ------------------------------------------------------
def _step(z, param, out):
    # Heaviside step with H(0) = 1: a perceptron fires when w.x + b >= 0.
    return _write(out, (z >= 0).astype(z.dtype))


def _step_derivative(z, a, param, out=None):
    return _write(out, np.zeros_like(a))


# -- identity ---------------------------------------------------------------------------------
def _identity(z, param, out):
    return _write(out, z)


def _identity_derivative(z, a, param, out=None):
    return 1.0


# -- logistic sigmoid -------------------------------------------------------------------------
def _logistic(z, param, out):
    # expit never overflows, unlike 1 / (1 + np.exp(-z)) for z << 0.
    return expit(z, out=out) if out is not None else expit(z)


def _logistic_derivative(z, a, param, out=None):
    # s'(z) = s(z) (1 - s(z)) <= 1/4, with the maximum at z = 0: stacked sigmoid layers
    # multiply gradients by at most 0.25 each, the root of vanishing gradients.
    return np.multiply(a, 1 - a, out=out)


# -- tanh -------------------------------------------------------------------------------------
def _tanh(z, param, out):
    return np.tanh(z, out=out) if out is not None else np.tanh(z)


def _tanh_derivative(z, a, param, out=None):
    # tanh'(z) = 1 - tanh(z)^2
    out = np.multiply(a, a, out=out)
    return np.subtract(1, out, out=out)


# -- ReLU -------------------------------------------------------------------------------------
def _relu(z, param, out):
    # max(z, 0) against a row of zeros rather than the number 0: the same values, but NumPy
    # 2.x vectorises np.maximum only when both operands are arrays (about twice as fast).
    return np.maximum(z, np.zeros(z.shape[-1], z.dtype), out=out)


def _relu_derivative(z, a, param, out=None):
    # 1 where the unit is active, 0 in the "dead zone" z <= 0.
    if out is None:
        return a > 0
    return np.greater(a, 0, out=out)


# -- Leaky ReLU: a fixed small slope (0.01 by default) for z < 0 -------------------------------
def _leaky_relu(z, param, out):
    return np.multiply(z, np.where(z > 0, 1, param).astype(z.dtype), out=out)


def _leaky_relu_derivative(z, a, param, out=None):
    # With a slope >= 0, a > 0 exactly where z > 0, so the output suffices.
    return _write(out, np.where(a > 0, 1, param).astype(a.dtype))


# -- PReLU: one learned slope per unit (He et al. 2015) ----------------------------------------
def _prelu(z, param, out):
    return np.multiply(z, np.where(z > 0, 1, param).astype(z.dtype), out=out)


def _prelu_derivative(z, a, param, out=None):
    # A learned slope may become zero or negative, so the sign of z (not of a) decides.
    return _write(out, np.where(z > 0, 1, param).astype(z.dtype))


def _prelu_param_gradient(z, delta_a):
    # a_ij = max(z_ij, 0) + s_j * min(z_ij, 0), so dL/ds_j = sum_i dL/da_ij * min(z_ij, 0).
    return np.einsum("ij,ij->j", delta_a, np.minimum(z, 0))


# -- ELU (alpha = 1) --------------------------------------------------------------------------
def _elu(z, param, out):
    # expm1 only of the negative part, so a large positive z cannot overflow.
    return _write(out, np.where(z > 0, z, np.expm1(np.minimum(z, 0))))


def _elu_derivative(z, a, param, out=None):
    # For z < 0, g(z) = exp(z) - 1, so g'(z) = exp(z) = a + 1 < 1; for z > 0, g'(z) = 1.
    # Both at once: g'(z) = min(a + 1, 1).
    out = np.add(a, 1, out=out)
    return np.minimum(out, 1, out=out)


# -- GELU, exact: z * Phi(z) with the standard normal CDF Phi ---------------------------------
_SQRT2 = float(np.sqrt(2.0))  # Python floats: a NumPy float64 scalar would upcast float32
_INV_SQRT_2PI = float(1.0 / np.sqrt(2.0 * np.pi))


def _gelu(z, param, out):
    return _write(out, 0.5 * z * (1 + erf(z / _SQRT2)))


def _gelu_derivative(z, a, param, out=None):
    # d/dz [z Phi(z)] = Phi(z) + z phi(z), phi the standard normal density.
    cdf = 0.5 * (1 + erf(z / _SQRT2))
    return _write(out, cdf + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z))


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in [
        Activation("step", _step, _step_derivative, trainable=False),
        Activation("identity", _identity, _identity_derivative),
        Activation("logistic", _logistic, _logistic_derivative),
        Activation("tanh", _tanh, _tanh_derivative),
        Activation("relu", _relu, _relu_derivative),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative),
        Activation(
            "prelu",
            _prelu,
            _prelu_derivative,
            needs_z=True,
            param_gradient=_prelu_param_gradient,
        ),
        Activation("elu", _elu, _elu_derivative),
        Activation("gelu", _gelu, _gelu_derivative, needs_z=True),
    ]
}

#: Names usable as hidden activations of a network trained by gradient descent.
HIDDEN_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.trainable)

#: Initial value of every PReLU slope, as in He et al. (2015).
PRELU_INIT = 0.25


def get_activation(name: str) -> Activation:
    """Return the registry entry called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`, such as ``"relu"`` or ``"gelu"``.

    Returns
    -------
    Activation
        The function, its derivative and how to call them.

    Raises
    ------
    ValueError
        If no activation has that name; the message lists the known ones.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


def activation_param(name: str, *, negative_slope: float = 0.01, slopes=None):
    """The ``param`` argument that activation ``name`` takes (see the module notes)."""
    if name == "leaky_relu":
        return negative_slope
    if name == "prelu":
        return slopes
    return None
