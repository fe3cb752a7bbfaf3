r"""The perceptron rule: one epoch of the online rule, one of the mini-batch rule, Gallant's
pocket, and the temperature that turns decisions into probabilities.

Notation: inputs ``X`` of shape (n_samples, n_features), targets ``Y`` in {-1, +1} of shape
(n_samples, n_outputs) (one output for two classes; one per class otherwise, one-vs-rest),
sample weights ``s``, weights ``W`` of shape (n_features, n_outputs) and biases ``b``.

Notes
-----
The perceptron computes ``z = x . w + b`` and says "yes" when ``z > 0`` (a step). Sample ``i``
is a *mistake* for output ``k`` when its margin is not positive,
:math:`m_{ik} = y_{ik} (x_i \cdot w_k + b_k) \le 0`; a point on the line is a mistake for
either class. Rosenblatt's rule corrects each mistake:

.. math:: w_k \leftarrow w_k + \eta_0 \, s_i \, y_{ik} \, x_i, \qquad
          b_k \leftarrow b_k + \eta_0 \, s_i \, y_{ik}.

It is stochastic gradient descent on the perceptron loss :math:`\max(0, -m_{ik})`, whose sum
over an epoch (before each update) is the progress measure of the stopping rule. The
mini-batch rule takes one step along the sum of the updates of a batch's mistakes; with the
whole training set as one batch it is Duda and Hart's batch perceptron.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


class Weights:
    r"""The perceptron's weights, the penalty, and what the averaged perceptron needs.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_outputs)
    b : ndarray of shape (n_outputs,)
    fit_intercept : bool
        Whether the rule moves ``b``.
    l2, l1 : float
        Per-sample shrinkage of the penalty: ``eta0 alpha (1 - l1_ratio)`` and
        ``eta0 alpha l1_ratio`` (0 without a penalty). ``b`` is not penalised.
    averaged : bool
        Keep the sums that :meth:`average` needs.

    Notes
    -----
    Each presentation of a sample shrinks the weights, as in scikit-learn's SGD:
    :math:`W \leftarrow S_{l_1}((1 - l_2) W)` with the soft threshold
    :math:`S_t(w) = \mathrm{sign}(w) \max(|w| - t, 0)`. A run of ``n`` presentations shrinks
    them once, by :math:`(1 - l_2)^n` and :math:`S_{n l_1}`, after the run's decisions are
    taken (lazy regularisation).

    The average of the weights after each of ``T`` presentations is kept without touching
    every presentation: if change ``u`` of the weights, :math:`\Delta_u`, comes after
    :math:`t_u` presentations, then :math:`\frac{1}{T} \sum_t W_t = W_T - U / T` with
    :math:`U = \sum_u t_u \Delta_u` (the weights before :math:`t_u` lacked :math:`\Delta_u`).
    """

    def __init__(self, W, b, fit_intercept=True, l2=0.0, l1=0.0, averaged=False):
        self.W, self.b, self.fit_intercept = W, b, fit_intercept
        self.l2, self.l1 = l2, l1
        self.U = [np.zeros_like(W), np.zeros_like(b)] if averaged else None
        self.count = 0

    def step(self, X_rows, G):
        """Add ``X_rows.T @ G`` to ``W`` and (with ``fit_intercept``) the sums of ``G`` to
        ``b``: the updates of samples ``X_rows``, one row of ``G`` each."""
        dW, db = X_rows.T @ G, G.sum(axis=0)
        self.W += dW
        if self.fit_intercept:
            self.b += db
        if self.U is not None and self.count:
            self.U[0] += dW * self.count
            self.U[1] += db * self.count if self.fit_intercept else 0

    def record(self, X_rows, G_times_t):
        """Add to ``U`` updates ``X_rows.T @ G`` that came after ``t`` presentations."""
        if self.U is not None and X_rows.shape[0]:
            self.U[0] += X_rows.T @ G_times_t
            if self.fit_intercept:
                self.U[1] += G_times_t.sum(axis=0)

    def advance(self, n):
        """Count presentations of total sample weight ``n`` after which ``W`` stands as it is
        now, then shrink it."""
        self.count += n
        if n and (self.l2 or self.l1):
            shrunk = self.W * max(0.0, 1.0 - self.l2) ** n
            if self.l1:
                shrunk = np.sign(shrunk) * np.maximum(np.abs(shrunk) - n * self.l1, 0)
            if self.U is not None:
                self.U[0] += (shrunk - self.W) * self.count
            self.W[...] = shrunk

    def average(self):
        r"""Mean weights over the presentations, :math:`\frac{1}{T} \sum_t (W_t, b_t)`
        (Freund and Schapire's averaged perceptron); the current ones before any."""
        if self.U is None or self.count == 0:
            return self.W.copy(), self.b.copy()
        return self.W - self.U[0] / self.count, self.b - self.U[1] / self.count


class Pocket:
    """Gallant's pocket with ratchet: the best-scoring weights seen so far.

    Parameters
    ----------
    score : callable ``(W, b) -> float``
        Accuracy of weights (on the training data, or the validation data).

    Notes
    -----
    The current weights' *run* is the number of samples they have classified right since
    their last change. Scoring costs a pass over the data, so the online rule scores weights
    only when their run outgrows the pocket's (at most once per weights), and pockets them
    if they score higher (the ratchet). Every epoch also offers its final weights.
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

    def extend(self, weights, n):
        """``n`` more right answers of the current weights."""
        self.run += n
        if self.current:  # the pocket holds the current weights: its run grows with them
            self.pocket_run = self.run
        elif self.run > self.pocket_run and not self.scored:
            self.scored, before = True, self.best_score
            self.offer(weights.W, weights.b)
            if self.best_score > before:
                self.pocket_run, self.current = self.run, True

    def reset(self):
        """The weights changed: a new run starts."""
        self.run, self.scored, self.current = 0, False, False


def online_epoch(weights, X, Y, s, eta0, order, pocket=None):
    """One pass of the online rule over the rows ``order`` of ``X``.

    The weights change only at mistakes, so the decisions of a block of upcoming samples are
    computed in one product; the epoch jumps to the block's first mistake, updates, and goes
    on from the sample after it. That is exactly the one-sample-at-a-time rule, at a cost that
    grows with the number of mistakes. A block doubles (up to 4096 rows) while it holds no
    mistake, and restarts at twice the distance to the last one.

    Returns
    -------
    loss : float
        Weighted perceptron loss of the epoch, each sample's before its update.
    mistakes : float
        Weight of the samples that were a mistake for at least one output.
    """
    X, Y, s = X[order], Y[order], s[order]  # this epoch's order; blocks are then views
    seen = np.concatenate([[0.0], np.cumsum(s)]).tolist()  # weight of the rows before each
    n_samples, start, block, mistakes = len(order), 0, 32, 0
    # Per mistake: its margins (for the loss), its update, and the presentations before it.
    lost, steps = np.empty((2, n_samples, Y.shape[1]), dtype=Y.dtype)
    rows, when = np.empty(n_samples, dtype=np.intp), np.empty(n_samples)
    while start < n_samples:
        stop = min(start + block, n_samples)
        margins = Y[start:stop] * (X[start:stop] @ weights.W + weights.b)
        any_wrong = (margins <= 0).any(axis=1)
        first = int(any_wrong.argmax())
        if not any_wrong[first]:  # a block without mistakes
            weights.advance(seen[stop] - seen[start])
            if pocket is not None:
                pocket.extend(weights, stop - start)
            start, block = stop, min(2 * block, 4096)
            continue
        i = start + first
        weights.advance(seen[i] - seen[start])
        if pocket is not None:
            pocket.extend(weights, first)
            pocket.reset()
        lost[mistakes] = margins[first]
        step = steps[mistakes]
        np.multiply(Y[i], margins[first] <= 0, out=step)
        step *= eta0 * s[i]
        weights.W += X[i : i + 1].T @ step[None, :] if sp.issparse(X) else X[i][:, None] * step
        weights.b += step if weights.fit_intercept else 0
        rows[mistakes], when[mistakes] = i, weights.count
        weights.advance(seen[i + 1] - seen[i])
        mistakes += 1
        start, block = i + 1, max(32, 2 * first)
    weights.record(X[rows[:mistakes]], steps[:mistakes] * when[:mistakes, None])
    weight = s[rows[:mistakes]]
    return -float(weight @ np.minimum(lost[:mistakes], 0).sum(axis=1)), float(weight.sum())


def minibatch_epoch(weights, X, Y, s, eta0, order, batch_size, pocket=None):
    """One pass of the mini-batch rule: one step per batch of ``batch_size`` rows of
    ``order``.

    Returns ``(loss, mistakes)`` as :func:`online_epoch`, each batch's decisions taken with
    the weights before its step.
    """
    loss, mistakes = 0.0, 0.0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        X_batch, Y_batch, s_batch = X[rows], Y[rows], s[rows]
        margins = Y_batch * (X_batch @ weights.W + weights.b)
        wrong = margins <= 0
        any_wrong = wrong.any(axis=1)
        if pocket is not None:  # the weights' run: the rows before the batch's first mistake
            pocket.extend(weights, int(any_wrong.argmax()) if any_wrong.any() else len(rows))
        if any_wrong.any():
            if pocket is not None:
                pocket.reset()
            loss -= float(s_batch @ np.minimum(margins, 0).sum(axis=1))
            mistakes += float(s_batch @ any_wrong)
            G = np.where(wrong, Y_batch, 0)
            G *= (eta0 * s_batch)[:, None]
            weights.step(X_batch, G)
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
    r"""The temperature ``T`` minimising the weighted log-loss of ``softmax(logits / T)``.

    Parameters
    ----------
    decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
    y_index : ndarray of shape (n_samples,) of int
    weights : ndarray of shape (n_samples,)

    Returns
    -------
    float

    Notes
    -----
    The targets are Platt's: :math:`(N_k + 1) / (N_k + 2)` for the true class ``k`` and the
    rest, :math:`1 / (N_k + 2)`, shared by the other classes (``N_k`` the weighted count of
    class ``k``). Plain 0/1 targets would drive ``T`` to 0 on data the perceptron separates.
    With the logits scaled to a largest magnitude of 1, the loss is convex in
    :math:`\gamma = 1 / T`, with derivatives
    :math:`L' = \sum_i w_i (p_i - t_i) \cdot z_i` and
    :math:`L'' = \sum_i w_i \mathrm{Var}_{p_i}(z_i)`: Newton's method, kept inside a
    bracket of the root of :math:`L'` (and bisecting when it would leave it), finds it in a
    few steps.
    """
    z = logits(decision)
    scale = float(np.abs(z).max())
    if not scale > 0:
        return 1.0  # all decisions 0: every temperature gives the same probabilities
    z = z / scale
    n_samples, n_classes = z.shape
    weights = np.asarray(weights, dtype=np.float64)
    counts = np.bincount(y_index, weights=weights, minlength=n_classes)
    smoothing = 1 / (counts[y_index] + 2)
    z_target = (smoothing / (n_classes - 1)) * (z.sum(axis=1) - z[np.arange(n_samples), y_index])
    z_target += (1 - smoothing) * z[np.arange(n_samples), y_index]

    shifted, z_squared = z - z.max(axis=1, keepdims=True), z * z

    def derivatives(gamma):
        e = np.exp(gamma * shifted)
        total = e.sum(axis=1)
        mean = np.einsum("ij,ij->i", e, z) / total
        spread = np.einsum("ij,ij->i", e, z_squared) / total - mean**2
        return weights @ (mean - z_target), weights @ spread

    # Newton's method from a guess of the size of Platt's logits, kept inside a bracket of
    # the root of L' (bisecting, or doubling while there is no upper end, where a step
    # would leave it).
    gamma = math.log(n_samples + 1) / max(float(np.abs(z).mean()), 1e-30)
    low, high = 0.0, math.inf
    for _ in range(200):
        slope, curvature = derivatives(gamma)
        low, high = (gamma, high) if slope < 0 else (low, gamma)
        step = gamma - slope / curvature if curvature > 0 else math.inf
        if not low < step < high:
            step = (low + high) / 2 if high < math.inf else 2 * gamma
        step = min(max(step, 1e-30), 1e30)
        if abs(step - gamma) <= 1e-12 * gamma:
            break
        gamma = step
    return min(scale / gamma, float(np.finfo(np.float64).max))
