r"""The tabular network: embeddings, a scaling layer and an ensemble of MLPs sharing weights.

:class:`TabularNetwork` is the engine network of ``TabularMLPClassifier`` and
``TabularMLPRegressor``. It takes RealMLP-TD's layers (Holzmüller et al. 2024, "Better by
default"; pytabkit) and TabM's parameter-efficient ensemble (Gorishniy et al., ICLR 2025;
yandex-research's ``tabm``), in NumPy, float32 by default, with the ensemble dimension inside
every matrix product.

Notes
-----
Shapes: ``n`` rows, ``k`` ensemble members, ``f`` embedded numeric columns, ``F`` frequencies,
``e`` embedding size, ``d_l`` the width of layer ``l``, ``o`` outputs.

The input ``X`` (n, n_numeric + n_categorical) holds numbers (already scaled by the
estimator), then integer codes of the embedded categorical columns. Layer by layer:

1. **Numerical embeddings** of the first ``n_continuous`` numeric columns, one small network
   per column ``j``, shared by the members.

   * PBLD (RealMLP's default; periodic, bias, linear, densenet):
     ``u = cos(2 pi w_j x_j + phi_j)`` (``F`` values), ``e_j = [u V_j + c_j, x_j]``
     (``e - 1`` learned values and the number itself).
   * PL (piecewise-linear, TabM's version "B", Gorishniy et al. 2022):
     ``e_j = x_j w_j + b_j + ple(x_j) V_j``, where ``ple(x)_t`` is ``x``'s position in bin
     ``t`` (0 left of it, 1 right of it, linear inside), and ``V_j`` starts at zero.

   The other numeric columns (one-hot columns, missing-value indicators) enter as they are,
   and categorical column ``c`` enters as row ``code`` of its table ``E_c`` (cardinality, e).
   All of it, side by side, is ``h`` of shape (n, d_0).
2. **Scaling layer** (RealMLP): ``h * s``, a learned scale per input column, ``s = 1`` at
   first.
3. **The ensemble** (TabM): member ``m`` sees ``x_m = (h * s) * r_m`` with its own ``r_m``
   (k, d_0). Every hidden layer is a BatchEnsemble linear layer in RealMLP's NTK
   parametrisation, one matrix product for all members and rows,

   .. math::

       z_{nm} = \frac{1}{\sqrt{d_{in}}} \big((x_{nm} \odot r_m) W\big) \odot s_m + b_m,

   where TabM-mini (``ensemble="mini"``) keeps only the first ``r`` and shares the biases
   (``r_m = s_m = 1``, ``b_m = b`` further on), and full TabM (``ensemble="batch"``) has
   ``r_m, s_m, b_m`` in every hidden layer.
4. **Parametric activation** (RealMLP) per unit: ``a = z + alpha (g(z) - z)``, ``alpha = 1``
   at first (so ``a = g(z)``), ``g`` SELU or Mish; then inverted dropout when training.
5. **Output layer**: ``k`` separate linear heads (TabM's ``LinearEnsemble``),
   ``z_nm = a_nm W_m / sqrt(d) + b_m``, of shape (n, k, o).

Training minimises the mean of the members' losses; prediction averages the members'
probabilities (or predictions), not their logits.

Every layer's ``*_forward`` returns its output and a cache, and its ``*_backward`` takes the
cache and ``dL/d(output)`` and returns ``dL/d(input)`` with the parameters' gradients written
into views of ``grad``. :mod:`skdnn.nn.reference` has their plain forms.

Examples
--------
>>> import numpy as np
>>> from skdnn.nn.tabular import TabularNetwork
>>> net = TabularNetwork(3, [5], 2, "softmax", hidden=(16, 16), k=4)
>>> rng = np.random.default_rng(0)
>>> X = np.c_[rng.normal(size=(10, 3)), rng.integers(0, 5, 10)]
>>> theta = net.init(rng, X)
>>> z, trace = net.forward(theta, X)
>>> z.shape, net.outputs(theta, X).shape, theta.dtype
((10, 4, 2), (10, 2), dtype('float32'))
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from ._kernels import column_sums
from .layout import Layout, Model
from .losses import LOSSES, loss_and_output_delta, output_values

TWO_PI = 2 * math.pi
SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772

#: Bytes a prediction pass may hold at once in :meth:`TabularNetwork.outputs`.
PREDICT_BYTES = 64 * 2**20


# -- numerical embeddings ------------------------------------------------------------------
def periodic_forward(x, freq, phase, V, c):
    """PBLD embedding: ``[cos(2 pi x_j w_j + phi_j) V_j + c_j, x_j]`` per column ``j``.

    ``x`` (n, f); ``freq``, ``phase`` (f, F); ``V`` (f, F, e - 1); ``c`` (f, e - 1).
    Returns the embeddings (n, f * e), column ``j``'s ``e`` values side by side.
    """
    n, f = x.shape
    u = TWO_PI * x.T[:, :, None] * freq[:, None, :] + phase[:, None, :]   # (f, n, F)
    cos_u = np.cos(u)
    learned = np.matmul(cos_u, V) + c[:, None, :]                          # (f, n, e - 1)
    out = np.concatenate([learned.transpose(1, 0, 2), x[:, :, None]], axis=2)  # (n, f, e)
    return out.reshape(n, -1), (x, u, cos_u)


def periodic_backward(cache, dout, freq, V, grads):
    """Backward of :func:`periodic_forward`: ``grads`` gets ``freq``, ``phase``, ``V``, ``c``
    (in that order); returns ``dL/dx`` (n, f)."""
    x, u, cos_u = cache
    n, f = x.shape
    dout = dout.reshape(n, f, -1)
    dlearned = dout[:, :, :-1].transpose(1, 0, 2)                          # (f, n, e - 1)
    dfreq, dphase, dV, dc = grads
    np.matmul(cos_u.transpose(0, 2, 1), dlearned, out=dV)                 # dL/dV_j
    dc[...] = dlearned.sum(axis=1)
    du = np.matmul(dlearned, V.transpose(0, 2, 1))                          # dL/dcos(u)
    du *= -np.sin(u)                                                        # dL/du, (f, n, F)
    dphase[...] = du.sum(axis=1)
    dfreq[...] = TWO_PI * np.einsum("jnF,jn->jF", du, x.T)
    dx = TWO_PI * np.einsum("jnF,jF->nj", du, freq)
    dx += dout[:, :, -1]                                                    # the densenet part
    return dx


def piecewise_linear_encoding(x, slope, offset, n_bins):
    """``ple(x)`` (f, n, T) and where it is not clipped: ``slope * x + offset`` clipped to
    ``[0, 1]``, except that the first bin has no lower bound and the last no upper bound
    (a column with one bin: neither). Unused bins have slope and offset 0, so stay 0."""
    v = x.T[:, :, None] * slope[:, None, :] + offset[:, None, :]           # (f, n, T)
    lower, upper = _ple_bounds(n_bins, slope.shape[1], v.dtype)
    np.clip(v, lower[:, None, :], upper[:, None, :], out=v)
    inside = (v > lower[:, None, :]) & (v < upper[:, None, :])
    return v, inside


def _ple_bounds(n_bins, T, dtype):
    f = len(n_bins)
    lower = np.zeros((f, T), dtype=dtype)
    upper = np.ones((f, T), dtype=dtype)
    lower[:, 0] = -np.inf
    upper[:, -1] = np.inf
    lower[np.asarray(n_bins) == 1, -1] = -np.inf
    return lower, upper


def piecewise_linear_forward(x, w, b, V, slope, offset, n_bins):
    """PL embedding (version "B"): ``x_j w_j + b_j + ple(x_j) V_j`` per column ``j``.

    ``x`` (n, f); ``w``, ``b`` (f, e); ``V`` (f, T, e); the bins' ``slope``, ``offset``
    (f, T) and ``n_bins`` (f,). Returns (n, f * e)."""
    n, f = x.shape
    enc, inside = piecewise_linear_encoding(x, slope, offset, n_bins)
    out = np.matmul(enc, V).transpose(1, 0, 2)                             # (n, f, e)
    out += x[:, :, None] * w + b
    return out.reshape(n, -1), (x, enc, inside)


def piecewise_linear_backward(cache, dout, w, V, slope, grads):
    """Backward of :func:`piecewise_linear_forward`: ``grads`` gets ``w``, ``b``, ``V``;
    returns ``dL/dx`` (n, f)."""
    x, enc, inside = cache
    n, f = x.shape
    dout = dout.reshape(n, f, -1)
    dw, db, dV = grads
    dw[...] = np.einsum("nje,nj->je", dout, x)
    db[...] = dout.sum(axis=0)
    dout_f = dout.transpose(1, 0, 2)                                        # (f, n, e)
    np.matmul(enc.transpose(0, 2, 1), dout_f, out=dV)
    denc = np.matmul(dout_f, V.transpose(0, 2, 1))                          # (f, n, T)
    denc *= inside
    dx = np.einsum("jnT,jT->nj", denc, slope)
    dx += np.einsum("nje,je->nj", dout, w)
    return dx


def categorical_forward(codes, table, offsets):
    """Rows ``table[offsets[c] + code]`` of each categorical column ``c``: (n, n_cat * e).
    ``table`` stacks every column's embedding table (sum of cardinalities, e)."""
    index = codes + offsets                                                 # (n, n_cat)
    return table[index].reshape(len(codes), -1), index


