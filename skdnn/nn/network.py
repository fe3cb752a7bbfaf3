r"""Forward and backward passes over a fully connected network.

Notes
-----
A network with layer sizes ``layer_units = [n_features, h_1, ..., h_{L-1}, n_outputs]`` has
``L`` weight layers. Layer ``l`` holds ``W_l`` of shape ``(layer_units[l], layer_units[l+1])``
and ``b_l`` of shape ``(layer_units[l+1],)``. With ``a_0 = X`` of shape
``(n_samples, n_features)``, the forward pass is

.. math::

    z_{l+1} = a_l W_l + b_l, \qquad a_{l+1} = g(z_{l+1}) \quad (l < L - 1),

so the shapes go ``[n_samples x n_features] . [n_features x h_1] -> [n_samples x h_1]`` and
so on, ending in logits ``z_L`` of shape ``(n_samples, n_outputs)`` that the output layer
(softmax, sigmoid, identity or exp, :mod:`skdnn.nn.losses`) turns into probabilities or
predictions.

The backward pass is the chain rule, applied from the output back. Starting from
``delta_L = dL/dz_L = (p - y) w / sum(w)`` (the fused gradient of an output layer and its
canonical loss):

.. math::

    \frac{\partial L}{\partial W_l} = a_l^T \delta_{l+1} + \frac{\alpha}{\sum_i w_i} W_l,
    \qquad
    \frac{\partial L}{\partial b_l} = \sum_i \delta_{l+1, i},
    \qquad
    \delta_l = (\delta_{l+1} W_l^T) \odot g'(z_l).

Carried one step further, ``delta_1 W_0^T`` is the gradient with respect to the input ``X``
itself, which :mod:`skdnn.explain` uses for attributions.

All parameters live in one flat vector ``theta`` (weights, then biases, then PReLU slopes,
layer by layer) and :meth:`Network.unpack` returns per-layer *views* into it. An optimiser
then updates every parameter with a single vectorised expression, and L-BFGS works on
``theta`` without copies.

Training repeats the same passes on thousands of mini-batches, so every intermediate matrix
(``z_l``, ``a_l``, ``delta_l``, ``g'(z_l)``, dropout masks) is written into arrays of a
:class:`~skdnn.nn._kernels.Workspace` that are allocated once, and activations work in place.
"""

from __future__ import annotations

import functools
from functools import partial
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._kernels import BLOCK, Workspace, add_scaled, sparse_dot
from .activations import PRELU_INIT, activation_param, get_activation
from .init import glorot_uniform
from .layout import Layout, Model
from .losses import loss_and_output_delta, output_values


class Params(NamedTuple):
    """Per-layer views of a flat parameter (or gradient) vector.

    :meth:`Network.unpack` makes them; writing into a view writes into the vector.

    Parameters
    ----------
    coefs : list of ndarray
        ``coefs[l]``, the weights ``W_l``, of shape ``(layer_units[l], layer_units[l + 1])``.
    intercepts : list of ndarray
        ``intercepts[l]``, the biases ``b_l``, of shape ``(layer_units[l + 1],)``.
    slopes : list of ndarray
        PReLU's learned slopes, one array per hidden layer; empty for other activations.

    See Also
    --------
    Network.unpack : The views of a flat vector.
    Network.pack : A flat vector from per-layer arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn.nn import Network
    >>> net = Network([2, 3, 1], "relu", "logistic")
    >>> params = net.unpack(np.zeros(net.size))
    >>> [W.shape for W in params.coefs], [b.shape for b in params.intercepts]
    ([(2, 3), (3, 1)], [(3,), (1,)])
    """

    coefs: list
    intercepts: list
    slopes: list  # one array per hidden layer with PReLU, else empty


