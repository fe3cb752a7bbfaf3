"""Training speed and peak memory, side by side: skdnn's MLPRegressorFromScratch against
scikit-learn's MLPRegressor.

The configuration of the issue: float32 input of 50,000 x 100 (a generated regression
problem, inputs and target standardised), hidden layers (256, 128), adam, batch 256. In one
process: a warm-up fit of each, then ``--repeats`` rounds that each fit both estimators
(alternating which goes first) for ``--epochs`` epochs from the same initial weights (drawn
with the round's seed; skdnn takes them through ``warm_start``, scikit-learn through a
subclass that replaces its private draw). An epoch's time is the fit's wall time divided by
the epochs; the ratio is the median of the rounds' ratios. ``--memory`` adds the peak memory
of one fit of each (``tracemalloc``, in a fresh process: what the fit allocates on top of
its data).

Usage::

    cd benchmarks && python bench_regressor.py --memory
    cd benchmarks && python bench_regressor.py --quick        # 5,000 rows, a few seconds
    cd benchmarks && python bench_regressor.py --memory --wait-idle   # on a shared machine
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc

import _configs
import numpy as np
from sklearn.datasets import make_regression
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skdnn import MLPRegressorFromScratch

PARAMS = dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=256)


class _SameStartMLPRegressor(MLPRegressor):
    """scikit-learn's MLPRegressor starting from ``self.start_weights`` (benchmark only)."""

    start_weights = None

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        if self.start_weights is not None:
            self.coefs_ = [W.astype(dtype) for W in self.start_weights[0]]
            self.intercepts_ = [b.astype(dtype) for b in self.start_weights[1]]


def load(quick):
    X, y = make_regression(n_samples=5_000 if quick else 50_000, n_features=100,
                           n_informative=60, noise=10.0, random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, ((y - y.mean()) / y.std()).astype(np.float32)


def estimator(kind, epochs, seed=0, start=None):
    params = dict(PARAMS, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                  random_state=seed)
    if kind == "sklearn":
        est = _SameStartMLPRegressor(**params)
        est.start_weights = start
        return est
    est = MLPRegressorFromScratch(**params, warm_start=start is not None)
    if start is not None:
        est.coefs_, est.intercepts_ = (list(w) for w in start)
    return est


def fit_seconds(kind, X, y, epochs, seed=0, start=None):
    est = estimator(kind, epochs, seed, start)
    began = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - began
    assert est.n_iter_ == epochs
    return seconds / epochs, float(est.loss_)


def peak_memory_mb(kind, quick):
    cmd = [sys.executable, __file__, "--peak-of", kind] + (["--quick"] if quick else [])
    return float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[-1])


def _measure_peak(kind, quick, epochs):
    _configs.quiet()
    X, y = load(quick)
    est = estimator(kind, epochs)
    tracemalloc.start()
    est.fit(X, y)
    print(tracemalloc.get_traced_memory()[1] / 2**20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--wait-idle", action="store_true",
                        help="before each timed fit, wait until other processes leave the CPUs")
    parser.add_argument("--peak-of", choices=["skdnn", "sklearn"])
    args = parser.parse_args()
    if args.peak_of:
        return _measure_peak(args.peak_of, args.quick, args.epochs)
    _configs.quiet()
    X, y = load(args.quick)
    for kind in ("skdnn", "sklearn"):  # warm-up: imports, BLAS threads, caches
        fit_seconds(kind, X, y, 1)
    times, losses = {"skdnn": [], "sklearn": []}, {"skdnn": [], "sklearn": []}
    units = [X.shape[1], *PARAMS["hidden_layer_sizes"], 1]
    for round_ in range(args.repeats):
        start = _configs.initial_weights(units, round_)
        for kind in ("skdnn", "sklearn") if round_ % 2 == 0 else ("sklearn", "skdnn"):
            _configs.wait_for_idle(args.wait_idle)
            seconds, loss = fit_seconds(kind, X, y, args.epochs, round_, start)
            times[kind].append(seconds)
            losses[kind].append(loss)
    ratio = _configs.median([a / b for a, b in zip(times["skdnn"], times["sklearn"],
                                                    strict=True)])
    print(f"MLPRegressor, float32 {X.shape[0]:,} x {X.shape[1]}, {PARAMS}, {args.epochs} "
          f"epochs, {args.repeats} rounds")
    for kind in times:
        print(f"{kind:>8}: {_configs.median(times[kind]) * 1e3:8.1f} ms/epoch, "
              f"final loss {_configs.median(losses[kind]):.5f}")
    print(f"epoch time, skdnn / scikit-learn: {ratio:.2f}")
    if args.memory:
        peaks = {kind: peak_memory_mb(kind, args.quick) for kind in times}
        print(f"peak memory of a fit (MiB): skdnn {peaks['skdnn']:.1f}, "
              f"scikit-learn {peaks['sklearn']:.1f}")


if __name__ == "__main__":
    main()