def categorical_backward(index, dout, table_grad):
    """Backward of :func:`categorical_forward`: each row's gradient added to the table row it
    was read from (no gradient reaches the codes)."""
    table_grad[...] = 0
    e = table_grad.shape[1]
    np.add.at(table_grad, index.ravel(), dout.reshape(-1, e))


# -- scaling layer, ensemble linear layers, parametric activation, dropout ------------------
def scaling_forward(h, s):
    """RealMLP's scaling layer, ``h * s`` with one scale per column."""
    return h * s


def scaling_backward(h, dout, s, ds):
    """``dL/ds = sum_n dout * h`` into ``ds``; returns ``dL/dh = dout * s``."""
    ds[...] = np.einsum("nd,nd->d", dout, h)
    return dout * s


def ensemble_linear_forward(x, W, scale, r=None, s=None, b=None):
    r"""BatchEnsemble linear layer, ``z_m = scale ((x_m * r_m) W) * s_m + b_m``.

    ``x`` (n, k, d_in) (a broadcast view is fine); ``W`` (d_in, d_out); ``scale`` the NTK
    factor ``1 / sqrt(d_in)``; ``r`` (k, d_in) and ``s`` (k, d_out), or None for ones;
    ``b`` (k, d_out) per member or (d_out,) shared. One matrix product for all members.
    Returns ``z`` (n, k, d_out) and the cache.
    """
    n, k, d_in = x.shape
    xr = x * r if r is not None else np.broadcast_to(x, (n, k, d_in))
    if s is None:
        # The NTK scale on W (d_in, d_out) rather than on z (n k, d_out): a pass fewer.
        z = np.matmul(xr.reshape(n * k, d_in), W * scale).reshape(n, k, -1)
        u = None
    else:
        u = np.matmul(xr.reshape(n * k, d_in), W).reshape(n, k, -1)        # (n, k, d_out)
        z = u * (scale * s)
    if b is not None:
        z += b
    return z, (x, xr, u)


def ensemble_linear_backward(cache, dz, W, scale, grads, r=None, s=None):
    """Backward of :func:`ensemble_linear_forward`. ``grads`` is ``(dW, dr, ds, db)``, each
    a view to fill or None where the layer has no such parameter. Returns ``dL/d(x * r)``
    (n, k, d_in): multiply it by ``r`` (and sum over members for a shared input) for
    ``dL/dx``."""
    x, xr, u = cache
    n, k, d_in = x.shape
    d_out = dz.shape[2]
    dW, dr, ds, db = grads
    if db is not None:
        if db.ndim == 2:
            db[...] = dz.sum(axis=0)
        else:
            db[...] = column_sums(dz.reshape(n * k, d_out))
    if s is not None:
        ds[...] = scale * np.einsum("nko,nko->ko", dz, u)
        du = (dz * s).reshape(n * k, d_out)     # the scale goes on dW and W (small)
    else:
        du = dz.reshape(n * k, d_out)
    np.matmul(xr.reshape(n * k, d_in).T, du, out=dW)
    dW *= scale
    dxr = np.matmul(du, (W * scale).T).reshape(n, k, d_in)
    if r is not None:
        dr[...] = np.einsum("nkd,nkd->kd", dxr, np.broadcast_to(x, dxr.shape))
    return dxr


def heads_forward(a, W, b, scale):
    """``k`` separate linear heads (TabM's ``LinearEnsemble``): ``z_m = scale a_m W_m + b_m``.
    ``a`` (n, k, d); ``W`` (k, d, o); ``b`` (k, o). Returns (n, k, o)."""
    z = np.ascontiguousarray(np.matmul(a.transpose(1, 0, 2), W).transpose(1, 0, 2))  # (n,k,o)
    z *= scale
    z += b
    return z


