r"""The engine as a textbook: every equation of training written once, plainly.

The rest of :mod:`skdnn.nn` is the fast form of what is here: buffers reused from batch to
batch, ``out=`` arguments, sparse branches, Adam kept as rescaled sums, the perceptron jumping
from mistake to mistake. This module is the plain form, with no buffers, no ``out=`` and no
branch for speed. It is slow and short: read it to learn how a network trains.
``tests/test_reference.py`` checks the fast engine against it, equation by equation, so it is
also the fast path's specification.

Shapes: ``n`` samples, ``d`` features, ``h_l`` units in layer ``l``, ``k`` outputs. A network of
``L`` weight layers has ``Ws[l]`` of shape ``(h_l, h_{l+1})`` and ``bs[l]`` of shape
``(h_{l+1},)``, with ``h_0 = d`` and ``h_L = k``; ``z_{l+1} = a_l W_l + b_l`` is layer ``l``'s
output before its activation, and ``a_{l+1} = g(z_{l+1})`` after (``a_0 = X``).

Examples
--------
One forward and backward pass of a network 3 -> 4 -> 2 on 5 samples:

>>> import numpy as np
>>> from skdnn.nn import reference
>>> rng = np.random.default_rng(0)
>>> X, Y = rng.normal(size=(5, 3)), np.eye(2)[[0, 1, 1, 0, 1]]
>>> Ws, bs = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))], [np.zeros(4), np.zeros(2)]
>>> trace = reference.forward(Ws, bs, X, "tanh")
>>> loss = reference.loss(trace.z[-1], Y, "softmax")
>>> grads = reference.backward(Ws, trace, Y, "tanh", "softmax")
>>> [dW.shape for dW in grads.dWs], grads.dX.shape
([(3, 4), (4, 2)], (5, 3))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import erf, expit, log_softmax, softmax, xlogy


def _phi(z):  # the standard normal CDF, for GELU (Python floats keep float32 float32)
    return 0.5 * (1 + erf(z / math.sqrt(2)))


#: name -> (g(z, s), g'(z, s)); ``s`` is leaky ReLU's fixed slope or PReLU's learned slopes.
ACTIVATIONS = {
    "identity": (lambda z, s: z, lambda z, s: np.ones_like(z)),
    "logistic": (lambda z, s: expit(z), lambda z, s: expit(z) * (1 - expit(z))),
    "tanh": (lambda z, s: np.tanh(z), lambda z, s: 1 - np.tanh(z) ** 2),
    "relu": (lambda z, s: np.maximum(z, 0), lambda z, s: (z > 0) * 1.0),
    "leaky_relu": (lambda z, s: np.where(z > 0, z, s * z), lambda z, s: np.where(z > 0, 1, s)),
    "prelu": (lambda z, s: np.where(z > 0, z, s * z), lambda z, s: np.where(z > 0, 1, s)),
    "elu": (lambda z, s: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda z, s: np.where(z > 0, 1, np.exp(np.minimum(z, 0)))),
    "gelu": (lambda z, s: z * _phi(z),
             lambda z, s: _phi(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
}

#: output layer -> its values from the logits ``z`` (n, k): probabilities or predictions.
OUTPUTS = {"softmax": lambda z: softmax(z, axis=1), "logistic": expit,
           "identity": lambda z: z, "exp": np.exp}


class Trace(NamedTuple):
    """What the forward pass keeps: ``a[l]`` is the input of weight layer ``l`` (after
    dropout; ``a[0] = X``), ``z[l]`` its output before the activation (``z[-1]``: the logits),
    ``masks[l]`` hidden layer ``l``'s dropout mask, ``slopes`` each hidden layer's ``s``."""

    a: list
    z: list
    masks: list
    slopes: list


class Gradients(NamedTuple):
    """``dL/dW_l``, ``dL/db_l``, ``dL/ds_l`` (PReLU; else empty) and ``dL/dX``."""

    dWs: list
    dbs: list
    dslopes: list
    dX: np.ndarray


def forward(Ws, bs, X, activation, slopes=None, negative_slope=0.01, dropout=0.0, rng=None):
    """``a_{l+1} = g(a_l W_l + b_l)`` layer by layer, with inverted dropout on hidden layers;
    ``slopes`` are PReLU's per layer, and ``rng`` draws the masks as the fast engine does."""
    g = ACTIVATIONS[activation][0]
    a, trace = X, Trace([], [], [], [])
    for layer, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        trace.a.append(a)
        z = a @ W + b                                     # (n, h_l) @ (h_l, h_{l+1})
        trace.z.append(z)
        if layer == len(Ws) - 1:
            return trace                                  # z is the logits, (n, k)
        s = slopes[layer] if activation == "prelu" else negative_slope
        trace.slopes.append(s)
        a = g(z, s)                                       # (n, h_{l+1})
        if dropout > 0:    # keep each unit with probability 1 - p, and scale it by 1 / (1 - p)
            keep = rng.random(a.shape, dtype=a.dtype) >= dropout
            trace.masks.append((keep / (1 - dropout)).astype(a.dtype))
            a = a * trace.masks[-1]
    raise ValueError("a network has at least one weight layer")