class Trace(NamedTuple):
    """What the forward pass keeps for the backward pass.

    :meth:`Network.forward` returns it, and :meth:`Network.backward` reads it.

    Parameters
    ----------
    inputs : list of ndarray
        ``inputs[l]`` is what weight layer ``l`` multiplied (``a_l``, after dropout).
    outputs : list of ndarray
        ``outputs[l]``, the hidden activation ``g(z_l)`` before dropout.
    pre : list of ndarray or None
        ``pre[l]``, the pre-activation ``z_l`` (only when the activation's derivative needs
        it, else None).
    masks : list of ndarray
        ``masks[l]``, the scaled dropout mask (empty without dropout).

    See Also
    --------
    Network.forward : The forward pass, which fills it.
    Network.backward : The backward pass, which reads it.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn.nn import Network
    >>> net = Network([2, 3, 1], "relu", "logistic")
    >>> z, trace = net.forward(np.ones(net.size), np.ones((4, 2)))
    >>> [a.shape for a in trace.inputs], [a.shape for a in trace.outputs]
    ([(4, 2), (4, 3)], [(4, 3)])
    """

    inputs: list
    outputs: list
    pre: list
    masks: list


class Network(Model):
    """A fully connected network: its parameter layout and its forward and backward passes.

    It implements the engine's interface (:class:`~skdnn.nn.layout.Model`). It holds no
    parameters: they live in one flat vector ``theta`` that the methods take, and
    :meth:`unpack` views per layer. The module's notes give the equations; the documentation's
    page "How the engine works" walks through them.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, h_1, ..., n_outputs]``.
    activation : str
        Hidden activation, a key of :data:`skdnn.nn.activations.ACTIVATIONS`.
    out_activation : {"softmax", "logistic", "identity", "exp"}
        The output layer, :mod:`skdnn.nn.losses`.
    negative_slope : float
        Slope of ``leaky_relu`` for negative inputs.
    dtype : numpy dtype
        The dtype, float32 or float64, of every buffer and parameter.
    alpha : float, default=0.0
        The L2 penalty of :meth:`loss_and_gradient`.
    dropout : float, default=0.0
        The dropout rate of the hidden units in a training-mode :meth:`forward`.

    Attributes
    ----------
    layout : Layout
        The blocks ``coefs.l``, ``intercepts.l`` (and ``slopes.l``) of ``theta``.
    workspace : Workspace
        The arrays that :meth:`loss_and_gradient` reuses from one call to the next.

    See Also
    --------
    Params : The per-layer views of ``theta``.
    skdnn.MLPClassifierFromScratch : The estimator that trains one.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn.nn import Network
    >>> net = Network([3, 4, 3], "relu", "softmax")
    >>> theta = net.init(np.random.default_rng(0))
    >>> z, trace = net.forward(theta, np.ones((5, 3)))
    >>> z.shape, net.outputs(theta, np.ones((5, 3))).sum(axis=1)
    ((5, 3), array([1., 1., 1., 1., 1.]))
    """

    def __init__(self, layer_units, activation, out_activation, *, negative_slope=0.01,
                 dtype=np.float64, alpha=0.0, dropout=0.0):
        self.layer_units = [int(u) for u in layer_units]
        self.n_weight_layers = len(self.layer_units) - 1
        self.hidden = get_activation(activation)
        self.out_activation = out_activation
        self.negative_slope = negative_slope
        self.dtype = np.dtype(dtype)
        self.alpha, self.dropout = alpha, dropout
        self.has_slopes = activation == "prelu"
        self._kept_views = {}

    # The layout of the flat parameter vector and the training workspace are made on first
    # use: a network built only to predict (a new one for each predict call) needs neither.
    @functools.cached_property
    def layout(self):
        """The blocks of ``theta``: every ``W_l``, then every ``b_l``, then PReLU's slopes."""
        layout = Layout()
        pairs = list(zip(self.layer_units[:-1], self.layer_units[1:], strict=True))
        for layer, shape in enumerate(pairs):
            layout.add(f"coefs.{layer}", shape)
        for layer, (_, fan_out) in enumerate(pairs):
            layout.add(f"intercepts.{layer}", (fan_out,))
        if self.has_slopes:
            for layer, units in enumerate(self.layer_units[1:-1]):
                layout.add(f"slopes.{layer}", (units,))
        return layout

    @property
    def n_weights(self):
        """Number of weights (not biases or slopes): ``theta[:n_weights]`` are the ``W_l``."""
        return self.layout.blocks[f"coefs.{self.n_weight_layers - 1}"][1]

    @property
    def row_bytes(self):
        """About the memory of one row's prediction-mode pass.

        Two arrays of the widest layer at once: a layer's input and output.
        """
        return 2 * max(self.layer_units) * self.dtype.itemsize

    @functools.cached_property
    def workspace(self):
        """The :class:`Workspace` of :meth:`loss_and_gradient`, made on first use (a network
        built only to predict never needs it)."""
        return Workspace(self.dtype)

    def _array(self, workspace, key, shape):
        """``workspace.array(key, shape)``, or a new array without a workspace."""
        if workspace is None:
            return np.empty(shape, dtype=self.dtype)
        return workspace.array(key, shape)

    # -- parameters ---------------------------------------------------------------------
    def unpack(self, theta):
        """Split a flat vector into :class:`Params` of views (no copy).

        Parameters
        ----------
        theta : ndarray of shape (size,)
            Parameters or gradients, laid out as this network lays them out.

        Returns
        -------
        Params
            Views of ``theta``, per layer.
        """
        views = list(self.layout.views(theta).values())
        n = self.n_weight_layers
        return Params(views[:n], views[n : 2 * n], views[2 * n :])

    def _params(self, theta):
        """Per-layer views of ``theta``; per-layer arrays (:class:`Params`) as they are."""
        return theta if isinstance(theta, Params) else self.unpack(theta)

    def _views(self, vector, role):
        """``unpack(vector)``, kept for the next call that passes the same array in that
        ``role`` (training passes the same ``theta`` and ``grad`` for every batch)."""
        kept = self._kept_views.get(role)
        if kept is None or kept[0] is not vector:
            kept = self._kept_views[role] = (vector, self.unpack(vector))
        return kept[1]

    def pack(self, coefs, intercepts, slopes=()):
        """Concatenate per-layer arrays into a new flat vector of this network's dtype.

        Parameters
        ----------
        coefs : list of ndarray
            The weights of each layer.
        intercepts : list of ndarray
            The biases of each layer.
        slopes : list of ndarray, default=()
            PReLU's slopes of each hidden layer (ignored for other activations).

        Returns
        -------
        ndarray of shape (size,)
            The flat vector.
        """
        arrays = list(coefs) + list(intercepts) + (list(slopes) if self.has_slopes else [])
        if len(arrays) != len(self.layout.blocks):
            raise ValueError(
                f"Got {len(coefs)} weight, {len(intercepts)} bias and {len(slopes)} slope "
                f"arrays for a network of {self.n_weight_layers} weight layers."
            )
        for array, (_, _, shape) in zip(arrays, self.layout.blocks.values(), strict=True):
            if np.shape(array) != shape:
                raise ValueError(
                    f"A parameter array has shape {np.shape(array)}; this network expects {shape}."
                )
        return np.concatenate([np.ravel(a) for a in arrays]).astype(self.dtype, copy=False)

    def init(self, rng, init=None):
        """Draw a new flat vector: weights and biases from ``init``, PReLU slopes 0.25.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness.
        init : callable ``(fan_in, fan_out, rng) -> (W, b)``, default=None
            The initialiser; None is :func:`skdnn.nn.init.glorot_uniform` with the gain of
            the hidden activation, as scikit-learn's MLP draws it.

        Returns
        -------
        ndarray of shape (size,)
            The new parameters.
        """
        if init is None:
            init = partial(glorot_uniform, activation=self.hidden.name, dtype=self.dtype)
        pairs = zip(self.layer_units[:-1], self.layer_units[1:], strict=True)
        layers = [init(fan_in, fan_out, rng) for fan_in, fan_out in pairs]
        slopes = [np.full(units, PRELU_INIT) for units in self.layer_units[1:-1]]
        return self.pack([W for W, _ in layers], [b for _, b in layers], slopes)

    def _param(self, params, layer):
        slopes = params.slopes[layer] if self.has_slopes else None
        return activation_param(self.hidden.name, negative_slope=self.negative_slope, slopes=slopes)

    # -- forward --------------------------------------------------------------------------
    def forward(self, theta, X, training=False, rng=None):
        """Run the network on ``X``: the logits and the :class:`Trace` of the pass.

        Parameters
        ----------
        theta : ndarray of shape (size,) or Params
            The parameters: the flat vector, or arrays per layer (a fitted estimator's
            ``coefs_``, with no copy into a flat vector).
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input.
        training : bool, default=False
            Apply dropout (when the network has some): each hidden unit is zeroed with
            probability ``dropout`` and the survivors scaled by ``1 / (1 - dropout)``
            ("inverted dropout"), so the expected activation is unchanged and prediction
            needs no rescaling.
        rng : numpy.random.Generator or None, default=None
            Draws the dropout masks; needed when training with dropout.

        Returns
        -------
        z : ndarray of shape (n_samples, n_outputs)
            The logits ``z_L``, before the output layer.
        trace : Trace
            What :meth:`backward` reads.
        """
        trace = Trace([], [], [], [])
        z = self._logits(self._params(theta), X, trace, self.dropout if training else 0.0, rng)
        return z, trace

    def _logits(self, params, X, trace=None, dropout=0.0, rng=None, workspace=None):
        """The forward pass on per-layer ``params``, filling ``trace`` when given; with a
        ``workspace``, every matrix (the returned logits too) lives in its arrays."""
        n = X.shape[0]
        a = X
        last = self.n_weight_layers - 1
        for layer, (W, b) in enumerate(zip(params.coefs, params.intercepts, strict=True)):
            if trace is not None:
                trace.inputs.append(a)
            z = self._array(workspace, ("z", layer), (n, W.shape[1]))
            if layer == 0 and sp.issparse(X):
                sparse_dot(X, W, out=z)
            else:
                np.matmul(a, W, out=z)
            z += b
            if layer == last:
                return z
            param = self._param(params, layer)
            if self.hidden.needs_z:
                a = self.hidden.forward(z, param, self._array(workspace, ("a", layer), z.shape))
            else:
                a = self.hidden.forward(z, param, z)  # in place: z is not needed again
            if trace is not None:
                trace.pre.append(z if self.hidden.needs_z else None)
                trace.outputs.append(a)
            if dropout > 0:
                # mask = 1{u >= dropout} / (1 - dropout) with u ~ U[0, 1), built in place.
                mask = self._array(workspace, ("mask", layer), a.shape)
                rng.random(out=mask, dtype=self.dtype)
                np.greater_equal(mask, dropout, out=mask)
                mask *= 1.0 / (1.0 - dropout)
                a = np.multiply(a, mask, out=self._array(workspace, ("dropped", layer), a.shape))
                if trace is not None:
                    trace.masks.append(mask)
        raise AssertionError("unreachable")

    def outputs(self, theta, X):
        """Compute the output layer's values: probabilities, or predictions.

        Parameters
        ----------
        theta : ndarray of shape (size,) or Params
            The parameters, as for :meth:`forward`.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            Probabilities (classification) or predictions (regression).
        """
        z = self._logits(self._params(theta), X)
        return output_values(z, self.out_activation, out=z)

    # -- backward -------------------------------------------------------------------------
    def backward(self, theta, trace, delta, grad=None, input_gradient=False):
        """Backpropagate ``delta = dL/dz_L`` through the network.

        Parameters
        ----------
        theta : ndarray of shape (size,)
            The parameters the forward pass used.
        trace : Trace
            Filled by :meth:`forward` for the same input; read, not changed.
        delta : ndarray of shape (n_samples, n_outputs)
            Gradient of the objective with respect to the logits.
        grad : ndarray of shape (size,) or None, default=None
            Receives ``dL/dtheta`` of the data term (overwritten); None skips the
            parameters' gradient (an input gradient alone).
        input_gradient : bool, default=False
            Also compute ``dL/dX``.

        Returns
        -------
        grad : ndarray of shape (size,) or None
            ``grad``, holding ``dL/dtheta``; None when no ``grad`` was given.
        dX : ndarray of shape (n_samples, n_features) or None
            ``dL/dX`` when ``input_gradient`` is true.
        """
        grads = None if grad is None else self.unpack(grad)
        dX = self._backward(self._params(theta), trace, delta, grads, input_gradient)
        return grad, dX

    def _backward(self, params, trace, delta, grads=None, input_gradient=False,
                  workspace=None):
        """The chain rule on per-layer views; ``g'(z)`` and the deltas go into
        ``workspace``'s arrays when one is given."""
        for layer in range(self.n_weight_layers - 1, -1, -1):
            W = params.coefs[layer]
            if grads is not None:
                a_in = trace.inputs[layer]
                if layer == 0 and sp.issparse(a_in):
                    sparse_dot(a_in.T, delta, out=grads.coefs[layer])
                else:
                    np.matmul(a_in.T, delta, out=grads.coefs[layer])
                # The column sums of delta, as a matrix-vector product: faster than np.sum.
                ones = self._array(workspace, "ones", (delta.shape[0],))
                ones.fill(1)
                np.matmul(ones, delta, out=grads.intercepts[layer])
            if layer == 0 and not input_gradient:
                return None
            if layer == 0:
                return delta @ W.T  # dL/dX, a new array for the caller
            hidden = layer - 1
            delta = np.matmul(delta, W.T, out=self._array(workspace, ("delta", hidden),
                                                          (delta.shape[0], W.shape[0])))
            # delta is now dL/da for hidden layer `hidden`
            if trace.masks:
                delta *= trace.masks[hidden]
            z, a = trace.pre[hidden], trace.outputs[hidden]
            if grads is not None and self.hidden.param_gradient is not None:
                grads.slopes[hidden][...] = self.hidden.param_gradient(z, delta)
            derivative = self._array(workspace, ("derivative", hidden), a.shape)
            delta *= self.hidden.derivative(z, a, self._param(params, hidden), out=derivative)
        return None

    # -- objective --------------------------------------------------------------------------
    def loss_and_gradient(self, theta, grad, X, Y, sample_weight=None, rng=None):
        """The training objective at ``theta`` and its gradient, written into ``grad``.

        The objective is scikit-learn's: the weighted mean loss of the output layer plus
        ``alpha / (2 sum_i w_i) * sum_l ||W_l||^2`` (biases and slopes are not penalised),
        on a training-mode pass (with dropout, when the network has some).

        Parameters
        ----------
        theta, grad : ndarray of shape (size,)
            Flat parameters and the buffer that receives their gradient.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Y : ndarray of shape (n_samples, n_outputs)
            One-hot / indicator targets (boolean or in this network's dtype), or regression
            targets in this network's dtype.
        sample_weight : ndarray of shape (n_samples,) or None, default=None
            Per-sample weights ``w_i``; ``None`` weighs every sample 1.
        rng : numpy.random.Generator or None, default=None
            Draws the dropout masks; needed when ``dropout > 0``.

        Returns
        -------
        float
            The objective at ``theta``.
        """
        params = self._views(theta, "theta")
        trace = Trace([], [], [], [])
        ws = self.workspace
        z = self._logits(params, X, trace, self.dropout, rng, ws)
        loss, delta = loss_and_output_delta(z, Y, self.out_activation, sample_weight)
        self._backward(params, trace, delta, self._views(grad, "grad"), workspace=ws)
        if self.alpha:
            sw_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
            l2_scale = self.alpha / sw_sum
            # The penalty and its gradient l2_scale * W_l, on all the W_l at once: they are
            # theta[:n_weights], one after the other.
            weights = theta[: self.n_weights]
            loss += 0.5 * l2_scale * float(np.dot(weights, weights))
            scratch = ws.array("scratch", (min(theta.size, BLOCK),))  # shared with the optimiser
            add_scaled(grad[: self.n_weights], weights, l2_scale, scratch)
        return loss
