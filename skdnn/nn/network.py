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
:class:`~skdnn.nn.workspace.Workspace` that are allocated once, and activations work in place.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .activations import PRELU_INIT, activation_param, get_activation
from .losses import loss_and_output_delta, output_values
from .workspace import BLOCK, Workspace, blocks


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

    :meth:`Network.logits` fills it, given ``Trace([], [], [], [])``, and
    :meth:`Network.backward` reads it.

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
    Network.logits : The forward pass, which fills it.
    Network.backward : The backward pass, which reads it.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn.nn import Network, Trace
    >>> net = Network([2, 3, 1], "relu", "logistic")
    >>> trace = Trace([], [], [], [])
    >>> z = net.logits(net.unpack(np.ones(net.size)), np.ones((4, 2)), trace=trace)
    >>> [a.shape for a in trace.inputs], [a.shape for a in trace.outputs]
    ([(4, 2), (4, 3)], [(4, 3)])
    """

    inputs: list
    outputs: list
    pre: list
    masks: list


def sparse_dot(A, B, out):
    """``out = A @ B`` for a sparse matrix ``A`` and a dense ``B``, a block of columns at a time.

    SciPy's product walks the non-zeros of ``A`` and, for each, reads a whole row of ``B``
    and updates a whole row of the result, in random order. For a wide input (20,000 tf-idf
    columns) ``B`` or the result is tens of megabytes, and those rows come from main memory.
    On a block of a few columns, both fit in the processor's cache, which is several times
    faster, and no temporary as large as ``out`` is needed. Each block copies its columns of
    ``B``, which pays only when ``A`` has more non-zeros than ``B`` has rows (not for one row).
    """
    step = max(1, (1 << 19) // max(B.shape[0], out.shape[0]))  # <= 2**19 entries per block
    if A.nnz <= B.shape[0]:
        step = B.shape[1]
    for start in range(0, B.shape[1], step):
        out[:, start : start + step] = A @ B[:, start : start + step]
    return out


class Network:
    """The structure of a fully connected network, and its forward and backward passes.

    It holds no parameters: they live in one flat vector ``theta`` that the methods take,
    and :meth:`unpack` views per layer. The module's notes give the equations; the
    documentation's page "How the engine works" walks through them.

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

    Attributes
    ----------
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
    >>> from skdnn.nn.init import glorot_uniform
    >>> net = Network([3, 4, 3], "relu", "softmax")
    >>> theta = net.init_params(np.random.default_rng(0), glorot_uniform)
    >>> net.outputs(net.unpack(theta), np.ones((5, 3))).shape
    (5, 3)
    """

    def __init__(
        self, layer_units, activation, out_activation, *, negative_slope=0.01, dtype=np.float64
    ):
        self.layer_units = [int(u) for u in layer_units]
        self.n_weight_layers = len(self.layer_units) - 1
        self.hidden = get_activation(activation)
        self.out_activation = out_activation
        self.negative_slope = negative_slope
        self.dtype = np.dtype(dtype)
        self.has_slopes = activation == "prelu"
        self._kept_views = {}

    # The layout of the flat parameter vector and the training workspace are made on first
    # use: a network built only to predict (a new one for each predict call) needs neither.
    @functools.cached_property
    def _shapes(self):
        """Shapes of the parameter arrays, in their order in the flat vector."""
        pairs = list(zip(self.layer_units[:-1], self.layer_units[1:], strict=True))
        shapes = pairs + [(fan_out,) for _, fan_out in pairs]
        if self.has_slopes:
            shapes += [(units,) for units in self.layer_units[1:-1]]
        return shapes

    @functools.cached_property
    def _slices(self):
        """Where each parameter array sits in the flat vector."""
        stops = list(itertools.accumulate(math.prod(shape) for shape in self._shapes))
        return [slice(start, stop) for start, stop in zip([0, *stops[:-1]], stops, strict=True)]

    @property
    def size(self):
        """Number of parameters: the length of the flat vector."""
        return self._slices[-1].stop

    @property
    def n_weights(self):
        """Number of weights (not biases or slopes): ``theta[:n_weights]`` are the ``W_l``."""
        return self._slices[self.n_weight_layers - 1].stop

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
        views = [theta[part].reshape(shape) for part, shape in zip(self._slices, self._shapes,
                                                                   strict=True)]
        n = self.n_weight_layers
        return Params(views[:n], views[n : 2 * n], views[2 * n :])

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
        if len(arrays) != len(self._shapes):
            raise ValueError(
                f"Got {len(coefs)} weight, {len(intercepts)} bias and {len(slopes)} slope "
                f"arrays for a network of {self.n_weight_layers} weight layers."
            )
        for array, shape in zip(arrays, self._shapes, strict=True):
            if np.shape(array) != shape:
                raise ValueError(
                    f"A parameter array has shape {np.shape(array)}; this network expects {shape}."
                )
        return np.concatenate([np.ravel(a) for a in arrays]).astype(self.dtype, copy=False)

    def init_params(self, rng, init):
        """Draw a new flat vector: weights and biases from ``init``, PReLU slopes 0.25.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness.
        init : callable ``(fan_in, fan_out, rng) -> (W, b)``
            The initialiser, such as :func:`skdnn.nn.init.glorot_uniform`.

        Returns
        -------
        ndarray of shape (size,)
            The new parameters.
        """
        weight_shapes = self._shapes[: self.n_weight_layers]
        layers = [init(fan_in, fan_out, rng) for fan_in, fan_out in weight_shapes]
        slopes = [np.full(units, PRELU_INIT) for units in self.layer_units[1:-1]]
        return self.pack([W for W, _ in layers], [b for _, b in layers], slopes)

    def _param(self, params, layer):
        slopes = params.slopes[layer] if self.has_slopes else None
        return activation_param(self.hidden.name, negative_slope=self.negative_slope, slopes=slopes)

    # -- forward --------------------------------------------------------------------------
    def logits(self, params, X, *, trace=None, dropout=0.0, rng=None, workspace=None):
        """Run the network on ``X`` and return the logits, shape (n_samples, n_outputs).

        Parameters
        ----------
        params : Params
            The parameters, per layer.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input.
        trace : Trace or None, default=None
            A :class:`Trace` of empty lists, filled for :meth:`backward`.
        dropout : float, default=0.0
            Training only: zeroes each hidden unit with this probability and scales the
            survivors by ``1 / (1 - dropout)`` ("inverted dropout"), so the expected
            activation is unchanged and prediction needs no rescaling.
        rng : numpy.random.Generator or None, default=None
            Draws the dropout masks; needed when ``dropout > 0``.
        workspace : Workspace or None, default=None
            Holds the intermediate matrices (and so the returned logits, which the next call
            overwrites); ``None`` allocates new ones.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            The logits ``z_L``, before the output layer.
        """
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

    def outputs(self, params, X):
        """Compute the output layer's values: probabilities, or predictions.

        Parameters
        ----------
        params : Params
            The parameters, per layer.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            Probabilities (classification) or predictions (regression).
        """
        z = self.logits(params, X)
        return output_values(z, self.out_activation, out=z)

    # -- backward -------------------------------------------------------------------------
    def backward(self, params, trace, delta, *, grads=None, input_gradient=False, workspace=None):
        """Backpropagate ``delta = dL/dz_L`` through the network.

        Parameters
        ----------
        params : Params
            The parameters the forward pass used, per layer.
        trace : Trace
            Filled by :meth:`logits` for the same input; read, not changed (``g'(z)`` goes
            into arrays of ``workspace``).
        delta : ndarray of shape (n_samples, n_outputs)
            Gradient of the objective with respect to the logits.
        grads : Params or None
            Views to write ``dL/dW_l``, ``dL/db_l`` (and ``dL/ds_l``) of the data term into
            (the L2 penalty's share is added by :meth:`loss_and_gradient`); ``None`` to skip
            them.
        input_gradient : bool
            Also return ``dL/dX``, shape (n_samples, n_features).
        workspace : Workspace or None
            Where the deltas of the hidden layers are kept; ``None`` allocates them.

        Returns
        -------
        ndarray or None
            ``dL/dX`` when ``input_gradient`` is true.
        """
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
    def loss_and_gradient(self, theta, grad, X, Y, *, sample_weight=None, alpha=0.0,
                          dropout=0.0, rng=None):
        """The training objective at ``theta`` and its gradient, written into ``grad``.

        The objective is scikit-learn's: the weighted mean loss of the output layer plus
        ``alpha / (2 sum_i w_i) * sum_l ||W_l||^2`` (biases and slopes are not penalised).

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
        alpha : float, default=0.0
            The L2 penalty.
        dropout : float, default=0.0
            The dropout rate of the hidden units, as in :meth:`logits`.
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
        z = self.logits(params, X, trace=trace, dropout=dropout, rng=rng, workspace=ws)
        loss, delta = loss_and_output_delta(z, Y, self.out_activation, sample_weight)
        sw_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        l2_scale = alpha / sw_sum
        self.backward(params, trace, delta, grads=self._views(grad, "grad"), workspace=ws)
        if alpha:
            # The penalty and its gradient l2_scale * W_l, on all the W_l at once: they are
            # theta[:n_weights], one after the other.
            weights, weight_grads = theta[: self.n_weights], grad[: self.n_weights]
            loss += 0.5 * l2_scale * float(np.dot(weights, weights))
            scaled = ws.array("scratch", (min(theta.size, BLOCK),))  # shared with the optimiser
            for block in blocks(weights.size):  # no temporary as large as the weights
                weight_grads[block] += np.multiply(weights[block], l2_scale,
                                                   out=scaled[: block.stop - block.start])
        return loss
