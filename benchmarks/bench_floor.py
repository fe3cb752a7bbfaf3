"""The matrix-multiply floor: the time of only the matrix products one training epoch must do.

For every mini-batch of ``m`` rows, a network with weight layers ``W_0 .. W_{L-1}`` needs

* forward: ``A_{l+1} = A_l W_l`` for every layer (``A_0`` the batch of inputs);
* backward: ``dW_l = A_l^T D_{l+1}`` for every layer, and ``D_l = D_{l+1} W_l^T`` for every
  layer but the first (nothing needs the gradient with respect to the inputs).

This script times exactly those products, in the configuration's dtype, into arrays allocated
beforehand (``np.matmul(..., out=)``; for a sparse input, SciPy's products on blocks of
columns, :func:`skdnn.nn.network.sparse_dot`, several times faster than one SciPy call for a
wide input), with the same BLAS and threads as the fits. No activation, loss, bias, shuffling
or optimiser step: an implementation at this floor would spend no time on anything else.

It also times :class:`LeanNumPy`, a whole epoch written as the leanest straight-line NumPy
code (dense ReLU networks only): the floor plus the element-wise passes and NumPy calls that
the maths needs. It is the yardstick for how close the engine comes to what NumPy allows.

Usage::

    python benchmarks/bench_floor.py [--quick] [--repeats N] [--configs NAME ...]
"""

from __future__ import annotations

import argparse
import time

import _configs
import numpy as np
import scipy.sparse as sp

from skdnn.nn.network import Network, sparse_dot


def _layer_units(config, X, n_classes):
    return [X.shape[1], *config.params["hidden_layer_sizes"], n_classes]