def loss(z, Y, out, sample_weight=None):
    """The loss as scikit-learn reports it (``loss_curve_``): the weighted mean of each
    sample's loss, from the logits ``z`` (n, k). With ``k`` squared-error outputs a sample's
    loss is the mean of its ``k`` half squared errors."""
    per_sample = {
        "softmax": lambda: -(Y * log_softmax(z, axis=1)).sum(1),      # cross-entropy
        "logistic": lambda: (np.logaddexp(0, z) - Y * z).sum(1),      # binary cross-entropies
        "identity": lambda: ((z - Y) ** 2).mean(1) / 2,               # half squared error
        "exp": lambda: (xlogy(Y, Y) - Y - Y * z + np.exp(z)).sum(1),  # half Poisson deviance
    }[out]()                                                          # (n,)
    return float(np.average(per_sample, weights=sample_weight))


def penalty(Ws, Y, alpha, sample_weight=None):
    """The L2 penalty, ``alpha / (2 sum w) sum_l ||W_l||^2`` (biases are not penalised)."""
    sw_sum = len(Y) if sample_weight is None else sample_weight.sum()
    return alpha / (2 * sw_sum) * sum((W**2).sum() for W in Ws)


def objective(Ws, z, Y, out, sample_weight=None, alpha=0.0):
    """The function training descends, whose gradient :func:`backward` returns.

    It is :func:`loss` plus :func:`penalty`, except for ``k`` squared-error outputs: there a
    sample's term is the *sum* of its ``k`` half squared errors, ``k`` times the mean that
    :func:`loss` reports. scikit-learn's ``MLPRegressor`` reports the mean but steps along the
    sum's gradient (its output delta ``p - y`` is not divided by ``k``); the drop-in does the
    same, so this is the objective both of them minimise."""
    data = loss(z, Y, out, sample_weight)
    if out == "identity":
        data *= Y.shape[1]
    return data + penalty(Ws, Y, alpha, sample_weight)


def backward(Ws, trace, Y, activation, out, sample_weight=None, alpha=0.0):
    """The chain rule from the output back to the input: the gradient of :func:`objective`.

    Each output layer and its loss are a canonical pair, so ``dL/dz_L`` is ``p - y``, weighted."""
    g_prime = ACTIVATIONS[activation][1]
    w = np.ones(len(Y)) if sample_weight is None else sample_weight      # (n,)
    delta = (OUTPUTS[out](trace.z[-1]) - Y) * (w / w.sum())[:, None]     # dL/dz_L, (n, k)
    dWs, dbs, dslopes = [], [], []
    for layer in reversed(range(len(Ws))):                              # l = L-1, ..., 0
        dWs.insert(0, trace.a[layer].T @ delta + alpha / w.sum() * Ws[layer])  # (h_l, h_{l+1})
        dbs.insert(0, delta.sum(0))                                     # (h_{l+1},)
        delta_a = delta @ Ws[layer].T                                   # dL/da_l, (n, h_l)
        if layer == 0:
            return Gradients(dWs, dbs, dslopes, delta_a)                # dL/dX, (n, d)
        if trace.masks:
            delta_a = delta_a * trace.masks[layer - 1]                  # through dropout
        z, s = trace.z[layer - 1], trace.slopes[layer - 1]
        if activation == "prelu":  # a = max(z, 0) + s min(z, 0), so dL/ds = sum_i dL/da min(z, 0)
            dslopes.insert(0, (delta_a * np.minimum(z, 0)).sum(0))      # (h_l,)
        delta = delta_a * g_prime(z, s)                                 # dL/dz_l, (n, h_l)


