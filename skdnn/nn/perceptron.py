r"""The perceptron rule, online and in mini-batches, Gallant's pocket, and the temperature that
turns decisions into probabilities.

Inputs ``X`` (n_samples, n_features), targets ``Y`` in {-1, +1} (n_samples, n_outputs: one
output for two classes, one per class otherwise), sample weights ``s``, weights ``W``
(n_features, n_outputs), biases ``b``. Sample ``i`` is a *mistake* for output ``k`` when
:math:`y_{ik} (x_i \cdot w_k + b_k) \le 0` (a point on the line is wrong for either class), and
Rosenblatt's rule corrects it:

.. math:: w_k \leftarrow w_k + \eta_0 s_i y_{ik} x_i, \qquad b_k \leftarrow b_k + \eta_0 s_i y_{ik}.

The mini-batch rule takes one step along the sum of a batch's corrections; with the whole
training set as one batch it is Duda and Hart's batch perceptron. Either rule can see each
feature divided by a scale :math:`r_j` (its root-mean-square): that is the rule on
:math:`x_j / r_j`, whose weights are :math:`w_j r_j`, so in the weights of the raw features a
mistake moves :math:`w_j` by :math:`\eta_0 s_i y_{ik} x_{ij} / r_j^2`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


class Weights:
    r"""The weights ``W``, ``b``, the features' ``scale`` (None: 1; the rule, penalty included,
    then runs on ``X / scale``), the penalty, and the sums the averaged perceptron needs.

    ``l2`` and ``l1`` are the per-sample shrinkage of the penalty (``eta0 alpha (1 -
    l1_ratio)`` and ``eta0 alpha l1_ratio``; ``b`` is not penalised). ``n`` presentations
    shrink the weights once, after their decisions, by :math:`(1 - l_2)^n` and the soft
    threshold :math:`S_{n l_1}(w) = \mathrm{sign}(w) \max(|w| - n l_1, 0)`.

    The average over ``T`` presentations is kept without touching every presentation: a change
    :math:`\Delta_u` that came after :math:`t_u` presentations is missing from the weights
    before it, so :math:`\frac{1}{T} \sum_t W_t = W_T - U / T` with
    :math:`U = \sum_u t_u \Delta_u`.
    """

    def __init__(self, W, b, fit_intercept=True, l2=0.0, l1=0.0, averaged=False, scale=None):
        self.W, self.b, self.fit_intercept = W, b, fit_intercept
        # The rule on x / scale: a feature's step over its scale squared, its L1 shrinkage over
        # its scale (L2 shrinks every weight by the same factor in either form).
        self.scale = None if scale is None else scale.astype(W.dtype)[:, None]
        self.scale_squared = None if scale is None else self.scale**2
        self.l2, self.l1 = l2, l1
        self.U = [np.zeros_like(W), np.zeros_like(b)] if averaged else None
        self.count = 0

    def step(self, X_rows, G):
        """Add ``X_rows.T @ G`` (over the features' scale squared) to ``W`` and the column sums
        of ``G`` to ``b``: the updates of samples ``X_rows``, one row of ``G`` each."""
        dW = self.scaled(X_rows.T @ G)
        db = G.sum(axis=0) if self.fit_intercept else np.zeros_like(self.b)
        self.W += dW
        self.b += db
        if self.count:
            self.record(dW * self.count, db * self.count)

    def scaled(self, dW):
        """A change of the raw weights, ``dW``, divided by the features' scale squared."""
        return dW if self.scale is None else dW / self.scale_squared

    def record(self, dW_times_t, db_times_t):
        """Add to ``U`` changes of the weights times the presentations that came before them."""
        if self.U is not None:
            self.U[0] += dW_times_t
            self.U[1] += db_times_t

    def advance(self, n):
        """Count presentations of total sample weight ``n`` after which ``W`` stands as it is
        now, then shrink it."""
        self.count += n
        if n and (self.l2 or self.l1):
            shrunk = self.W * max(0.0, 1.0 - self.l2) ** n
            if self.l1:
                threshold = n * self.l1 if self.scale is None else n * self.l1 / self.scale
                shrunk = np.sign(shrunk) * np.maximum(np.abs(shrunk) - threshold, 0)
            if self.U is not None:
                self.U[0] += (shrunk - self.W) * self.count
            self.W[...] = shrunk

    def average(self):
        """The mean weights over the presentations (Freund and Schapire's averaged perceptron);
        the current ones before any, or when not averaging."""
        if self.U is None or self.count == 0:
            return self.W.copy(), self.b.copy()
        return self.W - self.U[0] / self.count, self.b - self.U[1] / self.count


class Pocket:
    """Gallant's pocket with ratchet: the best-scoring weights seen, by ``score(W, b)``.

    The current weights' *run* is the number of samples they classified right since they last
    changed. Scoring costs a pass over the data, so weights are scored only when their run
    outgrows the pocket's, at most once, and pocketed if they score higher.
    """

    def __init__(self, score):
        self.score = score
        self.best, self.best_score = None, -np.inf
        self.run, self.pocket_run, self.scored, self.current = 0, 0, False, False

    def offer(self, W, b, score=None):
        """Keep ``(W, b)`` if they score higher than the pocket's weights; return their score."""
        score = self.score(W, b) if score is None else score
        if score > self.best_score:
            self.best, self.best_score = (W.copy(), b.copy()), score
        return score

    def extend(self, weights, n, changed):
        """``n`` more right answers by the current weights; then, if ``changed``, new ones."""
        self.run += n
        if self.current:  # the pocket holds the current weights: its run grows with them
            self.pocket_run = self.run
        elif self.run > self.pocket_run and not self.scored:
            self.scored, before = True, self.best_score
            if self.offer(weights.W, weights.b) > before:
                self.pocket_run, self.current = self.run, True
        if changed:
            self.run, self.scored, self.current = 0, False, False


def online_epoch(weights, X, Y, s, eta0, order=None, pocket=None):
    """One pass of the online rule over the rows ``order`` of ``X`` (all, in order, if None).

    The weights change only at mistakes, so the decisions of a block of upcoming samples are
    computed in one product; the epoch jumps to the block's first mistake, updates, and goes on
    after it: exactly the one-at-a-time rule, at a cost that grows with the mistakes. A block
    doubles (up to 4096 rows) while it holds no mistake.

    Returns
    -------
    loss : float
        Weighted perceptron loss of the epoch, each sample's before its update.
    mistakes : float
        Weight of the samples that were a mistake for at least one output.
    """
    if order is not None:
        X, Y, s = X[order], Y[order], s[order]
    seen = np.concatenate([[0.0], np.cumsum(s)]).tolist()  # weight of the rows before each
    n_samples, start, block, n_wrong = X.shape[0], 0, 32, 0
    sparse, fit_intercept = sp.issparse(X), weights.fit_intercept
    # Per mistake: its margins (for the loss), its update, and the presentations before it.
    lost, steps = np.empty((2, n_samples, Y.shape[1]), dtype=Y.dtype)
    rows, when = np.empty(n_samples, dtype=np.intp), np.empty(n_samples)
    while start < n_samples:
        stop = min(start + block, n_samples)
        margins = Y[start:stop] * (X[start:stop] @ weights.W + weights.b)
        wrong = (margins <= 0).any(axis=1)
        first = int(wrong.argmax())
        if not wrong[first]:  # no mistake in the block
            weights.advance(seen[stop] - seen[start])
            if pocket is not None:
                pocket.extend(weights, stop - start, changed=False)
            start, block = stop, min(2 * block, 4096)
            continue
        i = start + first
        weights.advance(seen[i] - seen[start])
        if pocket is not None:
            pocket.extend(weights, first, changed=True)
        lost[n_wrong], step = margins[first], steps[n_wrong]
        np.multiply(Y[i], margins[first] <= 0, out=step)
        step *= eta0 * s[i]
        update = X[i : i + 1].T @ step[None, :] if sparse else X[i][:, None] * step
        weights.W += weights.scaled(update)
        if fit_intercept:
            weights.b += step
        rows[n_wrong], when[n_wrong] = i, weights.count
        weights.advance(seen[i + 1] - seen[i])
        n_wrong += 1
        start, block = i + 1, max(32, 2 * first)
    if weights.U is not None and n_wrong:  # each update times its presentations, all at once
        G = steps[:n_wrong] * when[:n_wrong, None]
        weights.record(weights.scaled(X[rows[:n_wrong]].T @ G),
                       G.sum(axis=0) if fit_intercept else 0)
    weight = s[rows[:n_wrong]]
    return -float(weight @ np.minimum(lost[:n_wrong], 0).sum(axis=1)), float(weight.sum())


def minibatch_epoch(weights, X, Y, s, eta0, batch_size, order=None, pocket=None):
    """One pass of the mini-batch rule, one step per ``batch_size`` rows of ``order`` (all, in
    order, if None), each batch's decisions taken with the weights before its step.

    Returns ``(loss, mistakes)`` as :func:`online_epoch`.
    """
    loss, mistakes = 0.0, 0.0
    for start in range(0, X.shape[0], batch_size):
        rows = slice(start, start + batch_size)  # rows in order are views, not copies
        rows = rows if order is None else order[rows]
        X_batch, Y_batch, s_batch = X[rows], Y[rows], s[rows]
        margins = Y_batch * (X_batch @ weights.W + weights.b)
        wrong = margins <= 0
        any_wrong = wrong.any(axis=1)
        changed = bool(any_wrong.any())
        if pocket is not None:  # the weights' run: the rows before the batch's first mistake
            pocket.extend(weights, int(any_wrong.argmax()) if changed else len(s_batch), changed)
        if changed:
            loss -= float(s_batch @ np.minimum(margins, 0).sum(axis=1))
            mistakes += float(s_batch @ any_wrong)
            weights.step(X_batch, np.where(wrong, Y_batch, 0) * (eta0 * s_batch)[:, None])
        weights.advance(float(s_batch.sum()))
    return loss, mistakes


def predicted_index(Z):
    """Index of the predicted class from decisions of shape (n_samples, n_outputs): ``z > 0``
    for one output, the arg-max otherwise."""
    return (Z[:, 0] > 0).astype(np.intp) if Z.shape[1] == 1 else Z.argmax(axis=1)


def logits(decision):
    """Decisions as one logit per class: ``[0, d]`` for two classes (softmax is the sigmoid)."""
    decision = np.asarray(decision, dtype=np.float64)
    return np.column_stack([np.zeros_like(decision), decision]) if decision.ndim == 1 else decision


def fit_temperature(decision, y_index, weights):
    r"""The temperature ``T`` minimising the weighted log-loss of ``softmax(logits(decision) / T)``
    against Platt's targets, :math:`(N_k + 1) / (N_k + 2)` for the true class ``k`` (``N_k``
    its weighted count) and the rest shared by the others; 0/1 targets would drive ``T`` to
    0 on data the perceptron separates.

    With the logits scaled to a largest magnitude of 1, the loss is convex in
    :math:`\gamma = 1 / T`, with :math:`L' = \sum_i w_i (p_i - t_i) \cdot z_i` and
    :math:`L'' = \sum_i w_i \mathrm{Var}_{p_i}(z_i)`: Newton's method, kept inside a bracket
    of the root of :math:`L'`, finds it in a few steps. ``decision`` is of shape (n_samples,)
    or (n_samples, n_classes), ``y_index`` the true classes' indices.
    """
    z = logits(decision)
    scale = float(np.abs(z).max())
    if not scale > 0:
        return 1.0  # all decisions 0: every temperature gives the same probabilities
    z = z / scale
    n_samples, n_classes = z.shape
    weights = np.asarray(weights, dtype=np.float64)
    true = z[np.arange(n_samples), y_index]
    smoothing = 1 / (np.bincount(y_index, weights=weights, minlength=n_classes)[y_index] + 2)
    z_target = (1 - smoothing) * true + smoothing * (z.sum(axis=1) - true) / (n_classes - 1)
    shifted, z_squared = z - z.max(axis=1, keepdims=True), z * z

    def derivatives(gamma):
        e = np.exp(gamma * shifted)
        total = e.sum(axis=1)
        mean = np.einsum("ij,ij->i", e, z) / total
        spread = np.einsum("ij,ij->i", e, z_squared) / total - mean**2
        return weights @ (mean - z_target), weights @ spread

    # From a guess of the size of Platt's logits; where a Newton step would leave the bracket,
    # bisect it (or double gamma while it has no upper end).
    gamma, low, high = math.log(n_samples + 1) / max(float(np.abs(z).mean()), 1e-30), 0.0, math.inf
    for _ in range(100):
        slope, curvature = derivatives(gamma)
        low, high = (gamma, high) if slope < 0 else (low, gamma)
        step = gamma - slope / curvature if curvature > 0 else math.inf
        if abs(step - gamma) <= 1e-9 * gamma:
            break
        if not low < step < high:
            step = (low + high) / 2 if high < math.inf else 2 * gamma
        gamma = min(max(step, 1e-30), 1e30)
    return min(scale / gamma, float(np.finfo(np.float64).max))
