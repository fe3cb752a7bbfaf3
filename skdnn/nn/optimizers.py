"""Stochastic optimisers on one flat parameter vector.

Each optimiser is a pair of functions: ``init_*_state(theta)`` returns its state as a plain
dict of arrays and numbers (so a fitted estimator that keeps it can still be saved with
``skops`` and resumed with ``partial_fit``), and ``*_step(theta, grad, state, ...)`` updates
``theta`` in place. Their arithmetic is scikit-learn's (``_stochastic_optimizers.py``), done
once on the whole vector instead of once per layer.
"""

from __future__ import annotations

import numpy as np


def init_sgd_state(theta, learning_rate):
    """State of SGD: the velocity and the current learning rate."""
    return {"velocity": np.zeros_like(theta), "learning_rate": float(learning_rate)}


def sgd_step(theta, grad, state, *, momentum=0.9, nesterov=True):
    """One step of SGD with (Nesterov) momentum.

    Notes
    -----
    With learning rate ``eta`` and momentum ``mu``:

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\theta \\leftarrow \\theta + v \\;\\;\\text{(classical)} \\quad\\text{or}\\quad
        \\theta \\leftarrow \\theta + \\mu v - \\eta g \\;\\;\\text{(Nesterov)}.

    With ``mu = 0`` both are plain gradient descent, ``theta <- theta - eta g``.
    """
    lr = state["learning_rate"]
    velocity = state["velocity"]
    velocity *= momentum
    velocity -= lr * grad
    if nesterov:
        theta += momentum * velocity
        theta -= lr * grad
    else:
        theta += velocity


def invscaling_learning_rate(learning_rate_init, t, power_t):
    """``eta_t = eta_0 / (t + 1) ** power_t``, with ``t`` the number of samples seen."""
    return float(learning_rate_init) / (t + 1) ** power_t


def init_adam_state(theta):
    """State of Adam: step count and the first and second moment estimates."""
    return {"t": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adam_step(theta, grad, state, *, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8):
    """One Adam step (Kingma and Ba, 2014).

    Notes
    -----
    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\qquad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\qquad
        \\eta_t = \\eta_0 \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}, \\qquad
        \\theta \\leftarrow \\theta - \\eta_t \\frac{m}{\\sqrt{v} + \\epsilon}.

    The bias corrections are folded into ``eta_t``, as in scikit-learn.
    """
    state["t"] += 1
    t = state["t"]
    m, v = state["m"], state["v"]
    m *= beta_1
    m += (1 - beta_1) * grad
    v *= beta_2
    v += (1 - beta_2) * (grad * grad)
    lr = float(learning_rate_init * np.sqrt(1 - beta_2**t) / (1 - beta_1**t))
    step = np.sqrt(v)
    step += epsilon
    np.divide(m, step, out=step)
    step *= lr
    theta -= step