def sgd_step(theta, grad, velocity, learning_rate, momentum=0.9, nesterov=True):
    """``v <- mu v - eta g``; ``theta <- theta + v``, or with Nesterov ``+ mu v - eta g``.
    Returns the new ``(theta, velocity)``."""
    velocity = momentum * velocity - learning_rate * grad
    step = momentum * velocity - learning_rate * grad if nesterov else velocity
    return theta + step, velocity


def adam_step(theta, grad, m, v, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8):
    """Kingma and Ba's Adam, step ``t + 1``; returns the new ``(theta, m, v, t)``.

    The moments' bias corrections ``1 - beta^t`` are folded into the rate, the paper's
    efficient form (Section 2) and scikit-learn's: ``epsilon`` is added to ``sqrt(v)``."""
    t += 1
    m = beta_1 * m + (1 - beta_1) * grad               # moving average of the gradient
    v = beta_2 * v + (1 - beta_2) * grad**2            # ... and of its square
    rate = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return theta - rate * m / (np.sqrt(v) + epsilon), m, v, t


def adamw_step(theta, grad, m, v, t, learning_rate, factors, decay, beta_1=0.9, beta_2=0.95,
               epsilon=1e-8):
    """Adam with a learning-rate factor per parameter and decoupled weight decay (AdamW, the
    tabular MLPs' optimiser); returns the new ``(theta, m, v, t)``.

    Each parameter's rate is ``learning_rate * factors``; the weights first shrink by
    ``1 - rate * decay`` (Loshchilov and Hutter: the decay is not part of the gradient), then
    take Adam's step."""
    t += 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    rate = learning_rate * factors
    theta = theta * (1 - rate * decay)
    return theta - rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon), \
        m, v, t

def perceptron_online_epoch(W, b, X, Y, s, eta0, fit_intercept=True, pocket=None):
    """The lesson's loop, one sample at a time: ``if y (w . x + b) <= 0: w += eta y x``.

    ``W`` (d, k), ``b`` (k,), ``Y`` (n, k) in {-1, +1}, sample weights ``s`` (n,). Returns the
    new ``(W, b)``, their average over the presentations (weighted by ``s``), the loss (the
    weighted sum of ``-min(margin, 0)``) and the weight of the samples with a mistake.
    ``pocket``, a :class:`PlainPocket`, sees every sample's answer."""
    W, b = W.copy(), b.copy()
    W_sum, b_sum, lost, mistakes = np.zeros_like(W), np.zeros_like(b), 0.0, 0.0
    for x, y, weight in zip(X, Y, s, strict=True):
        margin = y * (x @ W + b)                       # (k,)
        wrong = margin <= 0                            # a point on the line is a mistake
        if pocket is not None:
            pocket.answer(W, b, right=not wrong.any())
        lost -= weight * np.minimum(margin, 0).sum()
        mistakes += weight * wrong.any()
        W += eta0 * weight * np.outer(x, y * wrong)    # (d, k)
        b += eta0 * weight * y * wrong * fit_intercept
        W_sum, b_sum = W_sum + weight * W, b_sum + weight * b
    return W, b, (W_sum / s.sum(), b_sum / s.sum()), lost, mistakes


def perceptron_minibatch_step(W, b, X, Y, s, eta0, l2=0.0, l1=0.0):
    """One step along the sum of a batch's corrections, then the penalty's shrinkage for the
    batch's total weight ``n``: ``W <- S_{n l1}((1 - l2)^n W)``, with the soft threshold
    ``S_t(w) = sign(w) max(|w| - t, 0)`` (``l2`` and ``l1`` are per unit of sample weight;
    ``b`` is not penalised). Returns the new ``(W, b)``."""
    wrong = Y * (X @ W + b) <= 0                        # (n, k)
    G = eta0 * s[:, None] * Y * wrong                   # each mistake's correction
    W, b = W + X.T @ G, b + G.sum(0)                    # (d, k), (k,)
    n = s.sum()
    W = W * (1 - l2) ** n                               # L2: weight decay
    return np.sign(W) * np.maximum(np.abs(W) - n * l1, 0), b   # L1: soft threshold


