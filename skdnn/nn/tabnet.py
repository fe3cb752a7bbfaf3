r"""TabNet (Arik and Pfister, AAAI 2021), forward and backward by hand.

TabNet reads a table row through ``n_steps`` *decision steps*. At each step an *attentive
transformer* picks a sparse mask ``M`` over the features, a *feature transformer* reads the
masked row, and part of its output is the step's decision ``d``; the rest steers the next
step's attention. The layout and initialisation follow ``pytorch-tabnet`` (4.x) where the
paper leaves a choice open.

Notes
-----
With ``x`` of shape ``(n, p)`` (the input after the categorical embeddings), ``m = n_d +
n_a`` and ``BN`` batch norm:

.. math::

    \tilde x &= \mathrm{BN}_0(x), \qquad P_0 = \mathbf 1, \qquad
    a_0 = F_0(\tilde x)_{[:, n_d:]}, \\
    M_s &= \mathrm{sparsemax}\big(P_s \odot \mathrm{GBN}(a_{s-1} A_s)\big), \qquad
    P_{s+1} = P_s \odot (\gamma - M_s), \\
    [d_s, a_s] &= F_{s+1}(M_s \odot \tilde x), \qquad
    z = \Big(\sum_s \mathrm{ReLU}(d_s)\Big) W_{out},

for ``s = 0 .. n_steps - 1``. The shapes are ``a_s: (n, n_a)``, ``A_s: (n_a, p)``,
``M_s, P_s: (n, p)``, ``d_s: (n, n_d)``, ``W_out: (n_d, n_outputs)`` and the logits
``z: (n, n_outputs)``. No layer has a bias; batch norm's shift plays that part.

Each feature transformer ``F_t`` is a stack of GLU layers,
``GLU(h) = u_{[:, :m]} \odot \sigma(u_{[:, m:]})`` with ``u = GBN(h W)``, ``W: (w, 2m)``.
The first ``n_shared`` layers have their ``W`` shared by all transformers (each keeps its own
batch norm), the next ``n_independent`` are the transformer's own. Every layer but the very
first adds its input back: ``h <- (h + GLU(h)) \sqrt{1/2}``.

The loss adds ``lambda_sparse`` times the masks' mean entropy,

.. math::

    L = \frac{\sum_i w_i \ell_i}{\sum_i w_i}
        - \frac{\lambda}{n_{steps}} \sum_s \frac{\sum_i w_i \sum_j M_{s,ij}
        \log(M_{s,ij} + \epsilon)}{\sum_i w_i},

which pushes each mask towards few features.

The backward pass runs the steps in reverse. Besides each layer's own chain rule, the
masks collect three gradients: from the masked input, from the entropy term, and from the
prior, ``dL/dM_s += -P_s \odot dL/dP_{s+1}`` while ``dL/dP_s = (\gamma - M_s) \odot
dL/dP_{s+1} + \mathrm{GBN}(a_{s-1}A_s) \odot dL/dq_s``, with ``q_s`` the input of the
sparsemax.

Training (``training=True``) normalises each chunk of ``virtual_batch_size`` rows by its own
mean and variance (ghost batch norm) and updates the running statistics; prediction uses the
running statistics, so the network is then a fixed function of each row alone.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._kernels import column_sums, row_sums
from .init import xavier_normal
from .layout import Layout, Model
from .losses import loss_and_output_delta, output_values

#: Batch norm's variance floor, torch's default.
BN_EPS = 1e-5
#: Inside the log of the entropy term, pytorch-tabnet's value.
ENTROPY_EPS = 1e-15
_SQRT_HALF = math.sqrt(0.5)


def _sigmoid(x):
    """``1 / (1 + exp(-x))`` as ``(1 + tanh(x / 2)) / 2``: no overflow, and several times
    faster than scipy's ``expit`` on float32."""
    out = np.multiply(x, 0.5)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sparsemax(z):
    r"""Sparsemax of each row (Martins and Astudillo, 2016): the Euclidean projection onto
    the probability simplex.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_features)

    Returns
    -------
    p : ndarray of shape (n_samples, n_features)
        Rows summing to 1, non-negative, with exact zeros below the threshold.

    Notes
    -----
    ``p_j = max(z_j - tau, 0)`` with ``tau`` such that ``sum_j p_j = 1``. Sorting a row
    decreasingly, ``z_(1) >= z_(2) >= ...``, the support has size
    ``k = max{r : 1 + r z_(r) > sum_{q <= r} z_(q)}`` and
    ``tau = (sum_{q <= k} z_(q) - 1) / k``. One sort of the whole batch, along the rows.

    Examples
    --------
    >>> sparsemax(np.array([[2.0, 1.0, -1.0], [0.1, 0.0, 0.0]])).round(3)
    array([[1. , 0. , 0. ],
           [0.4, 0.3, 0.3]])
    """
    desc = np.sort(z, axis=1)[:, ::-1]
    cumsum = np.cumsum(desc, axis=1)
    cumsum -= 1
    rank = np.arange(1, z.shape[1] + 1, dtype=z.dtype)
    k = row_sums((rank * desc > cumsum).astype(z.dtype)).astype(np.intp)
    tau = cumsum[np.arange(z.shape[0]), k - 1] / k.astype(z.dtype)
    p = z - tau[:, None]
    return np.maximum(p, 0, out=p)


