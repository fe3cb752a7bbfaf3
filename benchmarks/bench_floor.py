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

Usage::

    python benchmarks/bench_floor.py [--quick] [--repeats N] [--configs NAME ...]
"""

from __future__ import annotations

import argparse
import time

import _configs
import numpy as np
import scipy.sparse as sp

from skdnn.nn.network import sparse_dot


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

    def seconds(self):
        """Wall time of one epoch."""
        start = time.perf_counter()
        self.epoch()
        return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", nargs="*", help=f"among {sorted(_configs.CONFIGS)}")
    args = parser.parse_args(argv)
    print(_configs.machine())
    print(f"\n{'configuration':<14}{'rows':>8}{'floor epoch (s)':>17}")
    for config in _configs.select(args.configs):
        X, y, _, _ = config.load(args.quick)
        floor = Floor(config, X, len(np.unique(y)))
        floor.epoch()  # warm-up
        seconds = _configs.median([floor.seconds() for _ in range(args.repeats)])
        print(f"{config.name:<14}{X.shape[0]:>8}{seconds:>17.4f}")


if __name__ == "__main__":
    main()