def heads_backward(a, dz, W, scale, dW, db):
    """Backward of :func:`heads_forward`; returns ``dL/da`` (n, k, d)."""
    db[...] = dz.sum(axis=0)
    dz_k = dz.transpose(1, 0, 2) * scale                                    # (k, n, o)
    np.matmul(a.transpose(1, 2, 0), dz_k, out=dW)                           # (k, d, o)
    return np.matmul(dz_k, W.transpose(0, 2, 1)).transpose(1, 0, 2)


def _zeros_row(z):
    # NumPy vectorises np.maximum / np.minimum only when both operands are arrays (about
    # twice as fast as against the number 0), as in skdnn.nn.activations.
    return np.zeros(z.shape[-1], dtype=z.dtype)


def _selu(z):
    # l max(z, 0) + l a (e^min(z, 0) - 1): np.exp is vectorised for float32, np.expm1 is not
    # (this form is 4 times faster; its absolute error is float32's eps, 1e-7).
    zeros = _zeros_row(z)
    negative = np.minimum(z, zeros)
    np.exp(negative, out=negative)
    negative -= 1
    negative *= SELU_LAMBDA * SELU_ALPHA
    out = np.maximum(z, zeros)
    out *= SELU_LAMBDA
    out += negative
    return out


def _selu_derivative(z, gz):
    # For z <= 0, g(z) = l a (e^z - 1), so g'(z) = l a e^z = g(z) + l a; for z > 0, l.
    # Without np.where or a masked copy (each slower than the exp of the forward pass):
    # min(g, 0) + l a is right for z <= 0 and l a for z > 0, which then loses l a - l.
    out = np.minimum(gz, _zeros_row(gz))
    out += SELU_LAMBDA * SELU_ALPHA
    out -= np.multiply(z > 0, SELU_LAMBDA * (SELU_ALPHA - 1), dtype=z.dtype)
    return out


def _tanh_softplus(z):
    """``(tanh(softplus(z)), sigmoid(z))`` from one exponential: with ``e = exp(z)``,
    ``tanh(log(1 + e)) = e (e + 2) / (e (e + 2) + 2)`` and ``sigmoid(z) = e / (1 + e)``
    (``z`` capped at 20, where both are 1 in float32 and float64 alike to 1e-16)."""
    e = np.minimum(z, np.full(z.shape[-1], 20, dtype=z.dtype))
    np.exp(e, out=e)
    n = e + 2
    n *= e
    t = n / (n + 2)
    e /= e + 1
    return t, e


def _mish(z):
    return z * _tanh_softplus(z)[0]


def _mish_derivative(z, gz):
    # d/dz z tanh(sp(z)) = tanh(sp) + z sigmoid(z) (1 - tanh(sp)^2), sp the softplus.
    t, sigmoid = _tanh_softplus(z)
    out = t * t
    np.subtract(1, out, out=out)
    out *= sigmoid
    out *= z
    out += t
    return out


def _relu(z):
    return np.maximum(z, _zeros_row(z))


def _relu_derivative(z, gz):
    return (z > 0).astype(z.dtype)


#: Name -> (g, g'(z, g(z))), the activations the parametric form wraps.
BASE_ACTIVATIONS = {
    "selu": (_selu, _selu_derivative),
    "mish": (_mish, _mish_derivative),
    "relu": (_relu, _relu_derivative),
}


def parametric_forward(z, alpha, g):
    """RealMLP's parametric activation, ``a = z + alpha (g(z) - z)`` per unit (alpha (d,));
    ``alpha = None`` is ``g`` itself. Returns ``a`` and the cache ``g(z)``."""
    gz = g(z)
    if alpha is None:
        return gz, gz
    a = gz - z
    a *= alpha
    a += z
    return a, gz


def parametric_backward(z, gz, da, alpha, g_prime, dalpha):
    """Backward of :func:`parametric_forward`: ``dL/dalpha = sum (g(z) - z) da`` into
    ``dalpha``; returns ``dL/dz = da (1 + alpha (g'(z) - 1))``."""
    slope = g_prime(z, gz)
    if alpha is None:
        slope *= da
        return slope
    d = z.shape[-1]
    dalpha[...] = np.einsum("id,id->d", da.reshape(-1, d), (gz - z).reshape(-1, d))
    slope -= 1
    slope *= alpha
    slope += 1
    slope *= da
    return slope


def _spread(u, axis):
    """The standard deviation of ``u`` along ``axis``, 1 where ``u`` is constant: where it is
    below 1e-5 of the mean's size (float32 rounding of a constant), the data-dependent
    initialisation leaves the unit's scale alone instead of multiplying it by millions."""
    std = u.std(axis=axis, dtype=np.float64)
    size = np.maximum(np.abs(u.mean(axis=axis, dtype=np.float64)), 1e-3)
    return np.where(std <= 1e-5 * size, 1.0, std)


def dropout_mask(shape, rate, rng, dtype):
    """Inverted dropout: ``1{u >= rate} / (1 - rate)``, ``u ~ U[0, 1)``."""
    mask = rng.random(shape, dtype=dtype)
    return (mask >= rate).astype(dtype) * dtype.type(1 / (1 - rate))


