"""Stochastic optimisers and learning-rate schedules on one flat parameter vector.

Each optimiser is a pair of functions: ``init_*_state(theta)`` returns its state as a plain
dict of arrays and numbers (so a fitted estimator that keeps it can still be saved with
``skops`` and resumed with ``partial_fit``), and ``*_step(theta, grad, state, ...)`` updates
``theta`` in place. Their arithmetic is scikit-learn's (``_stochastic_optimizers.py``), done
on the whole vector instead of once per layer.

Two registries tie them to the estimators' parameters, as :data:`skdnn.nn.ACTIVATIONS` does
for the activations: :data:`OPTIMIZERS` maps a ``solver`` name to a class that holds the
hyper-parameters and steps, and :data:`SCHEDULES` maps a ``learning_rate`` name to what
happens to SGD's step size after each epoch and when training stops improving. A training
loop calls ``step`` per batch, ``after_epoch`` per epoch and ``on_plateau`` when the
stopping rule fires, and never asks which optimiser it has.

A step goes over the vector in blocks (:func:`skdnn.nn._kernels.blocks`), with one scratch
array for the intermediate results. Written naively, each of the ten element-wise operations
of an Adam step would allocate a temporary as large as the network (NumPy returns large freed
blocks to the system, so each one costs page faults too) and stream the whole vector through
memory again; a block stays in the processor's cache from the first operation to the last.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._kernels import BLOCK, blocks


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


def coslog(progress, n_cycles=4):
    r"""RealMLP's ``coslog4`` learning-rate multiplier at ``progress`` in [0, 1] of training:
    ``(1 - cos(2 pi log2(1 + (2^c - 1) t))) / 2``, ``c`` cycles of a cosine on a log scale
    (pytabkit's ``CoslogFunc``); 0 at the start and at the end, 1 at each cycle's middle."""
    return 0.5 * (1 - math.cos(2 * math.pi * math.log2(1 + (2**n_cycles - 1) * progress)))


def flat_cos(progress):
    """RealMLP's ``flat_cos`` multiplier (its dropout and weight decay): 1 for the first half
    of training, then a half cosine down to 0 (pytabkit's ``combine_scheds``)."""
    if progress <= 0.5:
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (2 * progress - 1)))


def adamw_step(theta, grad, state, *, learning_rate, factors, decay, beta_1=0.9,
               beta_2=0.95, epsilon=1e-8):
    r"""One step of Adam with per-parameter learning-rate factors and decoupled weight decay
    (Loshchilov and Hutter's AdamW, as RealMLP applies it).

    With ``eta = learning_rate * factors`` (a vector like ``theta``),

    .. math::

        \theta \leftarrow \theta (1 - \eta\, \mathrm{decay})
        - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \frac{m}{\sqrt{v} + \epsilon},

    ``m``, ``v`` Adam's moving averages (kept as the decaying sums of :func:`adam_step`), and
    ``decay`` the weight decay of each parameter (0 for biases). The vectors are small (a
    tabular network), so the step is written on whole vectors.
    """
    state["t"] += 1
    t = state["t"]
    beta_1, beta_2, epsilon = float(beta_1), float(beta_2), float(epsilon)
    M, V = state["grad_sum"], state["grad_sq_sum"]
    M *= beta_1
    M += grad
    V *= beta_2
    V += grad * grad
    correction = (1 - beta_2**t) ** 0.5 / (1 - beta_1**t) * (1 - beta_1) / (1 - beta_2) ** 0.5
    eta = float(learning_rate) * factors
    theta *= 1 - eta * decay
    theta -= eta * correction * M / (np.sqrt(V) + epsilon / (1 - beta_2) ** 0.5)


class Schedule(NamedTuple):
    """A learning-rate schedule of SGD: ``after_epoch(state, learning_rate_init, t,
    power_t)`` updates ``state["learning_rate"]`` after each epoch (``t`` samples seen so
    far), and ``on_plateau(state)`` returns True when it lowered the rate so that training
    goes on, False when training should stop."""

    after_epoch: Callable
    on_plateau: Callable


def _keep_rate(state, learning_rate_init, t, power_t):
    pass


def _invscale_rate(state, learning_rate_init, t, power_t):
    state["learning_rate"] = invscaling_learning_rate(learning_rate_init, t, power_t)


def _stop(state):
    return False


def _divide_rate_by_five(state):
    """scikit-learn's ``"adaptive"``: divide the rate by 5 while it is above 1e-6."""
    if state["learning_rate"] <= 1e-6:
        return False
    state["learning_rate"] /= 5.0
    return True