class PlainPocket:
    """Gallant's pocket with ratchet, one answer at a time: the current weights' *run* counts
    their right answers since they last changed; the first time it outgrows the pocket's run,
    they are scored (``score(W, b)``, e.g. training accuracy) and pocketed if they score
    higher. While the pocket holds them, its run grows with theirs."""

    def __init__(self, score):
        self.score, self.best, self.best_score = score, None, -np.inf
        self.run, self.pocket_run, self.scored, self.current = 0, 0, False, False

    def answer(self, W, b, right):
        """The current weights ``(W, b)`` answered one sample, right or wrong (then they
        change)."""
        if not right:
            self.run, self.scored, self.current = 0, False, False
            return
        self.run += 1
        if self.current:
            self.pocket_run = self.run
        elif self.run > self.pocket_run and not self.scored:
            self.scored, score = True, self.score(W, b)
            if score > self.best_score:
                self.best, self.best_score = (W.copy(), b.copy()), score
                self.pocket_run, self.current = self.run, True


# -- TabNet's attentive step -------------------------------------------------------------------
def sparsemax(z):
    """Each row projected onto the probability simplex, ``p = max(z - tau, 0)`` with
    ``sum p = 1``: the support is the largest ``k`` of the sorted row with
    ``1 + k z_(k) > z_(1) + ... + z_(k)``, and ``tau = (z_(1) + ... + z_(k) - 1) / k``."""
    p = np.empty_like(z)
    for i, row in enumerate(z):
        s = np.sort(row)[::-1]
        k = max(r for r in range(1, len(s) + 1) if 1 + r * s[r - 1] > s[:r].sum())
        p[i] = np.maximum(row - (s[:k].sum() - 1) / k, 0)
    return p


def ghost_batch_norm(z, gamma, beta, virtual_batch_size, eps=1e-5):
    """Training-mode batch norm over chunks of rows, cut as ``torch.chunk`` cuts the batch
    into ``ceil(n / virtual_batch_size)`` chunks: each chunk normalised by its own mean and
    (biased) variance, then scaled by ``gamma`` and shifted by ``beta``."""
    n = len(z)
    size = math.ceil(n / math.ceil(n / virtual_batch_size))
    chunks = [z[start : start + size] for start in range(0, n, size)]
    return np.concatenate([(c - c.mean(0)) / np.sqrt(c.var(0) + eps) for c in chunks]) * gamma \
        + beta


def attentive_step(a, prior, A, gamma, beta, virtual_batch_size, relaxation):
    """One step of TabNet's attentive transformer (training mode): the mask
    ``M = sparsemax(prior * GBN(a A))`` of shape (n, p), from the previous step's attention
    output ``a`` (n, n_a), and the next prior ``prior * (relaxation - M)``: a feature the
    step used weighs less in the next steps' masks."""
    M = sparsemax(prior * ghost_batch_norm(a @ A, gamma, beta, virtual_batch_size))
    return M, prior * (relaxation - M)


# -- one plain training epoch ------------------------------------------------------------------
def adam_epoch(Ws, bs, X, Y, activation, out, batch_size, learning_rate=0.001, alpha=0.0,
               state=None):
    """One epoch of mini-batch Adam over the rows in order (no shuffle, no dropout): for each
    batch, :func:`forward`, :func:`backward` of :func:`objective`, and :func:`adam_step` on
    every weight and bias (hidden activations without learned parameters). ``state`` is
    ``(m, v, t)`` per parameter from an earlier epoch (None: zeros). Returns the new
    ``(Ws, bs)``, the state and the epoch's mean loss: each batch's :func:`loss` +
    :func:`penalty`, weighted by its rows (scikit-learn's ``loss_curve_``)."""
    params = [*Ws, *bs]
    state = state or [(np.zeros_like(p), np.zeros_like(p), 0) for p in params]
    total = 0.0
    for start in range(0, len(X), batch_size):
        rows = slice(start, start + batch_size)
        n_weights = len(params) // 2
        Ws, bs = params[:n_weights], params[n_weights:]
        trace = forward(Ws, bs, X[rows], activation)
        total += (loss(trace.z[-1], Y[rows], out) + penalty(Ws, Y[rows], alpha)) \
            * len(X[rows])
        grads = backward(Ws, trace, Y[rows], activation, out, alpha=alpha)
        steps = [adam_step(p, g, m, v, t, learning_rate) for p, g, (m, v, t)
                 in zip(params, [*grads.dWs, *grads.dbs], state, strict=True)]
        params = [step[0] for step in steps]
        state = [step[1:] for step in steps]
    n_weights = len(params) // 2
    return params[:n_weights], params[n_weights:], state, total / len(X)


