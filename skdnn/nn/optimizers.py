"""Stochastic optimisers on one flat parameter vector.

Each optimiser is a pair of functions: ``init_*_state(theta)`` returns its state as a plain
dict of arrays and numbers (so a fitted estimator that keeps it can still be saved with
``skops`` and resumed with ``partial_fit``), and ``*_step(theta, grad, state, ...)`` updates
``theta`` in place. Their arithmetic is scikit-learn's (``_stochastic_optimizers.py``), done
on the whole vector instead of once per layer.

A step goes over the vector in blocks (:func:`skdnn.nn.workspace.blocks`), with one scratch
array for the intermediate results. Written naively, each of the ten element-wise operations
of an Adam step would allocate a temporary as large as the network (NumPy returns large freed
blocks to the system, so each one costs page faults too) and stream the whole vector through
memory again; a block stays in the processor's cache from the first operation to the last.
"""

from __future__ import annotations

import numpy as np

from .workspace import BLOCK, blocks


def _scratch(theta, scratch):
    """``scratch`` if given (an array of at least ``min(theta.size, BLOCK)`` entries of
    ``theta``'s dtype), else a new one."""
    if scratch is None:
        scratch = np.empty(min(theta.size, BLOCK), dtype=theta.dtype)
    return scratch


def init_sgd_state(theta, learning_rate):
    """State of SGD: the velocity and the current learning rate."""
    return {"velocity": np.zeros_like(theta), "learning_rate": float(learning_rate)}


def sgd_step(theta, grad, state, *, momentum=0.9, nesterov=True, scratch=None):
    r"""One step of SGD with (Nesterov) momentum.

    ``scratch``, an array of ``min(theta.size, BLOCK)`` entries of ``theta``'s dtype, spares
    an allocation per step.

    Notes
    -----
    With learning rate ``eta`` and momentum ``mu``:

    .. math::

        v \leftarrow \mu v - \eta g, \qquad
        \theta \leftarrow \theta + v \;\;\text{(classical)} \quad\text{or}\quad
        \theta \leftarrow \theta + \mu v - \eta g \;\;\text{(Nesterov)}.

    With ``mu = 0`` both are plain gradient descent, ``theta <- theta - eta g``.
    """
    lr, momentum = float(state["learning_rate"]), float(momentum)
    velocity = state["velocity"]
    scratch = _scratch(theta, scratch)
    for block in blocks(theta.size):
        v, step = velocity[block], scratch[: block.stop - block.start]
        lr_g = np.multiply(grad[block], lr, out=step)
        v *= momentum
        v -= lr_g
        if nesterov:
            theta[block] -= lr_g
            theta[block] += np.multiply(v, momentum, out=step)
        else:
            theta[block] += v


def invscaling_learning_rate(learning_rate_init, t, power_t):
    """``eta_t = eta_0 / (t + 1) ** power_t``, with ``t`` the number of samples seen."""
    return float(learning_rate_init) / (t + 1) ** power_t


def init_adam_state(theta):
    """State of Adam: the step count and the decaying sums of the gradients and of their
    squares (see :func:`adam_step`)."""
    return {"t": 0, "grad_sum": np.zeros_like(theta), "grad_sq_sum": np.zeros_like(theta)}


def adam_step(theta, grad, state, *, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8, scratch=None):
    r"""One Adam step (Kingma and Ba, 2014).

    ``scratch``, an array of ``min(theta.size, BLOCK)`` entries of ``theta``'s dtype, spares
    an allocation per step.

    Notes
    -----
    Adam keeps moving averages of the gradient and of its square,

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \qquad
        \eta_t = \eta_0 \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}, \qquad
        \theta \leftarrow \theta - \eta_t \frac{m}{\sqrt{v} + \epsilon},

    with the bias corrections folded into ``eta_t``, as in scikit-learn. The state keeps
    ``M = m / (1 - beta_1)`` and ``V = v / (1 - beta_2)`` instead: decaying *sums*
    ``M <- beta_1 M + g`` and ``V <- beta_2 V + g^2``, which take one pass over the vector
    fewer each than the averages. The step is the same,

    .. math::

        \theta \leftarrow \theta - \eta_t \frac{1 - \beta_1}{\sqrt{1 - \beta_2}}
        \frac{M}{\sqrt{V} + \epsilon / \sqrt{1 - \beta_2}}.
    """
    state["t"] += 1
    t = state["t"]
    # Python floats: a NumPy float64 scalar would make float32 arithmetic float64 (NEP 50).
    beta_1, beta_2, epsilon = float(beta_1), float(beta_2), float(epsilon)
    lr = float(learning_rate_init) * (1 - beta_2**t) ** 0.5 / (1 - beta_1**t)
    # The step in the sums M, V (see Notes): eta_t * scale * M / (sqrt(V) + eps_V).
    scale, eps_V = (1 - beta_1) / (1 - beta_2) ** 0.5, epsilon / (1 - beta_2) ** 0.5
    scratch = _scratch(theta, scratch)
    for block in blocks(theta.size):
        g, M, V = grad[block], state["grad_sum"][block], state["grad_sq_sum"][block]
        step = scratch[: block.stop - block.start]
        M *= beta_1
        M += g
        V *= beta_2
        V += np.multiply(g, g, out=step)
        step = np.sqrt(V, out=step)
        step += eps_V
        step = np.divide(M, step, out=step)
        step *= lr * scale
        theta[block] -= step