#: ``learning_rate`` name -> :class:`Schedule`.
SCHEDULES = {
    "constant": Schedule(_keep_rate, _stop),
    "invscaling": Schedule(_invscale_rate, _stop),
    "adaptive": Schedule(_keep_rate, _divide_rate_by_five),
}


class _Optimizer:
    """What both optimisers share: resuming a saved state that fits, or starting anew."""

    name = ""
    _vector = ""  # a key of the state holding a vector as long as theta

    def new_state(self, theta):
        raise NotImplementedError

    def resume(self, state, theta):
        """``state`` if it is this optimiser's state for ``theta``'s size, else a new one."""
        if (state is None or state.get("solver") != self.name
                or len(state[self._vector]) != theta.size):
            state = dict(self.new_state(theta), solver=self.name)
        return state


class SGD(_Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum and a learning-rate schedule.

    The parameters are scikit-learn's, named as in ``MLPClassifier`` (:attr:`PARAMETERS`).
    """

    name, _vector = "sgd", "velocity"
    PARAMETERS = ("learning_rate_init", "learning_rate", "power_t", "momentum",
                  "nesterovs_momentum")

    def __init__(self, *, learning_rate_init=0.001, learning_rate="constant", power_t=0.5,
                 momentum=0.9, nesterovs_momentum=True):
        self.learning_rate_init, self.power_t = learning_rate_init, power_t
        self.momentum, self.nesterov = momentum, nesterovs_momentum
        self.schedule = SCHEDULES[learning_rate]

    def new_state(self, theta):
        return init_sgd_state(theta, self.learning_rate_init)

    def step(self, theta, grad, state, scratch=None):
        sgd_step(theta, grad, state, momentum=self.momentum, nesterov=self.nesterov,
                 scratch=scratch)

    def after_epoch(self, state, t):
        self.schedule.after_epoch(state, self.learning_rate_init, t, self.power_t)

    def on_plateau(self, state):
        return self.schedule.on_plateau(state)


class Adam(_Optimizer):
    """Adam with scikit-learn's parameters (:attr:`PARAMETERS`); it has no schedule (as in
    scikit-learn, ``learning_rate`` applies to SGD only)."""

    name, _vector = "adam", "grad_sum"
    PARAMETERS = ("learning_rate_init", "beta_1", "beta_2", "epsilon")

    def __init__(self, *, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init, self.epsilon = learning_rate_init, epsilon
        self.beta_1, self.beta_2 = beta_1, beta_2

    def new_state(self, theta):
        return init_adam_state(theta)


    def step(self, theta, grad, state, scratch=None):
        adam_step(theta, grad, state, learning_rate_init=self.learning_rate_init,
                  beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, scratch=scratch)

    def after_epoch(self, state, t):
        pass

    def on_plateau(self, state):
        return False


class ScheduledAdamW(_Optimizer):
    """RealMLP-TD's optimiser: :func:`adamw_step` whose learning rate follows
    :func:`coslog` and whose weight decay follows :func:`flat_cos` over ``total_steps``
    steps.

    Parameters
    ----------
    learning_rate_init : float
        The peak learning rate.
    total_steps : int
        The steps of the whole fit (epochs times batches per epoch): the schedules' length.
    factors, decay : ndarray
        Per parameter, the learning-rate factor and the weight decay (decay 0: none).
    beta_1, beta_2, epsilon : float
        Adam's; RealMLP-TD's ``sq_mom=0.95`` is ``beta_2``.
    """

    name, _vector = "adamw", "grad_sum"

    def __init__(self, *, learning_rate_init, total_steps, factors, decay, beta_1=0.9,
                 beta_2=0.95, epsilon=1e-8):
        self.learning_rate_init, self.total_steps = learning_rate_init, max(int(total_steps), 1)
        self.factors, self.decay = factors, decay
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def new_state(self, theta):
        return init_adam_state(theta)

    def step(self, theta, grad, state, scratch=None):
        progress = min(state["t"] / self.total_steps, 1.0)
        adamw_step(theta, grad, state,
                   learning_rate=self.learning_rate_init * coslog(progress),
                   factors=self.factors, decay=self.decay * flat_cos(progress),
                   beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)

    def after_epoch(self, state, t):
        pass

    def on_plateau(self, state):
        return False


#: ``solver`` name -> optimiser class.
OPTIMIZERS = {"sgd": SGD, "adam": Adam}
