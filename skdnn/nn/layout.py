"""The one interface of the engine's networks, and the one layout of their parameters.

Every network (:class:`~skdnn.nn.network.Network`, the multi-layer perceptron;
:class:`~skdnn.nn.tabnet.TabNet`) keeps all its trained parameters in one flat vector
``theta`` whose named blocks a :class:`Layout` describes, and implements :class:`Model`:

``init(rng) -> theta``
    New parameters, drawn from a ``numpy.random.Generator`` (and new ``buffers``).
``forward(theta, X, training=False, rng=None) -> (z, trace)``
    The logits and what the backward pass needs, returned as values.
``backward(theta, trace, delta, grad=None, input_gradient=False) -> (grad, dX)``
    The chain rule from ``delta = dL/dz`` to the parameters and, when asked, to the input.
``loss_and_gradient(theta, grad, X, Y, sample_weight=None, rng=None) -> loss``
    One batch's training objective, with its gradient written into ``grad``.
``outputs(theta, X)``
    The output layer's values in prediction mode: probabilities, or predictions.

A training loop (``skdnn._train``) and the explanations (``skdnn.explain``) use only these,
so a new network is trained and explained as soon as it implements them.
"""

from __future__ import annotations

import math

import numpy as np


class Layout:
    """Named blocks of one flat vector: ``add`` them, then ``views`` of any vector of ``size``.

    Examples
    --------
    >>> import numpy as np
    >>> layout = Layout()
    >>> layout.add("W", (2, 3)); layout.add("b", (3,))
    >>> v = np.arange(layout.size, dtype=float)
    >>> layout.views(v)["b"]
    array([6., 7., 8.])
    """

    def __init__(self):
        self.blocks = {}
        self.size = 0

    def add(self, name, shape):
        """Append a block ``name`` of ``shape`` to the vector."""
        n = math.prod(shape)
        self.blocks[name] = (self.size, self.size + n, tuple(shape))
        self.size += n

    def views(self, vector):
        """``{name: view}`` of ``vector``; writing to a view writes into ``vector``."""
        return {name: vector[start:stop].reshape(shape)
                for name, (start, stop, shape) in self.blocks.items()}

    def pack(self, arrays, dtype=np.float64):
        """A new flat vector from ``{name: array}``, every block given, in ``dtype``."""
        missing = set(self.blocks) - set(arrays)
        if missing:
            raise ValueError(f"No array for the blocks {sorted(missing)}.")
        theta = np.empty(self.size, dtype=dtype)
        for name, view in self.views(theta).items():
            if np.shape(arrays[name]) != view.shape:
                raise ValueError(f"Block {name!r} has shape {view.shape}; got an array of shape "
                                 f"{np.shape(arrays[name])}.")
            view[...] = arrays[name]
        return theta


class Model:
    """What every network of the engine implements (see the module's docstring).

    Attributes
    ----------
    layout : Layout
        The named blocks of ``theta``.
    buffers : ndarray
        State that is not trained by gradients but updated by ``forward(training=True)``
        (TabNet's batch-norm running statistics); empty for a network without any. A
        training loop that keeps a best epoch keeps ``buffers`` with ``theta``.
    out_activation : str
        The output layer, a key of :data:`skdnn.nn.losses.LOSSES`.
    row_bytes : int
        About how much memory one row's prediction-mode forward pass holds, for passes over
        many rows in blocks (a backward pass holds about as much again).
    """

    layout: Layout
    out_activation: str
    buffers: np.ndarray = np.empty(0)

    @property
    def size(self):
        """Number of parameters: the length of ``theta``."""
        return self.layout.size

    def init(self, rng):
        raise NotImplementedError

    def forward(self, theta, X, training=False, rng=None):
        raise NotImplementedError

    def backward(self, theta, trace, delta, grad=None, input_gradient=False):
        raise NotImplementedError

    def loss_and_gradient(self, theta, grad, X, Y, sample_weight=None, rng=None):
        raise NotImplementedError

    def outputs(self, theta, X):
        raise NotImplementedError


class AffineOutput(Model):
    """A network whose logits are scaled and shifted: ``z * scale + offset``.

    A regressor that learned a standardised target (TabNet's) predicts in the target's
    units through it; the explanations differentiate it as any network.

    Parameters
    ----------
    network : Model
    scale, offset : ndarray of shape (n_outputs,) or float
    """

    def __init__(self, network, scale, offset):
        self.network, self.scale, self.offset = network, scale, offset
        self.layout, self.out_activation = network.layout, network.out_activation
        self.buffers, self.row_bytes = network.buffers, network.row_bytes

    def __getattr__(self, name):  # the wrapped network's structure (e.g. ``cat_idxs``)
        if name == "network":
            raise AttributeError(name)
        return getattr(self.network, name)

    def forward(self, theta, X, training=False, rng=None):
        z, trace = self.network.forward(theta, X, training, rng)
        return z * self.scale + self.offset, trace

    def backward(self, theta, trace, delta, grad=None, input_gradient=False):
        return self.network.backward(theta, trace, delta * self.scale, grad, input_gradient)

    def outputs(self, theta, X):
        return self.network.outputs(theta, X) * self.scale + self.offset