def sparsemax_backward(p, grad):
    r"""Jacobian-vector product of :func:`sparsemax`: ``dL/dz`` from ``dL/dp``.

    Parameters
    ----------
    p : ndarray of shape (n_samples, n_features)
        Sparsemax's output.
    grad : ndarray of shape (n_samples, n_features)
        ``dL/dp``.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Notes
    -----
    On the support ``S = {j : p_j > 0}`` of size ``k``, ``p_S = z_S - tau`` with
    ``tau = (sum_S z - 1) / k``, so the Jacobian is ``diag(s) - s s^T / k`` with ``s`` the
    support's indicator (symmetric, so it is its own transpose):

    .. math::

        \frac{\partial L}{\partial z_j} = s_j \Big(g_j - \frac{1}{k}\sum_{q \in S} g_q\Big).
    """
    return _simplex_backward((p > 0).astype(p.dtype), grad)


def entmax15(z):
    r"""1.5-entmax of each row (Peters, Niculae and Martins, 2019): between softmax and
    sparsemax, sparse but smoother.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_features)

    Returns
    -------
    p : ndarray of shape (n_samples, n_features)
        Rows summing to 1, non-negative, with exact zeros.

    Notes
    -----
    ``p_j = max(z_j / 2 - tau, 0)^2`` with ``tau`` such that ``sum_j p_j = 1``. For a
    support of the ``k`` largest ``y = z / 2``, ``tau`` solves
    ``sum_{q <= k} (y_(q) - tau)^2 = 1``: with the support's mean ``mu_k`` and mean square
    ``m2_k``, ``tau_k = mu_k - sqrt((1 - k (m2_k - mu_k^2)) / k)``. The support is the
    largest ``k`` with ``tau_k <= y_(k)``. One sort of the whole batch, as for sparsemax.

    Examples
    --------
    >>> p = entmax15(np.array([[2.0, 1.0, -1.0]]))
    >>> p.round(3), float(p.sum())
    (array([[0.831, 0.169, 0.   ]]), 1.0)
    """
    y = (z - z.max(axis=1, keepdims=True)) * 0.5
    desc = -np.sort(-y, axis=1)
    rank = np.arange(1, y.shape[1] + 1, dtype=y.dtype)
    mean = np.cumsum(desc, axis=1) / rank
    mean_sq = np.cumsum(desc * desc, axis=1) / rank
    delta = (1 - rank * (mean_sq - mean * mean)) / rank
    tau = mean - np.sqrt(np.maximum(delta, 0))
    k = np.count_nonzero(tau <= desc, axis=1)
    y -= tau[np.arange(y.shape[0]), k - 1][:, None]
    np.maximum(y, 0, out=y)
    return np.multiply(y, y, out=y)


def entmax15_backward(p, grad):
    r"""Jacobian-vector product of :func:`entmax15`: ``dL/dz`` from ``dL/dp``.

    Parameters
    ----------
    p : ndarray of shape (n_samples, n_features)
        1.5-entmax's output.
    grad : ndarray of shape (n_samples, n_features)
        ``dL/dp``.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Notes
    -----
    With ``s = sqrt(p)``, differentiating ``p_j = (z_j / 2 - tau)^2`` and ``sum_j p_j = 1``
    gives the symmetric Jacobian ``diag(s) - s s^T / sum(s)``, so

    .. math::

        \frac{\partial L}{\partial z_j} = s_j g_j - s_j \frac{\sum_q s_q g_q}{\sum_q s_q}.
    """
    return _simplex_backward(np.sqrt(p), grad)


def _simplex_backward(s, grad):
    """``s * g - s (s . g) / sum(s)`` row by row: the product of ``grad`` with the Jacobian
    ``diag(s) - s s^T / sum(s)`` that both masks have (sparsemax with ``s`` the support's
    indicator, where it centres ``g`` on the support; 1.5-entmax with ``s = sqrt(p)``)."""
    g = grad * s
    g -= s * (row_sums(g) / row_sums(s))[:, None]
    return g