class Floor:
    """The matrix products of one epoch over ``X`` for one configuration, ready to time."""

    def __init__(self, config, X, n_classes):
        units = _layer_units(config, X, n_classes)
        dtype, self.batch_size = config.dtype, config.params["batch_size"]
        rng = np.random.default_rng(0)
        # Scaled so that activations keep magnitude ~1 through the layers (no inf, no denormal).
        self.W = [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype)
                  for i, o in zip(units[:-1], units[1:], strict=True)]
        self.A = [np.empty((self.batch_size, u), dtype) for u in units[1:]]  # A_1 .. A_L
        self.D = [rng.standard_normal((self.batch_size, u)).astype(dtype) for u in units[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.X = X

    def epoch(self):
        X, W, A, D, dW = self.X, self.W, self.A, self.D, self.dW
        n_layers = len(W)
        for start in range(0, X.shape[0], self.batch_size):
            a0 = X[start:start + self.batch_size]
            m = a0.shape[0]
            inputs = [a0] + [a[:m] for a in A[:-1]]
            for layer in range(n_layers):
                if sp.issparse(a0) and layer == 0:
                    sparse_dot(a0, W[0], out=A[0][:m])
                else:
                    np.matmul(inputs[layer], W[layer], out=A[layer][:m])
            for layer in range(n_layers - 1, -1, -1):
                delta = D[layer][:m]
                if sp.issparse(a0) and layer == 0:
                    sparse_dot(a0.T, delta, out=dW[0])
                else:
                    np.matmul(inputs[layer].T, delta, out=dW[layer])
                if layer > 0:
                    np.matmul(delta, W[layer].T, out=D[layer - 1][:m])

    def seconds(self, epochs=1):
        """Wall time of an epoch, averaged over ``epochs`` in a row (as a fit runs them: the
        first epoch after other work pays for cold caches and sleeping BLAS threads, which
        matters for small networks)."""
        start = time.perf_counter()
        for _ in range(epochs):
            self.epoch()
        return (time.perf_counter() - start) / epochs


#: Hyper-parameters that LeanNumPy fixes at scikit-learn's defaults.
_LEAN_DEFAULTS = {"activation": "relu", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
                  "momentum": 0.9, "nesterovs_momentum": True, "learning_rate": "constant"}


def lean_numpy(config, X, y):
    """A :class:`LeanNumPy` epoch for the configuration, or ``None`` where it does not apply:
    sparse input, two classes (the estimators then have one logistic output), or a setting
    other than the defaults it fixes (``_LEAN_DEFAULTS``)."""
    fixed = all(config.params.get(k, v) == v for k, v in _LEAN_DEFAULTS.items())
    if sp.issparse(X) or len(np.unique(y)) < 3 or not fixed:
        return None
    return LeanNumPy(config, X, y)


class LeanNumPy(Floor):
    """A whole training epoch as the leanest NumPy code: a yardstick for the engine.

    Everything a training epoch of the configuration must compute, as straight-line NumPy
    calls into buffers allocated beforehand: the shuffled batch gathered with ``take``; per
    layer the product, the bias and ReLU; the softmax cross-entropy and its gradient
    ``(p - y) / m``; per layer the weight and bias gradients and ``delta W^T * (a > 0)``; the
    L2 term; the optimiser's step on one flat vector (Adam with its moments kept scaled by
    ``1 / (1 - beta)``, which saves two passes; or Nesterov SGD). No validation, callbacks,
    sample weights, dropout, other activations or output layers, no checks: what is left is
    the cost of the element-wise passes and of the NumPy calls themselves, which no NumPy
    implementation of the same maths avoids. Dense input, ReLU, softmax only.
    """

    def __init__(self, config, X, y):
        classes, codes = np.unique(y, return_inverse=True)
        super().__init__(config, X, len(classes))
        p = config.params
        self.solver, self.alpha = p.get("solver", "adam"), p.get("alpha", 1e-4)
        self.lr = p.get("learning_rate_init", 1e-3)
        dtype = X.dtype
        self.Y = np.eye(len(classes), dtype=bool)[codes]
        self.Xb = np.empty((self.batch_size, X.shape[1]), dtype)
        self.Yb = np.empty((self.batch_size, len(classes)), bool)
        self.ones = np.ones(self.batch_size, dtype)
        self.zero_rows = [np.zeros(W.shape[1], dtype) for W in self.W[:-1]]
        # The engine's flat layout (weights, then biases), so that one vectorised step updates
        # everything and the test can compare the gradient with the engine's.
        layout = Network([W.shape[0] for W in self.W] + [self.W[-1].shape[1]], "relu",
                         "softmax", dtype=dtype)
        self.theta = layout.pack(self.W, [np.zeros(W.shape[1], dtype) for W in self.W])
        self.grad, self.tmp = np.zeros_like(self.theta), np.empty_like(self.theta)
        self.m, self.v = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.n_weights, self.t = layout.n_weights, 0
        self.W, self.b, _ = layout.unpack(self.theta)
        self.dW, self.db, _ = layout.unpack(self.grad)
        self.rng = np.random.default_rng(0)

    def epoch(self):
        """Train one epoch; returns its mean training loss (with the L2 term)."""
        order = self.rng.permutation(self.X.shape[0])
        loss = 0.0
        for start in range(0, self.X.shape[0], self.batch_size):
            rows = order[start:start + self.batch_size]
            loss += self.gradient(rows) * rows.size
            self._step()
        return loss / self.X.shape[0]

    def gradient(self, rows):
        """The objective on the batch ``rows`` (its mean loss plus the L2 term); its gradient
        is left in ``self.grad``."""
        W, b, A, D = self.W, self.b, self.A, self.D
        last, m = len(W) - 1, rows.size
        inputs = [self.X.take(rows, 0, self.Xb[:m], "clip")]
        Y = self.Y.take(rows, 0, self.Yb[:m], "clip")
        for layer in range(last + 1):
            z = np.matmul(inputs[layer], W[layer], out=A[layer][:m])
            z += b[layer]
            if layer < last:
                inputs.append(np.maximum(z, self.zero_rows[layer], out=z))
        # Row reductions down the columns of a transposed copy: NumPy reduces a few long rows
        # faster than many short ones (the engine does the same).
        z -= z.T.copy().max(axis=0)[:, None]
        y_dot_z = np.einsum("ij,ij->i", Y, z)
        np.exp(z, out=z)
        row_sums = z.T.copy().sum(axis=0)[:, None]
        loss = float(np.log(row_sums).sum() - y_dot_z.sum()) / m
        z /= row_sums
        z -= Y
        delta = np.multiply(z, 1.0 / m, out=z)
        for layer in range(last, -1, -1):
            np.matmul(inputs[layer].T, delta, out=self.dW[layer])
            np.matmul(self.ones[:m], delta, out=self.db[layer])
            if layer:
                delta_below = np.matmul(delta, W[layer].T, out=D[layer - 1][:m])
                mask = np.greater(inputs[layer], 0, out=inputs[layer])
                delta = np.multiply(delta_below, mask, out=delta_below)
        weights, tmp = self.theta[: self.n_weights], self.tmp[: self.n_weights]
        loss += 0.5 * self.alpha / m * float(np.dot(weights, weights))
        self.grad[: self.n_weights] += np.multiply(weights, self.alpha / m, out=tmp)
        return loss

    def _step(self):
        theta, grad, m, v, tmp = self.theta, self.grad, self.m, self.v, self.tmp
        # scikit-learn's defaults (lean_numpy checks that the configuration keeps them).
        if self.solver == "sgd":  # v <- 0.9 v - lr g; theta <- theta + 0.9 v - lr g
            np.multiply(grad, self.lr, out=tmp)
            m *= 0.9
            m -= tmp
            theta -= tmp
            theta += np.multiply(m, 0.9, out=tmp)
            return
        self.t += 1
        beta_1, beta_2 = 0.9, 0.999
        m *= beta_1
        m += grad  # m / (1 - beta_1)
        v *= beta_2
        v += np.multiply(grad, grad, out=tmp)  # v / (1 - beta_2)
        lr = self.lr * (1 - beta_2**self.t) ** 0.5 / (1 - beta_1**self.t)
        np.sqrt(v, out=tmp)
        tmp += 1e-8 / (1 - beta_2) ** 0.5
        np.divide(m, tmp, out=tmp)
        tmp *= lr * (1 - beta_1) / (1 - beta_2) ** 0.5
        theta -= tmp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", nargs="*", help=f"among {sorted(_configs.CONFIGS)}")
    args = parser.parse_args(argv)
    print(_configs.machine())
    print(f"\n{'configuration':<14}{'rows':>8}{'floor epoch (s)':>17}{'lean NumPy (s)':>16}")
    for config in _configs.select(args.configs):
        X, y, _, _ = config.load(args.quick)
        seconds = []
        for kind in (Floor(config, X, len(np.unique(y))), lean_numpy(config, X, y)):
            if kind is None:
                seconds.append(float("nan"))
                continue
            kind.epoch()  # warm-up
            seconds.append(_configs.median([kind.seconds() for _ in range(args.repeats)]))
        print(f"{config.name:<14}{X.shape[0]:>8}{seconds[0]:>17.4f}{seconds[1]:>16.4f}")


if __name__ == "__main__":
    main()