# -- the tabular network's layers (skdnn.nn.tabular) -------------------------------------------
#: name -> g, the activations the tabular network's parametric activation wraps.
TABULAR_ACTIVATIONS = {
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
    "mish": lambda z: z * np.tanh(np.log1p(np.exp(z))),
    "relu": lambda z: np.maximum(z, 0),
}


def periodic_embedding(x, freq, phase, V, c):
    """RealMLP's PBLD embedding, one column ``j`` at a time: ``F`` periodic features
    ``cos(2 pi w_j x_j + phi_j)``, a linear map to ``e - 1`` values, and ``x_j`` itself:
    ``[cos(2 pi x_j w_j + phi_j) V_j + c_j, x_j]``. ``x`` (n, f) -> (n, f e)."""
    out = []
    for j in range(x.shape[1]):
        u = np.cos(2 * np.pi * np.outer(x[:, j], freq[j]) + phase[j])   # (n, F)
        out += [u @ V[j] + c[j], x[:, j : j + 1]]                        # (n, e - 1), (n, 1)
    return np.concatenate(out, axis=1)


def piecewise_linear_embedding(x, w, b, V, edges):
    """TabM's piecewise-linear embedding (version "B"), one column and one bin at a time:
    ``x_j w_j + b_j + ple(x_j) V_j``. Bin ``t`` of column ``j`` spans ``edges[j][t]`` to
    ``edges[j][t + 1]``; ``ple(x)_t = (x - left_t) / width_t`` clipped to [0, 1], except that
    the first bin is not clipped below and the last not above. The last bin's value is the
    last of the ``T`` components (of ``V_j``'s rows); the unused ones are 0."""
    n, T = x.shape[0], V.shape[1]
    out = []
    for j in range(x.shape[1]):
        e = edges[j]
        n_bins = len(e) - 1
        ple = np.zeros((n, T))
        for t in range(n_bins):
            value = (x[:, j] - e[t]) / (e[t + 1] - e[t])
            low = -np.inf if t == 0 else 0
            high = np.inf if t == n_bins - 1 else 1
            ple[:, t if t < n_bins - 1 else T - 1] = np.clip(value, low, high)
        out.append(np.outer(x[:, j], w[j]) + b[j] + ple @ V[j])          # (n, e)
    return np.concatenate(out, axis=1)


def categorical_embedding(codes, tables):
    """Row ``codes[i, c]`` of categorical column ``c``'s table, side by side: (n, sum e)."""
    return np.concatenate([tables[c][codes[:, c]] for c in range(codes.shape[1])], axis=1)


def scaling_layer(h, s):
    """RealMLP's scaling layer: column ``j`` times its learned ``s_j``."""
    return h * s


def parametric_activation(z, alpha, activation):
    """RealMLP's parametric activation, ``z + alpha (g(z) - z)`` with one ``alpha`` per unit:
    ``alpha = 1`` is ``g``, ``alpha = 0`` the identity."""
    return z + alpha * (TABULAR_ACTIVATIONS[activation](z) - z)


def batch_ensemble_linear(x, W, r, s, b):
    """BatchEnsemble (Wen et al. 2020) in the NTK parametrisation, member by member: member
    ``m``'s layer is ``((x_m * r_m) W) * s_m / sqrt(d_in) + b_m``, its weight matrix the
    shared ``W`` times the rank-one ``r_m s_m^T``. ``x`` (n, k, d_in) -> (n, k, d_out)."""
    return np.stack([((x[:, m] * r[m]) @ W) * s[m] / np.sqrt(W.shape[0]) + b[m]
                     for m in range(x.shape[1])], axis=1)


def linear_heads(a, W, b):
    """TabM's output layer: member ``m``'s own ``a_m W_m / sqrt(d) + b_m``, (n, k, o)."""
    return np.stack([a[:, m] @ W[m] / np.sqrt(W.shape[1]) + b[m] for m in range(a.shape[1])],
                    axis=1)