# -- the network ---------------------------------------------------------------------------
class TabularNetwork(Model):
    """RealMLP-TD's layers with TabM's ensemble of ``k`` MLPs sharing their weights.

    Parameters
    ----------
    n_numeric : int
        The first ``n_numeric`` columns of ``X`` are numbers.
    cardinalities : sequence of int
        The table size of each embedded categorical column; the codes follow the numbers.
    n_outputs : int
        Output units per member: classes (softmax), labels (logistic) or targets.
    out_activation : {"softmax", "logistic", "identity"}
        The output layer, a key of :data:`skdnn.nn.losses.LOSSES`.
    hidden : tuple of int, default=(256, 256, 256)
        RealMLP-TD's ``hidden_sizes=[256] * 3`` (TabM: 3 x 512, 2 x 512 with embeddings;
        256 is cheaper and RealMLP's benchmark was run with it).
    k : int, default=8
        Ensemble members. TabM uses 32; the time of an epoch grows about linearly in ``k``
        (the layers' matrix products have ``n k`` rows), so 8 by default on a CPU.
    ensemble : {"mini", "batch"}, default="mini"
        ``"mini"``: TabM-mini, one adapter ``r`` before the first layer and every other
        weight shared; ``"batch"``: TabM, BatchEnsemble ``r, s, b`` in every hidden layer.
        TabM's README recommends "TabM-mini with the piecewise-linear embeddings as the
        advanced version" (and TabM as the basic one): with numerical embeddings, mini.
    n_continuous : int or None, default=None
        The first ``n_continuous`` numeric columns get the numerical embedding; the others
        (one-hot columns, missing indicators) enter as they are, as in RealMLP, which embeds
        only its continuous tensor. None: every numeric column.
    num_embedding : {"pbld", "pl", None}, default="pbld"
        RealMLP-TD's ``num_emb_type='pbld'``; ``"pl"`` the piecewise-linear one of TabM†.
    n_frequencies : int, default=16
        PBLD's ``plr_hidden_1=16``.
    numeric_embedding_dim : int or None, default=None
        Values per embedded column: None is 4 for PBLD (``plr_hidden_2=4``: 3 learned and the
        number) and 16 for PL (TabM's ``d_embedding=16``).
    n_bins : int, default=48
        PL's bins per column (rtdl's ``compute_bins(n_bins=48)``), from the quantiles of the
        ``X`` given to :meth:`init`.
    embedding_dim : int, default=8
        Categorical embedding size, RealMLP-TD's ``embedding_size=8``.
    activation : {"selu", "mish", "relu"}, default="selu"
        RealMLP-TD uses SELU for classification and Mish for regression.
    parametric_activation : bool, default=True
        RealMLP-TD's ``use_parametric_act=True``: ``z + alpha (g(z) - z)`` per unit.
    scaling_layer : bool, default=True
        RealMLP-TD's ``add_front_scale=True``: a learned scale per input column.
    dropout : float, default=0.0
        Rate of inverted dropout after each hidden activation, used when an ``rng`` is given
        to :meth:`forward` or :meth:`loss_and_gradient` in training. RealMLP-TD uses 0.15
        with a schedule, TabM 0.1; the estimator sets it.
    dtype : dtype, default=np.float32
        Of the parameters and of every pass.

    Attributes
    ----------
    layout : Layout
    buffers : ndarray
        The PL bins (slopes, offsets and counts) when ``num_embedding="pl"``; else empty.
    lr_factors : dict of str to float
        RealMLP-TD's learning-rate factors per block (scale 6, biases, parametric
        activations and PBLD 0.1); see :meth:`lr_factor_vector`.
    row_bytes : int

    Notes
    -----
    Where the defaults and the layers come from (pytabkit 1.8.0, tabm 0.0.3,
    rtdl_num_embeddings 0.0.12):

    * ``pytabkit/models/sklearn/default_params.py``, ``RealMLP_TD_CLASS``:
      ``hidden_sizes=[256] * 3``, ``embedding_size=8``, ``weight_param='ntk'``,
      ``bias_lr_factor=0.1``, ``act='selu'`` (``RealMLP_TD_REG``: ``'mish'``),
      ``use_parametric_act=True``, ``act_lr_factor=0.1``, ``p_drop=0.15``,
      ``add_front_scale=True``, ``scale_lr_factor=6.0``, ``bias_init_mode='he+5'``,
      ``weight_init_mode='std'``, ``num_emb_type='pbld'``, ``plr_sigma=0.1``,
      ``plr_hidden_1=16``, ``plr_hidden_2=4``, ``plr_lr_factor=0.1``. The training recipe
      there is the loop's and the estimator's: ``lr=4e-2`` (regression ``0.2``), Adam with
      ``sq_mom=0.95``, ``lr_sched='coslog4'``, ``wd=2e-2`` (decoupled, biases excluded) and
      ``p_drop_sched='flat_cos'``, ``n_epochs=256``, batch 256, ``ls_eps=0.1``.
    * ``pytabkit/models/nn_models/activations.py``: ``x + (f(x) - x) * weight``, weight
      initialised to ones; ``nn.py``: PBLD is ``cos(2 pi x w_1 + b_1) w_2 + b_2`` with ``x``
      appended (``plr_use_cos_bias``, ``plr_use_densenet``), ``w_1 ~ 0.1 N(0, 1)``,
      ``b_1 ~ U[-pi, pi]``, ``w_2, b_2 ~ U(-1, 1) / sqrt(16)``; the NTK weight is used as
      ``W / sqrt(d_in)``; ``'std'`` divides each column by the standard deviation it gives on
      the data; ``ScaleFitter`` starts at ones; ``categorical.py`` draws embeddings N(0, 1).
    * ``tabm.py``: ``LinearBatchEnsemble.forward`` is ``((x * r) @ W.T) * s + bias``;
      ``TabM.make`` defaults to ``k=32``, 3 blocks of 512 (2 with numerical embeddings),
      dropout 0.1, ReLU, and a first scaling ``'normal'`` with numerical embeddings,
      ``'random-signs'`` without, one value per feature's chunk; the output layer is a
      ``LinearEnsemble`` (one head per member) whatever the architecture.
    * ``rtdl_num_embeddings.py``: ``PiecewiseLinearEmbeddings(version='B')`` adds a linear
      embedding to the bins' linear map, which starts at zero; ``compute_bins(n_bins=48)``.
    """

    def __init__(self, n_numeric, cardinalities, n_outputs, out_activation, *,
                 hidden=(256, 256, 256), k=8, ensemble="mini", n_continuous=None,
                 num_embedding="pbld", n_frequencies=16, numeric_embedding_dim=None,
                 n_bins=48, embedding_dim=8, activation="selu", parametric_activation=True,
                 scaling_layer=True, dropout=0.0, dtype=np.float32):
        if out_activation not in LOSSES:
            raise ValueError(f"Unknown out_activation {out_activation!r}; expected one of "
                             f"{sorted(LOSSES)}.")
        if activation not in BASE_ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; expected one of "
                             f"{sorted(BASE_ACTIVATIONS)}.")
        if num_embedding not in ("pbld", "pl", None):
            raise ValueError(f"Unknown num_embedding {num_embedding!r}; expected 'pbld', "
                             "'pl' or None.")
        if ensemble not in ("mini", "batch"):
            raise ValueError(f"Unknown ensemble {ensemble!r}; expected 'mini' or 'batch'.")
        if int(k) < 1 or not hidden:
            raise ValueError(f"Need k >= 1 and at least one hidden layer; got k={k}, "
                             f"hidden={hidden}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
        self.n_numeric = int(n_numeric)
        self.cardinalities = [int(c) for c in cardinalities]
        self.n_continuous = self.n_numeric if n_continuous is None else int(n_continuous)
        if not 0 <= self.n_continuous <= self.n_numeric:
            raise ValueError(f"n_continuous={n_continuous} must be in [0, n_numeric].")
        if min(self.cardinalities, default=1) < 1:
            raise ValueError(f"Every cardinality must be at least 1; got {cardinalities}.")
        self.n_outputs, self.out_activation = int(n_outputs), out_activation
        self.hidden, self.k, self.ensemble = tuple(int(h) for h in hidden), int(k), ensemble
        self.num_embedding = num_embedding if self.n_continuous else None
        self.n_frequencies, self.n_bins = int(n_frequencies), int(n_bins)
        if numeric_embedding_dim is None:
            numeric_embedding_dim = 16 if num_embedding == "pl" else 4
        self.numeric_embedding_dim = int(numeric_embedding_dim)
        self.embedding_dim = int(embedding_dim)
        self.activation = activation
        self.g, self.g_prime = BASE_ACTIVATIONS[activation]
        self.parametric_activation, self.scaling_layer = parametric_activation, scaling_layer
        self.dropout, self.dtype = float(dropout), np.dtype(dtype)
        self.offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.intp)
        self._build_layout()

    # -- layout --------------------------------------------------------------------------
    @property
    def n_features(self):
        return self.n_numeric + len(self.cardinalities)

    @property
    def chunks(self):
        """The width of each input column's block in ``h`` (n, d_0)."""
        f, e = self.n_continuous, self.numeric_embedding_dim
        per_numeric = [e if self.num_embedding else 1] * f + [1] * (self.n_numeric - f)
        return per_numeric + [self.embedding_dim] * len(self.cardinalities)

    def _build_layout(self):
        layout, f, k = Layout(), self.n_continuous, self.k
        e = self.numeric_embedding_dim
        self.lr_factors = {}
        if self.num_embedding == "pbld":
            F = self.n_frequencies
            for name, shape in [("pbld.freq", (f, F)), ("pbld.phase", (f, F)),
                                ("pbld.V", (f, F, e - 1)), ("pbld.c", (f, e - 1))]:
                layout.add(name, shape)
                self.lr_factors[name] = 0.1   # plr_lr_factor=0.1
        elif self.num_embedding == "pl":
            layout.add("pl.w", (f, e))
            layout.add("pl.b", (f, e))
            layout.add("pl.V", (f, self.n_bins, e))
        if self.cardinalities:
            layout.add("embedding", (sum(self.cardinalities), self.embedding_dim))
        self.d_in = sum(self.chunks)
        if self.d_in == 0:
            raise ValueError("The network has no input column.")
        if self.scaling_layer:
            layout.add("scale", (self.d_in,))
            self.lr_factors["scale"] = 6.0   # scale_lr_factor=6.0
        widths = [self.d_in, *self.hidden]
        for layer, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            batch = self.ensemble == "batch"
            layout.add(f"W{layer}", (d_in, d_out))
            if (layer == 0 and k > 1) or batch:
                layout.add(f"r{layer}", (k, d_in))
            if batch:
                layout.add(f"s{layer}", (k, d_out))
            layout.add(f"b{layer}", (k, d_out) if batch else (d_out,))
            self.lr_factors[f"b{layer}"] = 0.1   # bias_lr_factor=0.1
            if self.parametric_activation:
                layout.add(f"alpha{layer}", (d_out,))
                self.lr_factors[f"alpha{layer}"] = 0.1   # act_lr_factor=0.1
        layout.add("W_out", (k, widths[-1], self.n_outputs))
        layout.add("b_out", (k, self.n_outputs))
        self.lr_factors["b_out"] = 0.1
        self.layout = layout
        self.buffer_layout = Layout()
        if self.num_embedding == "pl":
            self.buffer_layout.add("slope", (f, self.n_bins))
            self.buffer_layout.add("offset", (f, self.n_bins))
            self.buffer_layout.add("n_bins", (f,))
        self.buffers = np.zeros(self.buffer_layout.size, dtype=self.dtype)

    @property
    def row_bytes(self):
        """About the bytes one row holds in a training forward and backward pass: per hidden
        layer ``z``, ``g(z)``, ``a`` (and the dropout mask), their gradients, ``k`` times."""
        k, item = self.k, self.dtype.itemsize
        emb = self.n_continuous * (3 * max(self.n_frequencies, self.n_bins) + 2
                                   * self.numeric_embedding_dim)
        first = 3 * k * self.d_in + 2 * self.d_in + emb
        per_layer = sum(k * d * (6 if self.dropout else 5) for d in self.hidden)
        return int(item * (first + per_layer + 4 * k * self.n_outputs))

    def lr_factor_vector(self):
        """A vector like ``theta`` of each parameter's learning-rate factor (1 unless
        :attr:`lr_factors` says otherwise), for a loop that scales the steps per block."""
        factors = np.ones(self.layout.size, dtype=self.dtype)
        views = self.layout.views(factors)
        for name, factor in self.lr_factors.items():
            views[name][...] = factor
        return factors

    # -- initialisation ------------------------------------------------------------------
    def init(self, rng, X=None):
        """New parameters, with RealMLP-TD's data-dependent initialisation when ``X`` is given.

        With ``X`` (at most 1,024 of its rows are used), each hidden and output unit's
        weights are scaled so that its pre-activation has standard deviation 1 on the data
        (RealMLP's ``weight_init_mode='std'``), and its bias is minus a random convex
        combination of 5 rows' pre-activations (``bias_init_mode='he+5'``), so every unit's
        kink starts inside the data. Without ``X``: weights N(0, 1) (NTK: divided by
        ``sqrt(d_in)`` in the forward pass), hidden biases N(0, 1) and the output layer zero
        (RealMLP-TD-S's ``'normal'`` and ``last_layer_config`` zeros). The PL bins are the
        quantiles of ``X`` (else 48 equal bins over [-3, 3]).
        """
        dt, f = self.dtype, self.n_continuous
        theta = np.zeros(self.layout.size, dtype=dt)
        P = self.layout.views(theta)
        if self.num_embedding == "pbld":
            F = self.n_frequencies
            P["pbld.freq"][...] = 0.1 * rng.standard_normal((f, F))    # plr_sigma=0.1
            P["pbld.phase"][...] = rng.uniform(-np.pi, np.pi, (f, F))
            bound = 1 / math.sqrt(F)
            P["pbld.V"][...] = rng.uniform(-bound, bound, P["pbld.V"].shape)
            P["pbld.c"][...] = rng.uniform(-bound, bound, P["pbld.c"].shape)
        elif self.num_embedding == "pl":
            bound = 1 / math.sqrt(self.numeric_embedding_dim)
            P["pl.w"][...] = rng.uniform(-bound, bound, P["pl.w"].shape)
            P["pl.b"][...] = rng.uniform(-bound, bound, P["pl.b"].shape)
            self._init_bins(None if X is None else X[:, :f])
        if self.cardinalities:
            P["embedding"][...] = rng.standard_normal(P["embedding"].shape)
        if self.scaling_layer:
            P["scale"][...] = 1
        for layer in range(len(self.hidden)):
            P[f"W{layer}"][...] = rng.standard_normal(P[f"W{layer}"].shape)
            if self.parametric_activation:
                P[f"alpha{layer}"][...] = 1
            if f"r{layer}" in P:
                P[f"r{layer}"][...] = self._first_adapter(rng) if layer == 0 else 1
            if f"s{layer}" in P:
                P[f"s{layer}"][...] = 1
            if X is None:
                # All members start from one bias, as TabM's LinearBatchEnsemble does.
                P[f"b{layer}"][...] = rng.standard_normal(P[f"b{layer}"].shape[-1])
        if X is None:
            return theta
        P["W_out"][...] = rng.standard_normal(P["W_out"].shape)
        rows = rng.permutation(len(X))[:1024]
        self._forward(theta, np.asarray(X, dtype=dt)[rows], keep=False, calibrate=rng)
        return theta

    def _first_adapter(self, rng):
        """TabM's start scaling ``r`` (k, d_0): one value per member and input column's
        block (``start_scaling_init_chunks``), N(0, 1) with numerical embeddings, else
        random signs (``TabM.make``). (One member has no adapter: see the layout.)"""
        if self.num_embedding:
            values = rng.standard_normal((self.k, len(self.chunks)))
        else:
            values = rng.choice([-1.0, 1.0], size=(self.k, len(self.chunks)))
        return np.repeat(values, self.chunks, axis=1)

    def _init_bins(self, X):
        """PL's bins per column from quantiles of ``X`` (equal bins over [-3, 3] without it),
        as rtdl's ``compute_bins``: repeated edges dropped, so a column may have fewer."""
        T, f = self.n_bins, self.n_continuous
        B = self.buffer_layout.views(self.buffers)
        B["slope"][...], B["offset"][...] = 0, 0
        for j in range(f):
            if X is None:
                edges = np.linspace(-3, 3, T + 1)
            else:
                column = np.asarray(X[:, j], dtype=np.float64)
                edges = np.unique(np.quantile(column, np.linspace(0, 1, T + 1)))
                if len(edges) < 2:   # a constant column: one bin around its value
                    edges = np.array([edges[0] - 1, edges[0] + 1])
            width = np.diff(edges)
            t = len(width)
            slope, offset = 1 / width, -edges[:-1] / width
            # The last bin's encoding is always the last component; the unused ones between
            # stay 0 (rtdl's _PiecewiseLinearEncodingImpl layout).
            B["slope"][j, : t - 1], B["offset"][j, : t - 1] = slope[:-1], offset[:-1]
            B["slope"][j, -1], B["offset"][j, -1] = slope[-1], offset[-1]
            B["n_bins"][j] = t

    # -- forward --------------------------------------------------------------------------
    def _check_X(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}); got "
                             f"{X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinity; the estimator's preprocessing fills "
                             "missing values before the network sees them.")
        codes = X[:, self.n_numeric:]
        if codes.size:
            bad = (codes < 0) | (codes >= np.array(self.cardinalities)) | (codes != np.floor(codes))
            if bad.any():
                column = int(np.nonzero(bad.any(axis=0))[0][0])
                raise ValueError(
                    f"Categorical column {column} (X column {self.n_numeric + column}) holds "
                    f"a value that is not an integer code in [0, {self.cardinalities[column]})"
                    "; encode the categories as 0, 1, ... first.")
        return X

    def forward(self, theta, X, training=False, rng=None):
        """The logits (n, k, n_outputs) and the trace :meth:`backward` needs.

        Dropout is applied when ``training`` and ``dropout > 0`` (``rng`` draws the masks).
        """
        if training and self.dropout and rng is None:
            raise ValueError("forward(training=True) with dropout needs an rng.")
        X = self._check_X(X)
        return self._forward(theta, X, rng=rng if training else None, keep=True)

    # -- the embedded input: the space skdnn.explain's integrated gradients run in ----------
    @property
    def n_embedded(self):
        """The width of :meth:`embed`'s output: the numbers, then ``embedding_dim`` values per
        categorical column."""
        return self.n_numeric + self.embedding_dim * len(self.cardinalities)

    def embed(self, theta, X):
        """``X`` with each code column replaced by its embedding, (n, :attr:`n_embedded`).

        The numeric columns stay as they are; categorical column ``c``'s code becomes the
        ``embedding_dim`` values of its row of ``E_c``. :meth:`forward_embedded` takes the
        result, so a category is a point of its embedding space, where it has a gradient.
        """
        X = self._check_X(X)
        U = X[:, :self.n_numeric].astype(self.dtype)
        if not self.cardinalities:
            return U
        emb, _ = categorical_forward(X[:, self.n_numeric:].astype(np.intp),
                                     self.layout.views(theta)["embedding"], self.offsets)
        return np.concatenate([U, emb], axis=1)

    def forward_embedded(self, theta, U):
        """:meth:`forward` (prediction mode) from ``U = embed(theta, X)``: the logits
        (n, k, n_outputs) and the trace, whose :meth:`backward` with ``input_gradient=True``
        gives ``dL/dU`` (n, :attr:`n_embedded`). ``forward_embedded(theta, embed(theta, X))``
        equals ``forward(theta, X)``."""
        U = np.asarray(U)
        if U.ndim != 2 or U.shape[1] != self.n_embedded or not np.isfinite(U).all():
            raise ValueError(f"U must be finite, of shape (n_samples, {self.n_embedded}) "
                             f"(what embed returns); got shape {U.shape}.")
        return self._forward(theta, U, keep=True, embedded=True)

    def _forward(self, theta, X, rng=None, keep=True, calibrate=None, embedded=False):
        dt, k = self.dtype, self.k
        P = self.layout.views(theta)
        n = X.shape[0]
        trace = {"n": n, "embedded": embedded}
        f = self.n_continuous
        parts = []
        if f:
            x = np.ascontiguousarray(X[:, :f], dtype=dt)
            if self.num_embedding == "pbld":
                emb, trace["num"] = periodic_forward(x, P["pbld.freq"], P["pbld.phase"],
                                                     P["pbld.V"], P["pbld.c"])
            elif self.num_embedding == "pl":
                B = self.buffer_layout.views(self.buffers)
                emb, trace["num"] = piecewise_linear_forward(
                    x, P["pl.w"], P["pl.b"], P["pl.V"], B["slope"], B["offset"], B["n_bins"])
            else:
                emb = x
            parts.append(emb)
        if self.n_numeric > f:
            parts.append(X[:, f:self.n_numeric].astype(dt, copy=False))
        if self.cardinalities and embedded:
            parts.append(X[:, self.n_numeric:].astype(dt, copy=False))
        elif self.cardinalities:
            codes = X[:, self.n_numeric:].astype(np.intp)
            emb, trace["cat"] = categorical_forward(codes, P["embedding"], self.offsets)
            parts.append(emb)
        h = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if self.scaling_layer:
            trace["h"] = h
            h = scaling_forward(h, P["scale"])
        a = h[:, None, :]                                                   # (n, 1 -> k, d_0)
        a = np.broadcast_to(a, (n, k, self.d_in))
        trace["layers"] = layers = []
        for layer, d_in in enumerate((self.d_in, *self.hidden[:-1])):
            scale = 1 / math.sqrt(d_in)
            z, cache = ensemble_linear_forward(
                a, P[f"W{layer}"], scale, P.get(f"r{layer}"), P.get(f"s{layer}"),
                None if calibrate is not None else P[f"b{layer}"])
            if calibrate is not None:
                z = self._calibrate(z, cache, P, layer, scale, calibrate)
            alpha = P.get(f"alpha{layer}")
            a, gz = parametric_forward(z, alpha, self.g)
            mask = None
            if rng is not None and self.dropout:
                mask = dropout_mask(a.shape, self.dropout, rng, dt)
                a = a * mask
            if keep:
                layers.append((cache, z, gz, mask))
        scale = 1 / math.sqrt(self.hidden[-1])
        if calibrate is not None:
            u = heads_forward(a, P["W_out"], np.zeros_like(P["b_out"]), 1.0)
            P["W_out"] /= (scale * _spread(u, axis=0)[:, None, :]).astype(dt)
            u = heads_forward(a, P["W_out"], np.zeros_like(P["b_out"]), scale)
            P["b_out"][...] = -self._he5(u.transpose(1, 0, 2), calibrate)   # per member
        z = heads_forward(a, P["W_out"], P["b_out"], scale)
        trace["a_out"] = a
        return z, trace

    @staticmethod
    def _he5(z, rng):
        """RealMLP's ``he+5``: per unit, a random convex combination of 5 rows of ``z``
        (..., n, d) (weights from an exponential distribution, normalised)."""
        n, d = z.shape[-2], z.shape[-1]
        rows = rng.integers(0, n, size=(*z.shape[:-2], 5, d))
        weights = rng.exponential(size=rows.shape)
        weights /= weights.sum(axis=-2, keepdims=True)
        picked = np.take_along_axis(z, rows, axis=-2)
        return (picked * weights).sum(axis=-2)

    def _calibrate(self, z, cache, P, layer, scale, rng):
        """RealMLP-TD's ``std`` weights and ``he+5`` biases for one hidden layer, from the
        pre-activations ``z`` (n, k, d) of the initialisation rows (see :meth:`init`)."""
        std = _spread(z.reshape(-1, z.shape[2]), axis=0)
        P[f"W{layer}"] /= std.astype(self.dtype)
        z = z / std.astype(self.dtype)
        bias = -self._he5(z.reshape(-1, z.shape[2]), rng)
        P[f"b{layer}"][...] = bias                                           # shared by members
        z += P[f"b{layer}"]
        return z

    # -- backward -------------------------------------------------------------------------
    def backward(self, theta, trace, delta, grad=None, input_gradient=False):
        """The chain rule from ``delta = dL/dz`` (n, k, n_outputs) to every parameter and,
        when asked, to the input: ``(grad, dX)``, ``dX`` (n, n_features) with zeros in the
        code columns (or None). After :meth:`forward_embedded`, ``dX`` is ``dL/dU``
        (n, :attr:`n_embedded`) and the embedding tables' gradient is zero (unused)."""
        P = self.layout.views(theta)
        if grad is None:
            grad = np.empty_like(theta)
        G = self.layout.views(grad)
        delta = np.asarray(delta, dtype=self.dtype)
        da = heads_backward(trace["a_out"], delta, P["W_out"], 1 / math.sqrt(self.hidden[-1]),
                            G["W_out"], G["b_out"])
        for layer in range(len(self.hidden) - 1, -1, -1):
            cache, z, gz, mask = trace["layers"][layer]
            if mask is not None:
                da = da * mask
            dz = parametric_backward(z, gz, da, P.get(f"alpha{layer}"), self.g_prime,
                                     G.get(f"alpha{layer}"))
            d_in = self.d_in if layer == 0 else self.hidden[layer - 1]
            r = P.get(f"r{layer}")
            dxr = ensemble_linear_backward(
                cache, dz, P[f"W{layer}"], 1 / math.sqrt(d_in),
                (G[f"W{layer}"], G.get(f"r{layer}"), G.get(f"s{layer}"), G[f"b{layer}"]),
                r, P.get(f"s{layer}"))
            if layer == 0:
                # The first layer's input is shared by the members: sum their gradients.
                dh = np.einsum("nkd,kd->nd", dxr, r) if r is not None else dxr.sum(axis=1)
            else:
                da = dxr * r if r is not None else dxr
        if self.scaling_layer:
            dh = scaling_backward(trace["h"], dh, P["scale"], G["scale"])
        n, f, embedded = trace["n"], self.n_continuous, trace["embedded"]
        width = self.n_embedded if embedded else self.n_features
        dX = np.zeros((n, width), dtype=self.dtype) if input_gradient else None
        widths = self.chunks
        n_num_emb = sum(widths[:f])
        if f:
            demb = dh[:, :n_num_emb]
            if self.num_embedding == "pbld":
                dx = periodic_backward(trace["num"], demb, P["pbld.freq"], P["pbld.V"],
                                       (G["pbld.freq"], G["pbld.phase"], G["pbld.V"],
                                        G["pbld.c"]))
            elif self.num_embedding == "pl":
                B = self.buffer_layout.views(self.buffers)
                dx = piecewise_linear_backward(trace["num"], demb, P["pl.w"], P["pl.V"],
                                               B["slope"], (G["pl.w"], G["pl.b"], G["pl.V"]))
            else:
                dx = demb
            if input_gradient:
                dX[:, :f] = dx
        stop = n_num_emb + self.n_numeric - f
        if input_gradient:
            dX[:, f:self.n_numeric] = dh[:, n_num_emb:stop]
        if self.cardinalities and embedded:
            G["embedding"][...] = 0
            if input_gradient:
                dX[:, self.n_numeric:] = dh[:, stop:]
        elif self.cardinalities:
            categorical_backward(trace["cat"], dh[:, stop:], G["embedding"])
        return grad, dX

    # -- objective and prediction -----------------------------------------------------------
    def loss_and_gradient(self, theta, grad, X, Y, sample_weight=None, rng=None):
        """The mean over members of each member's weighted mean loss; its gradient into
        ``grad``. Dropout is used when ``rng`` is given and ``dropout > 0``.

        Each row is repeated once per member, its weight with it, so the weighted mean over
        the ``n k`` rows is the mean of the ``k`` members' weighted means, and the delta of
        :func:`~skdnn.nn.losses.loss_and_output_delta`, ``w_i (p_im - y_i) / (k sum w)``, is
        this mean's gradient. For ``identity`` with several outputs the gradient is that of
        the sum over outputs, as in :class:`~skdnn.nn.network.Network`.
        """
        X = self._check_X(X)
        z, trace = self._forward(theta, X, rng=rng, keep=True)
        n, k, o = z.shape
        Y = np.asarray(Y, dtype=self.dtype).reshape(n, -1)
        Yk = np.repeat(Y, k, axis=0)
        w = None if sample_weight is None else np.repeat(np.asarray(sample_weight,
                                                                    dtype=np.float64), k)
        loss, delta = loss_and_output_delta(z.reshape(n * k, o), Yk, self.out_activation, w)
        self.backward(theta, trace, delta.reshape(n, k, o), grad=grad)
        return loss

    def outputs(self, theta, X):
        """The members' probabilities (or predictions) averaged, (n, n_outputs), in blocks of
        rows that hold at most about :data:`PREDICT_BYTES`."""
        X = self._check_X(X)
        n = X.shape[0]
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        block = max(1, PREDICT_BYTES // max(self.row_bytes, 1))
        for start in range(0, n, block):
            z, _ = self._forward(theta, X[start:start + block], keep=False)
            m, k, o = z.shape
            values = output_values(z.reshape(m * k, o), self.out_activation,
                                   out=z.reshape(m * k, o))
            out[start:start + block] = values.reshape(m, k, o).mean(axis=1)
        return out


class MemberAverage(Model):
    r"""A :class:`TabularNetwork` seen as one network: the logits of its members' averaged
    probabilities (or predictions).

    The loop's evaluation, the scores and the explanations take 2-D logits ``z`` (n, o) whose
    output layer gives the prediction. For an ensemble whose prediction is the mean of the
    members' probabilities ``p̄ = mean_m p_m``, those logits are

    * softmax: ``log p̄`` (its softmax is ``p̄``), computed as
      ``logsumexp_m(log p_m) - log k``;
    * logistic: ``log p̄ - log(1 - p̄)``;
    * identity: ``mean_m z_m``.

    :meth:`backward` maps ``dL/dz`` (n, o) to the members' logits, using the responsibilities
    ``r_m = p_m / (k p̄)`` (each member's share of the average):

    * softmax: ``dL/dz_m = r_m g - p_m sum_c(r_mc g_c)`` with ``g = dL/dz``;
    * logistic: ``dL/dz_m = g (r_m (1 - p_m) + s_m p_m)``, ``s_m = (1 - p_m) / (k (1 - p̄))``;
    * identity: ``dL/dz_m = g / k``;

    and then runs the network's own. Training keeps the network's objective, the mean of the
    members' losses (:meth:`TabularNetwork.loss_and_gradient`).

    Parameters
    ----------
    network : TabularNetwork
    """

    def __init__(self, network):
        self.network = network
        self.layout, self.out_activation = network.layout, network.out_activation
        self.n_outputs, self.row_bytes = network.n_outputs, network.row_bytes

    def __getattr__(self, name):  # the wrapped network's structure (``k``, ``lr_factors``, ...)
        if name == "network":
            raise AttributeError(name)
        return getattr(self.network, name)

    @property
    def buffers(self):
        return self.network.buffers

    @buffers.setter
    def buffers(self, value):
        self.network.buffers = value

    def init(self, rng, X=None):
        return self.network.init(rng, X)

    def _log_members(self, z):
        """``(log p_m, log(1 - p_m))`` of the members' logits (n, k, o); the second for
        logistic outputs only."""
        if self.out_activation == "softmax":
            return z - logsumexp(z, axis=2, keepdims=True), None
        return -np.logaddexp(0, -z), -np.logaddexp(0, z)

    def forward(self, theta, X, training=False, rng=None):
        return self._average(*self.network.forward(theta, X, training, rng))

    def forward_embedded(self, theta, U):
        """:meth:`forward` from :meth:`TabularNetwork.embed`'s output ``U``; :meth:`backward`
        of its trace gives ``dL/dU``."""
        return self._average(*self.network.forward_embedded(theta, U))

    def _average(self, z, trace):
        """The logits of the members' averaged outputs, from theirs ``z`` (n, k, o)."""
        k = z.shape[1]
        if self.out_activation not in ("softmax", "logistic"):
            return z.mean(axis=1), (trace, z, None)
        log_p, log_q = self._log_members(z)
        log_mean = logsumexp(log_p, axis=1) - math.log(k)                       # log p̄
        if log_q is None:
            return log_mean, (trace, z, log_p)
        return log_mean - (logsumexp(log_q, axis=1) - math.log(k)), (trace, z, (log_p, log_q))

    def backward(self, theta, trace, delta, grad=None, input_gradient=False):
        trace, z, logs = trace
        k = z.shape[1]
        g = np.asarray(delta, dtype=z.dtype)[:, None, :]                         # (n, 1, o)
        if logs is None:
            dz = np.broadcast_to(g / k, z.shape)
        elif self.out_activation == "softmax":
            log_p = logs
            p = np.exp(log_p)
            r = np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True))          # p_m / (k p̄)
            dz = r * g - p * (r * g).sum(axis=2, keepdims=True)
        else:
            log_p, log_q = logs
            p = np.exp(log_p)
            r = np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True))
            s = np.exp(log_q - logsumexp(log_q, axis=1, keepdims=True))
            dz = g * (r * (1 - p) + s * p)
        return self.network.backward(theta, trace, dz, grad, input_gradient)

    def loss_and_gradient(self, theta, grad, X, Y, sample_weight=None, rng=None):
        return self.network.loss_and_gradient(theta, grad, X, Y, sample_weight, rng)

    def outputs(self, theta, X):
        return self.network.outputs(theta, X)
