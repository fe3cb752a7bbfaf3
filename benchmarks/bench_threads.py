"""BLAS threads of training: skdnn's epoch time on one OpenBLAS thread and on all of them.

For each configuration of ``_configs.py``, in one process: a warm-up fit, then ``--repeats``
rounds that each fit ``MLPClassifierFromScratch`` once under ``threadpoolctl``'s limit of one
BLAS thread and once with every thread the machine has, alternating which goes first. Both
fits of a round start from the same weights (``_configs.initial_weights``) and shuffle alike,
so they do the same arithmetic. The MLP's mini-batch training keeps the BLAS threads it
finds, so the limit set around the whole fit is the one it trains under. Prints each
configuration's median epoch times and the median of the rounds' ratios, one thread / all
threads.

Usage::

    python benchmarks/bench_threads.py
    python benchmarks/bench_threads.py --configs adam-f32 digits-f64 --repeats 7
"""

from __future__ import annotations

import argparse
import os
import time

import _configs
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def _epoch_seconds(config, X, y, threads, seed, epochs):
    estimator = config.estimator("skdnn", epochs, seed, config.start(X, y, seed))
    with threadpool_limits(limits=threads, user_api="blas"):
        began = time.perf_counter()
        estimator.fit(X, y)
        return (time.perf_counter() - began) / epochs


def _product_seconds(shapes, dtype, threads, repeats):
    """The fastest and the median time of one batch's matrix products (forward ``a W``,
    backward ``a^T delta`` and ``delta W^T``) on ``threads`` BLAS threads."""
    rng = np.random.default_rng(0)
    operands = [(rng.random(left, dtype=dtype), rng.random(right, dtype=dtype))
                for left, right in shapes]
    seconds = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats):
            began = time.perf_counter()
            for left, right in operands:
                left @ right
            seconds.append(time.perf_counter() - began)
    return min(seconds), float(np.median(seconds))


def _batch_shapes(config, n_features, n_outputs):
    """The dense products of one mini-batch of ``config``'s network."""
    batch = config.params["batch_size"]
    units = [n_features, *config.params["hidden_layer_sizes"], n_outputs]
    shapes = []
    for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
        shapes += [((batch, fan_in), (fan_in, fan_out)),      # forward a W
                   ((fan_in, batch), (batch, fan_out))]       # backward a^T delta
        if fan_in != n_features:
            shapes.append(((batch, fan_out), (fan_out, fan_in)))  # backward delta W^T
    return shapes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--product-repeats", type=int, default=500)
    parser.add_argument("--no-fits", action="store_true", help="time the products only")
    args = parser.parse_args()
    _configs.quiet()
    every = max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    blas = next(info for info in threadpool_info() if info["user_api"] == "blas")
    print(f"{os.cpu_count()} CPUs; BLAS: {blas['internal_api']} {blas['version']} "
          f"({blas.get('threading_layer')}), {every} threads")
    print(f"\nOne batch's products, {args.product_repeats} times each way, alternating "
          "(ms per batch: fastest, median):\n")
    print(f"| configuration | 1 thread | {every} threads | fastest 1 / {every} | "
          f"median 1 / {every} |")
    print("| --- | --- | --- | --- | --- |")
    configs = _configs.select(args.configs)
    for config in configs:
        if config.data == "sparse":
            continue  # the first layer's products are SciPy's, not BLAS's
        X, y, _, _ = config.load(False)
        shapes = _batch_shapes(config, X.shape[1], len(np.unique(y)))
        runs = {1: [], every: []}
        for round_ in range(10):
            for threads in ((1, every) if round_ % 2 == 0 else (every, 1)):
                runs[threads].append(_product_seconds(shapes, config.dtype, threads,
                                                      args.product_repeats // 10))
        fast = {threads: min(r[0] for r in kept) for threads, kept in runs.items()}
        median = {threads: float(np.median([r[1] for r in kept])) for threads, kept in runs.items()}
        print(f"| {config.name} | {1e3 * fast[1]:.3g}, {1e3 * median[1]:.3g} | "
              f"{1e3 * fast[every]:.3g}, {1e3 * median[every]:.3g} | "
              f"{fast[1] / fast[every]:.2f} | {median[1] / median[every]:.2f} |", flush=True)
    if args.no_fits:
        return
    print(f"\nWhole fits, {args.repeats} rounds (ms per epoch, medians):\n")
    print(f"| configuration | 1 thread | {every} threads | 1 / {every} |")
    print("| --- | --- | --- | --- |")
    for config in configs:
        X, y, _, _ = config.load(False)
        epochs = config.epochs if config.data == "digits" else 1
        _epoch_seconds(config, X, y, every, 0, 1)  # warm-up
        times, ratios = {1: [], every: []}, []
        for seed in range(min(args.repeats, config.repeats or args.repeats)):
            order = (1, every) if seed % 2 == 0 else (every, 1)
            this = {threads: _epoch_seconds(config, X, y, threads, seed, epochs)
                    for threads in order}
            for threads, seconds in this.items():
                times[threads].append(seconds)
            ratios.append(this[1] / this[every])
        print(f"| {config.name} | {1e3 * np.median(times[1]):.4g} | "
              f"{1e3 * np.median(times[every]):.4g} | {np.median(ratios):.2f} |", flush=True)


if __name__ == "__main__":
    main()