class Mask(NamedTuple):
    """A mask function and its Jacobian-vector product."""

    forward: object
    backward: object


#: ``mask_type`` -> :class:`Mask`.
MASKS = {"sparsemax": Mask(sparsemax, sparsemax_backward),
         "entmax": Mask(entmax15, entmax15_backward)}


# -- parameters in one flat vector -------------------------------------------------------------
# -- ghost batch norm --------------------------------------------------------------------------
def _chunk_sizes(n, virtual_batch_size):
    """torch.chunk's split of ``n`` rows into ``ceil(n / virtual_batch_size)`` chunks:
    ``(size, n_full)``: ``n_full`` chunks of ``size`` rows, then the rest (fewer)."""
    n_chunks = -(-n // virtual_batch_size)
    size = -(-n // n_chunks)
    return size, n // size


class GhostBatchNorm:
    r"""Batch norm over chunks of ``virtual_batch_size`` rows (Hoffer et al., 2017), with
    running statistics for prediction.

    Parameters
    ----------
    name : str
        Prefix of its parameters (``name.gamma``, ``name.beta``) and statistics
        (``name.mean``, ``name.var``).
    width : int
        Number of columns normalised.
    virtual_batch_size : int or None
        Rows per chunk; ``None`` normalises the whole batch at once (plain batch norm).
    momentum : float
        Weight of each chunk's statistics in the running ones.
    params, stats : Layout
        Where its parameters and its running statistics are added.

    Notes
    -----
    A batch of ``n`` rows is cut as ``torch.chunk`` cuts it: ``ceil(n / vbs)`` chunks of
    equal size, the last one shorter. Within a chunk ``c`` of ``v`` rows,

    .. math::

        \hat z = \frac{z - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad
        y = \gamma \hat z + \beta, \qquad
        \frac{\partial L}{\partial z} = \frac{\gamma}{\sqrt{\sigma_c^2 + \epsilon}}
        \Big(g - \overline{g}_c - \hat z\, \overline{g \hat z}_c\Big),

    with ``g = dL/dy`` and bars the chunk means. The chunks of equal size are one reshaped
    array ``(n_chunks, v, width)``, so there is no Python loop over them. After each chunk,
    as torch does, ``mean <- (1 - momentum) mean + momentum mu_c`` and
    ``var <- (1 - momentum) var + momentum v / (v - 1) sigma_c^2``; at prediction
    ``y = gamma (z - mean) / sqrt(var + eps) + beta``.
    """

    def __init__(self, name, width, virtual_batch_size, momentum, params, stats):
        self.name, self.width = name, width
        self.virtual_batch_size, self.momentum = virtual_batch_size, momentum
        params.add(f"{name}.gamma", (width,))
        params.add(f"{name}.beta", (width,))
        stats.add(f"{name}.mean", (width,))
        stats.add(f"{name}.var", (width,))

    def init(self, P, S):
        P[f"{self.name}.gamma"][...] = 1
        P[f"{self.name}.beta"][...] = 0
        S[f"{self.name}.mean"][...] = 0
        S[f"{self.name}.var"][...] = 1

    def forward(self, P, S, z, training):
        """``(y, cache)``; in training, also updates the running statistics in ``S``."""
        gamma, beta = P[f"{self.name}.gamma"], P[f"{self.name}.beta"]
        if not training:
            inv = 1 / np.sqrt(S[f"{self.name}.var"] + BN_EPS)
            xhat = (z - S[f"{self.name}.mean"]) * inv
            return xhat * gamma + beta, (xhat, inv)
        n = z.shape[0]
        size, n_full = _chunk_sizes(n, self.virtual_batch_size or n)
        xhat = np.empty_like(z)
        parts, moments = [], []  # (start, n_chunks, rows, 1 / std) of each run of chunks
        for start, count, rows in ((0, n_full, size), (n_full * size, 1, n - n_full * size)):
            if rows == 0 or count == 0:
                continue
            stop = start + count * rows
            z3 = z[start:stop].reshape(count, rows, -1)
            mu = column_sums(z3)
            mu *= 1.0 / rows
            centred = np.subtract(z3, mu, out=xhat[start:stop].reshape(count, rows, -1))
            var = column_sums(centred * centred)
            var *= 1.0 / rows
            inv_c = 1 / np.sqrt(var + BN_EPS)
            centred *= inv_c
            parts.append((start, count, rows, inv_c))
            moments.append((mu[:, 0], var[:, 0] * (rows / max(rows - 1, 1))))
        self._update_stats(S, moments)
        y = np.multiply(xhat, gamma)
        y += beta
        return y, (xhat, parts)

    def _update_stats(self, S, moments):
        mean, var = S[f"{self.name}.mean"], S[f"{self.name}.var"]
        mus = np.concatenate([mu for mu, _ in moments])
        variances = np.concatenate([v for _, v in moments])
        # k sequential updates, r <- (1 - m) r + m x_c, in one weighted sum.
        keep = 1.0 - self.momentum
        k = mus.shape[0]
        weights = (self.momentum * keep ** np.arange(k - 1, -1, -1)).astype(mean.dtype)
        mean *= keep ** k
        mean += weights @ mus
        var *= keep ** k
        var += weights @ variances

    def backward(self, P, G, dy, cache):
        """``dL/dz`` from ``dL/dy``; adds ``dL/dgamma`` and ``dL/dbeta`` into ``G``."""
        xhat, inv = cache
        gamma = P[f"{self.name}.gamma"]
        G[f"{self.name}.beta"] += column_sums(dy)
        G[f"{self.name}.gamma"] += column_sums(dy * xhat)
        if isinstance(inv, np.ndarray):  # prediction mode: an affine map per column
            return dy * (gamma * inv)
        g = dy * gamma
        dz = np.empty_like(dy)
        for start, count, rows, inv_c in inv:
            stop = start + count * rows
            g3 = g[start:stop].reshape(count, rows, -1)
            x3 = xhat[start:stop].reshape(count, rows, -1)
            out = dz[start:stop].reshape(count, rows, -1)
            mean_gx = column_sums(np.multiply(g3, x3, out=out))
            mean_gx *= 1.0 / rows
            mean_g = column_sums(g3)
            mean_g *= 1.0 / rows
            np.multiply(x3, mean_gx, out=out)
            np.subtract(g3, out, out=out)
            out -= mean_g
            out *= inv_c
        return dz


# -- GLU layers and the feature transformer ------------------------------------------------------
class GLULayer:
    r"""Gated linear unit: ``u = GBN(h W)``, ``out = u[:, :m] * sigmoid(u[:, m:])``.

    Parameters
    ----------
    name : str
        Prefix of its batch norm.
    weight : str
        Name of its weight matrix ``W`` of shape ``(fan_in, 2 m)`` (shared layers of several
        transformers name the same one).
    m : int
        Output width.
    virtual_batch_size, momentum, params, stats :
        As for :class:`GhostBatchNorm`.

    Notes
    -----
    With ``a = u[:, :m]``, ``g = sigmoid(u[:, m:])`` and ``G = dL/dout``:
    ``dL/du = [G g, G a g (1 - g)]``, then batch norm's backward gives ``dz``, and
    ``dL/dW = h^T dz``, ``dL/dh = dz W^T``.
    """

    def __init__(self, name, weight, m, virtual_batch_size, momentum, params, stats):
        self.weight, self.m = weight, m
        self.bn = GhostBatchNorm(name, 2 * m, virtual_batch_size, momentum, params, stats)

    def forward(self, P, S, h, training):
        u, bn_cache = self.bn.forward(P, S, h @ P[self.weight], training)
        a, gate = u[:, :self.m], _sigmoid(u[:, self.m:])
        return a * gate, (h, bn_cache, a, gate)

    def backward(self, P, G, dout, cache):
        h, bn_cache, a, gate = cache
        du = np.empty((dout.shape[0], 2 * self.m), dtype=dout.dtype)
        np.multiply(dout, gate, out=du[:, :self.m])
        right = np.multiply(du[:, :self.m], a, out=du[:, self.m:])
        right *= 1 - gate
        dz = self.bn.backward(P, G, du, bn_cache)
        G[self.weight] += h.T @ dz
        return dz @ P[self.weight].T


class FeatureTransformer:
    r"""A stack of GLU layers, ``n_shared`` with shared weights then ``n_independent`` own.

    Notes
    -----
    Every layer but the first of the whole stack is residual,
    ``h <- (h + GLU(h)) sqrt(1/2)``, so ``dL/dh = sqrt(1/2) (G + GLU'(h)^T G)``.
    """

    def __init__(self, index, fan_in, m, n_shared, n_independent, virtual_batch_size,
                 momentum, params, stats):
        self.layers = []
        for i in range(n_shared + n_independent):
            weight = f"shared.{i}.W" if i < n_shared else f"ft{index}.{i}.W"
            if i >= n_shared:
                params.add(weight, (fan_in if i == 0 else m, 2 * m))
            self.layers.append(GLULayer(f"ft{index}.{i}.bn", weight, m, virtual_batch_size,
                                        momentum, params, stats))

    def forward(self, P, S, h, training):
        caches = []
        for i, layer in enumerate(self.layers):
            out, cache = layer.forward(P, S, h, training)
            caches.append(cache)
            h = out if i == 0 else (h + out) * _SQRT_HALF
        return h, caches

    def backward(self, P, G, dh, caches):
        for i in range(len(self.layers) - 1, -1, -1):
            if i == 0:
                return self.layers[0].backward(P, G, dh, caches[0])
            dh = dh * _SQRT_HALF
            dh = dh + self.layers[i].backward(P, G, dh, caches[i])
        return dh


class AttentiveTransformer:
    r"""The mask of one step: ``M = mask(P * GBN(a A))``.

    Notes
    -----
    With ``q = P * b``, ``b = GBN(a A)``: ``dL/dq = mask'(q)^T dL/dM``, then
    ``dL/db = P dL/dq``, ``dL/dP += b dL/dq``, batch norm's backward gives ``dL/d(aA)``,
    and ``dL/dA = a^T dL/d(aA)``, ``dL/da = dL/d(aA) A^T``.
    """

    def __init__(self, step, n_a, n_features, mask, virtual_batch_size, momentum, params,
                 stats):
        self.weight, self.mask = f"att{step}.A", MASKS[mask]
        params.add(self.weight, (n_a, n_features))
        self.bn = GhostBatchNorm(f"att{step}.bn", n_features, virtual_batch_size, momentum,
                                 params, stats)

    def forward(self, P, S, a, prior, training):
        b, bn_cache = self.bn.forward(P, S, a @ P[self.weight], training)
        M = self.mask.forward(b * prior)
        return M, (a, b, bn_cache, M)

    def backward(self, P, G, dM, prior, cache):
        """``(dL/da, dL/dP)`` from ``dL/dM``."""
        a, b, bn_cache, M = cache
        dq = self.mask.backward(M, dM)
        dz = self.bn.backward(P, G, dq * prior, bn_cache)
        G[self.weight] += a.T @ dz
        return dz @ P[self.weight].T, dq * b


# -- the network ---------------------------------------------------------------------------------
class TabNetTrace(NamedTuple):
    """What the forward pass keeps for the backward pass and for explanations."""

    x_bn: np.ndarray
    bn0: tuple
    ft_caches: list  # one per feature transformer, the initial splitter first
    att_caches: list  # one per step
    masks: list  # M_s, shape (n, p)
    priors: list  # P_s, shape (n, p)
    decisions: list  # ReLU(d_s), shape (n, n_d)
    hidden: np.ndarray  # sum of the decisions, (n, n_d)
    codes: list  # the categorical columns' codes, one int array per column


class TabNet(Model):
    r"""TabNet's structure, parameters layout and passes.

    Parameters
    ----------
    n_features : int
        Columns of the raw input (numeric and categorical).
    n_outputs : int
    n_d, n_a : int
        Widths of the decision and attention parts of each feature transformer's output.
    n_steps : int
    gamma : float
        Relaxation of the prior: a feature used with mask ``M`` at one step keeps a prior of
        ``gamma - M`` for the next (1 forbids reuse, larger values allow it).
    n_independent, n_shared : int
        GLU layers per feature transformer of its own, and shared by all.
    virtual_batch_size : int
        Rows per ghost-batch-norm chunk.
    momentum : float
        Momentum of the ghost batch norms' running statistics (the initial batch norm uses
        0.01, as pytorch-tabnet).
    mask_type : {"sparsemax", "entmax"}
    cat_idxs : list of int
        Raw columns holding category codes ``0 .. cat_dims[j] - 1``.
    cat_dims : list of int
        Embedding rows of each categorical column.
    cat_emb_dim : int
        Width of every embedding.
    out_activation : {"softmax", "logistic", "identity"}, default="softmax"
        The output layer, :mod:`skdnn.nn.losses`.
    lambda_sparse : float, default=1e-3
        Weight of the masks' mean entropy in :meth:`loss_and_gradient`.
    dtype : numpy dtype, default=numpy.float64
        The dtype of :meth:`init`'s parameters and statistics.

    Attributes
    ----------
    layout, stats : Layout
        The trained parameters' blocks and the running statistics' blocks.
    buffers : ndarray of shape (stats.size,)
        The batch norms' running statistics, which :meth:`init` sets and a training-mode
        :meth:`forward` updates in place (the engine interface's non-trained state).
    n_embedded : int
        Columns after the embeddings, ``p = n_features + len(cat_idxs) * (cat_emb_dim - 1)``.
    group : ndarray of shape (n_features,) of int
        The raw column each embedded column comes from.
    """

    def __init__(self, n_features, n_outputs, *, n_d=8, n_a=8, n_steps=3, gamma=1.3,
                 n_independent=2, n_shared=2, virtual_batch_size=128, momentum=0.02,
                 mask_type="sparsemax", cat_idxs=(), cat_dims=(), cat_emb_dim=1,
                 out_activation="softmax", lambda_sparse=1e-3, dtype=np.float64):
        self.out_activation, self.lambda_sparse = out_activation, lambda_sparse
        self.dtype = np.dtype(dtype)
        self.n_features, self.n_outputs = n_features, n_outputs
        self.n_d, self.n_a, self.n_steps, self.gamma = n_d, n_a, n_steps, float(gamma)
        self.cat_idxs, self.cat_dims = list(cat_idxs), list(cat_dims)
        self.cat_emb_dim, self.virtual_batch_size = cat_emb_dim, virtual_batch_size
        widths = np.ones(n_features, dtype=int)
        widths[self.cat_idxs] = cat_emb_dim
        self.group = np.repeat(np.arange(n_features), widths)
        self.n_embedded = p = int(widths.sum())
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        self._cat_positions = [int(starts[j]) for j in self.cat_idxs]
        self._numeric = np.setdiff1d(np.arange(n_features), self.cat_idxs)
        self._numeric_positions = starts[self._numeric]
        m = n_d + n_a
        self.layout, self.stats = params, stats = Layout(), Layout()
        self.buffers = np.zeros(0, dtype=self.dtype)
        for j, n_cat in zip(self.cat_idxs, self.cat_dims, strict=True):
            params.add(f"emb{j}", (n_cat, cat_emb_dim))
        self.bn0 = GhostBatchNorm("bn0", p, None, 0.01, params, stats)
        for i in range(n_shared):
            params.add(f"shared.{i}.W", (p if i == 0 else m, 2 * m))
        self.transformers = [FeatureTransformer(t, p, m, n_shared, n_independent,
                                                virtual_batch_size, momentum, params, stats)
                             for t in range(n_steps + 1)]
        self.attention = [AttentiveTransformer(s, n_a, p, mask_type, virtual_batch_size,
                                               momentum, params, stats)
                          for s in range(n_steps)]
        params.add("out.W", (n_d, n_outputs))

    @property
    def row_entries(self):
        """About how many numbers a prediction-mode forward pass keeps per row: each GLU
        layer's few arrays of ``2 (n_d + n_a)`` columns, each step's mask, prior and masked
        input of ``p`` columns (an estimate, for passes over the rows in blocks)."""
        m, p = self.n_d + self.n_a, self.n_embedded
        n_glu = len(self.transformers[0].layers) if self.transformers else 0
        return (self.n_steps + 1) * (6 * 2 * m * max(n_glu, 1) + 4 * p) + 2 * p

    @property
    def row_bytes(self):
        """About the memory of one row's prediction-mode forward pass."""
        return self.row_entries * self.dtype.itemsize

    # -- set-up ----------------------------------------------------------------------------
    def init(self, rng, X=None):
        r"""New parameters ``theta``, and new running statistics in ``buffers``.

        With the training input ``X``, the initial batch norm's running statistics start at
        ``X``'s means and variances (after the embeddings) rather than at 0 and 1: with its
        momentum of 0.01 they would otherwise need hundreds of steps to reach the data's, and
        a short fit on unscaled features would predict from the wrong scale.

        Notes
        -----
        pytorch-tabnet's initialisation: Xavier normal, ``N(0, gain^2 2 / (fan_in +
        fan_out))``, with ``gain^2 = (fan_in + fan_out) / sqrt(fan_in)`` for GLU weights and
        ``(fan_in + fan_out) / sqrt(4 fan_in)`` for the attention and output weights, so
        their variances are ``2 / sqrt(fan_in)`` and ``1 / sqrt(fan_in)``; embeddings
        ``N(0, 1)`` (torch's); batch norms ``gamma = 1``, ``beta = 0``, running mean 0 and
        variance 1.
        """
        dtype = self.dtype
        theta = np.empty(self.layout.size, dtype=dtype)
        stats = self.buffers = np.empty(self.stats.size, dtype=dtype)
        P, S = self.layout.views(theta), self.stats.views(stats)
        for name, view in P.items():
            kind = name.rsplit(".", 1)[-1]
            if name.startswith("emb"):
                view[...] = rng.standard_normal(view.shape)
            elif kind == "W" or kind == "A":
                fan_in, fan_out = view.shape
                glu = not (name.startswith("att") or name.startswith("out"))
                gain2 = (fan_in + fan_out) / math.sqrt((1 if glu else 4) * fan_in)
                view[...] = xavier_normal(fan_in, fan_out, rng, gain=math.sqrt(gain2),
                                          dtype=dtype)
        for bn in self._batch_norms():
            bn.init(P, S)
        if X is not None and X.shape[0] > 1:
            x, _ = self.embed(P, X)
            S["bn0.mean"][...] = x.mean(axis=0)
            S["bn0.var"][...] = x.var(axis=0, ddof=1)
        return theta

    def _batch_norms(self):
        yield self.bn0
        for ft in self.transformers:
            for layer in ft.layers:
                yield layer.bn
        for att in self.attention:
            yield att.bn

    # -- forward ---------------------------------------------------------------------------
    def embed(self, P, X):
        """The input after the embeddings, ``(n, p)``, and the category codes."""
        if not self.cat_idxs:
            return X, []
        x = np.empty((X.shape[0], self.n_embedded), dtype=P["out.W"].dtype)
        x[:, self._numeric_positions] = X[:, self._numeric]
        codes = []
        for j, pos in zip(self.cat_idxs, self._cat_positions, strict=True):
            code = X[:, j].astype(np.intp)
            x[:, pos:pos + self.cat_emb_dim] = P[f"emb{j}"][code]
            codes.append(code)
        return x, codes

    def forward(self, theta, X, training=False, rng=None):
        """Logits ``(n, n_outputs)`` and the :class:`TabNetTrace`.

        ``training=True`` uses each ghost batch's statistics and updates ``buffers`` (the
        running statistics) in place; ``False`` uses the running statistics (prediction).
        TabNet draws nothing at random: ``rng`` is unused.
        """
        P, S = self.layout.views(theta), self.stats.views(self.buffers)
        x, codes = self.embed(P, X)
        x_bn, bn0 = self.bn0.forward(P, S, x, training)
        out, cache = self.transformers[0].forward(P, S, x_bn, training)
        ft_caches, att_caches, masks, priors, decisions = [cache], [], [], [], []
        prior = np.ones_like(x_bn)
        att = out[:, self.n_d:]
        hidden = np.zeros((x.shape[0], self.n_d), dtype=x_bn.dtype)
        for s in range(self.n_steps):
            M, cache = self.attention[s].forward(P, S, att, prior, training)
            att_caches.append(cache)
            masks.append(M)
            priors.append(prior)
            prior = prior * (self.gamma - M)
            out, cache = self.transformers[s + 1].forward(P, S, M * x_bn, training)
            ft_caches.append(cache)
            d = np.maximum(out[:, :self.n_d], 0)
            decisions.append(d)
            hidden += d
            att = out[:, self.n_d:]
        z = hidden @ P["out.W"]
        return z, TabNetTrace(x_bn, bn0, ft_caches, att_caches, masks, priors, decisions,
                              hidden, codes)

    # -- backward --------------------------------------------------------------------------
    def backward(self, theta, trace, delta, grad=None, input_gradient=False, *, dmasks=None):
        r"""The chain rule from ``delta = dL/dz`` down to the parameters (into ``grad``,
        overwritten) and, when asked, to the raw input.

        Parameters
        ----------
        theta : ndarray of shape (params.size,)
        trace : TabNetTrace
            From :meth:`forward` on the same ``theta``.
        delta : ndarray of shape (n_samples, n_outputs)
        grad : ndarray of shape (layout.size,) or None
            Receives ``dL/dtheta`` (overwritten); None: a new array.
        input_gradient : bool
        dmasks : list of ndarray of shape (n_samples, p) or None
            Extra ``dL/dM_s`` of each step (the entropy term's).

        Returns
        -------
        grad : ndarray of shape (layout.size,)
        dX : ndarray of shape (n_samples, n_features) or None
            ``dL/dX`` when ``input_gradient``: zero in the categorical columns, whose codes
            are not differentiable.
        """
        if grad is None:
            grad = np.empty_like(theta)
        P, G = self.layout.views(theta), self.layout.views(grad)
        grad[...] = 0
        G["out.W"] += trace.hidden.T @ delta
        dhidden = delta @ P["out.W"].T
        n_d = self.n_d
        dx_bn = np.zeros_like(trace.x_bn)
        datt = None  # dL/da_s for the step being undone (the last step's a is unused)
        dprior = None  # dL/dP_{s+1}
        for s in range(self.n_steps - 1, -1, -1):
            M, prior = trace.masks[s], trace.priors[s]
            dout = np.empty((delta.shape[0], n_d + self.n_a), dtype=delta.dtype)
            np.multiply(dhidden, trace.decisions[s] > 0, out=dout[:, :n_d])
            if datt is None:
                dout[:, n_d:] = 0
            else:
                dout[:, n_d:] = datt
            dmasked = self.transformers[s + 1].backward(P, G, dout, trace.ft_caches[s + 1])
            dx_bn += dmasked * M
            dM = dmasked * trace.x_bn
            if dmasks is not None:
                dM += dmasks[s]
            if dprior is not None:
                dM -= dprior * prior
                dprior_s = dprior * (self.gamma - M)
            datt, dprior_att = self.attention[s].backward(P, G, dM, prior, trace.att_caches[s])
            dprior = dprior_att if dprior is None else dprior_s + dprior_att
        dout = np.zeros((delta.shape[0], n_d + self.n_a), dtype=delta.dtype)
        dout[:, n_d:] = datt
        dx_bn += self.transformers[0].backward(P, G, dout, trace.ft_caches[0])
        dx = self.bn0.backward(P, G, dx_bn, trace.bn0)
        for j, pos, code in zip(self.cat_idxs, self._cat_positions, trace.codes,
                                strict=True):
            table = G[f"emb{j}"]
            for k in range(self.cat_emb_dim):
                table[:, k] += np.bincount(code, weights=dx[:, pos + k],
                                           minlength=table.shape[0]).astype(table.dtype)
        if not input_gradient:
            return grad, None
        if not self.cat_idxs:
            return grad, dx
        dX = np.zeros((dx.shape[0], self.n_features), dtype=dx.dtype)
        dX[:, self._numeric] = dx[:, self._numeric_positions]
        return grad, dX

    # -- the objective ---------------------------------------------------------------------
    def entropy(self, masks, sample_weight=None):
        r"""The sparsity regulariser's value and ``dL/dM_s``, before ``lambda_sparse``.

        Returns
        -------
        value : float
            ``-(1 / n_steps) sum_s sum_i w_i sum_j M log(M + eps) / sum_i w_i``.
        dmasks : list of ndarray of shape (n_samples, p)
            ``-(w_i / sum w) (log(M + eps) + M / (M + eps)) / n_steps``.
        """
        n = masks[0].shape[0]
        share = (np.full(n, 1.0 / n) if sample_weight is None
                 else sample_weight / float(sample_weight.sum()))
        share = (share / self.n_steps).astype(masks[0].dtype)[:, None]
        value, dmasks = 0.0, []
        for M in masks:
            log = np.log(M + ENTROPY_EPS)
            value -= float(np.sum(share * (M * log)))
            dmasks.append(-share * (log + M / (M + ENTROPY_EPS)))
        return value, dmasks

    def loss_and_gradient(self, theta, grad, X, Y, sample_weight=None, rng=None):
        """One training step's objective (training mode): the loss, with ``grad``
        overwritten by its gradient and ``buffers`` updated.

        Parameters
        ----------
        theta, grad : ndarray of shape (layout.size,)
        X : ndarray of shape (n_samples, n_features)
        Y : ndarray of shape (n_samples, n_outputs)
            Encoded targets, as for :func:`skdnn.nn.losses.loss_and_output_delta`.
        sample_weight : ndarray of shape (n_samples,) or None
        rng : unused (TabNet draws nothing at random)

        Returns
        -------
        loss : float
            The output loss plus ``lambda_sparse`` times the masks' mean entropy.
        """
        z, trace = self.forward(theta, X, training=True)
        loss, delta = loss_and_output_delta(z, Y, self.out_activation, sample_weight)
        dmasks = None
        if self.lambda_sparse:
            entropy, dmasks = self.entropy(trace.masks, sample_weight)
            loss += self.lambda_sparse * entropy
            for dM in dmasks:
                dM *= self.lambda_sparse
        self.backward(theta, trace, delta, grad, dmasks=dmasks)
        return loss

    def outputs(self, theta, X):
        """The output layer's values in prediction mode (running statistics)."""
        z, _ = self.forward(theta, X)
        return output_values(z, self.out_activation, out=z)

    def explain(self, theta, X):
        r"""Per-row importances and each step's mask, in the raw columns (prediction mode).

        Returns
        -------
        importances : ndarray of shape (n_samples, n_features)
            ``sum_s M_s * sum_k ReLU(d_s)_k``, pytorch-tabnet's ``M_explain``.
        masks : list of ndarray of shape (n_samples, n_features)
            ``M_s``; an embedded column's entries are summed into its raw column.
        """
        _, trace = self.forward(theta, X)
        importances = sum(M * d.sum(axis=1, keepdims=True)
                          for M, d in zip(trace.masks, trace.decisions, strict=True))
        return self._to_raw(importances), [self._to_raw(M) for M in trace.masks]

    def _to_raw(self, A):
        if not self.cat_idxs:
            return A
        out = np.zeros((A.shape[0], self.n_features), dtype=A.dtype)
        np.add.at(out.T, self.group, A.T)
        return out
