"""Training speed, side by side: skdnn's MLPClassifierFromScratch against scikit-learn's
MLPClassifier, and both against the matrix-multiply floor.

For each configuration (see ``_configs.py``), in one process: a warm-up fit of each estimator,
then ``--repeats`` rounds that each fit both estimators (alternating which goes first) and
time the floor and the lean NumPy yardstick (``bench_floor.py``) over as many epochs as a fit
trains. Every fit trains a fixed number of epochs; an epoch's time is the fit's wall time
divided by the epochs. The table gives the median times, the ratios skdnn / scikit-learn,
skdnn / floor and skdnn / lean NumPy (each the median of the rounds' ratios), the final
training loss (``loss_``, the objective with its L2 term) and the accuracy on held-out rows of
each estimator, and with
``--memory`` the peak memory of a fit (``tracemalloc``, in a fresh process per fit: what the
fit allocates on top of the data it is given).

Round ``r`` fits both estimators from the same initial weights, drawn with the seed ``r``
(``_configs.initial_weights``), and with ``random_state=r`` for their batch orders. The losses
and accuracies are medians over the rounds, and the loss ratio is the median of the rounds'
ratios: two fits from one start differ only in the order of their batches.

Usage::

    python benchmarks/bench_fit.py --quick              # a few minutes
    python benchmarks/bench_fit.py --memory             # the full run, for the README table
    python benchmarks/bench_fit.py --configs adam-f32 adam-f64 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc

import _configs
import numpy as np
from bench_floor import Floor, lean_numpy

KINDS = ("skdnn", "sklearn")


def _fit_seconds(config, kind, X, y, epochs, seed=0, start=None):
    estimator = config.estimator(kind, epochs, seed, start)
    began = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - began
    assert estimator.n_iter_ == epochs, (kind, estimator.n_iter_)
    return seconds / epochs, estimator


def run(config, quick, repeats, wait_idle=False):
    """Time one configuration; returns a dict of its figures."""
    X, y, X_test, y_test = config.load(quick)
    epochs = config.quick_epochs if quick else config.epochs
    repeats = min(repeats, config.repeats or repeats)
    yardsticks = {"floor": Floor(config, X, len(np.unique(y))), "lean": lean_numpy(config, X, y)}
    yardsticks = {name: epoch for name, epoch in yardsticks.items() if epoch is not None}
    for kind in KINDS:  # warm-up: imports, BLAS threads, caches
        _fit_seconds(config, kind, X, y, 1)
    for epoch in yardsticks.values():
        epoch.epoch()
    times = {kind: [] for kind in (*KINDS, *yardsticks)}
    losses = {kind: [] for kind in KINDS}
    accuracies = {kind: [] for kind in KINDS}
    for round_ in range(repeats):
        start = config.start(X, y, seed=round_)
        for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:
            _configs.wait_for_idle(wait_idle)
            seconds, fitted = _fit_seconds(config, kind, X, y, epochs, seed=round_,
                                           start=start)
            times[kind].append(seconds)
            losses[kind].append(float(fitted.loss_))
            accuracies[kind].append(float(fitted.score(X_test, y_test)))
        for name, epoch in yardsticks.items():
            _configs.wait_for_idle(wait_idle)
            times[name].append(epoch.seconds(epochs))
    result = {"config": config.name, "rows": X.shape[0], "features": X.shape[1],
              "epochs": epochs, "repeats": repeats, "times": times, "losses": losses,
              "accuracies": accuracies}
    for kind in (*KINDS, "floor", "lean"):
        result[f"{kind}_epoch_s"] = _configs.median(times[kind]) if times.get(kind) else None
    for kind in KINDS:
        result[f"{kind}_loss"] = _configs.median(losses[kind])
        result[f"{kind}_accuracy"] = _configs.median(accuracies[kind])
    result["loss_ratio"] = _paired_ratio(losses["skdnn"], losses["sklearn"])
    # Time ratios round by round too: a round's fits and yardsticks run back to back, so a slow
    # stretch of the shared machine slows all of them, and their ratio stays put.
    for a, b in [("skdnn", "sklearn"), ("skdnn", "floor"), ("sklearn", "floor"),
                 ("lean", "floor"), ("skdnn", "lean")]:
        if times.get(a) and times.get(b):  # no lean yardstick for sparse input
            result[f"{a}/{b}"] = _paired_ratio(times[a], times[b])
    return result


def _paired_ratio(numerators, denominators):
    """The median over rounds of each round's ratio."""
    return _configs.median([a / b for a, b in zip(numerators, denominators, strict=True)])


def peak_memory_mb(config, kind, quick):
    """Peak memory of one fit in a fresh process, in MiB above the loaded data."""
    cmd = [sys.executable, __file__, "--peak-of", config.name, kind]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def _measure_peak(name, kind, quick):
    _configs.quiet()
    config = _configs.CONFIGS[name]
    X, y, _, _ = config.load(quick)
    epochs = config.quick_epochs if quick else config.epochs
    estimator = config.estimator(kind, epochs)
    tracemalloc.start()
    estimator.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    print(peak / 2**20)


def _table(results):
    head = ("| configuration | rows x features | epochs | skdnn ms/epoch | sklearn ms/epoch "
            "| floor ms/epoch | lean NumPy ms/epoch | skdnn / sklearn | skdnn / floor "
            "| sklearn / floor | lean / floor | skdnn / lean "
            "| loss skdnn | loss sklearn | loss ratio | accuracy skdnn | accuracy sklearn |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in results:
        s, k, f, lean = (r[f"{kind}_epoch_s"] for kind in ("skdnn", "sklearn", "floor", "lean"))
        lean_cells = ((f"{lean * 1e3:.4g}", f"{r['lean/floor']:.2f}", f"{r['skdnn/lean']:.2f}")
                      if lean else ("n/a",) * 3)
        lines.append(
            f"| {r['config']} | {r['rows']:,} x {r['features']:,} | {r['epochs']} "
            f"| {s * 1e3:.4g} | {k * 1e3:.4g} | {f * 1e3:.4g} | {lean_cells[0]} "
            f"| **{r['skdnn/sklearn']:.2f}** | **{r['skdnn/floor']:.2f}** "
            f"| {r['sklearn/floor']:.2f} | {lean_cells[1]} "
            f"| {lean_cells[2]} "
            f"| {r['skdnn_loss']:.4f} | {r['sklearn_loss']:.4f} "
            f"| {r['loss_ratio']:.3f} "
            f"| {r['skdnn_accuracy']:.4f} | {r['sklearn_accuracy']:.4f} |")
    if any("skdnn_peak_mb" in r for r in results):
        lines += ["", "| configuration | peak MiB skdnn | peak MiB sklearn | skdnn / sklearn |",
                  "| --- | --- | --- | --- |"]
        for r in results:
            a, b = r["skdnn_peak_mb"], r["sklearn_peak_mb"]
            lines.append(f"| {r['config']} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer epochs: a few minutes in all")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per configuration (default 7, quick 3)")
    parser.add_argument("--configs", nargs="*", help=f"among {sorted(_configs.CONFIGS)}")
    parser.add_argument("--memory", action="store_true",
                        help="also measure the peak memory of a fit (a process per fit)")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--wait-idle", action="store_true",
                        help="before each timed fit, wait until other processes leave the CPUs "
                             "idle (for a shared machine)")
    parser.add_argument("--peak-of", nargs=2, metavar=("CONFIG", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_of:
        return _measure_peak(*args.peak_of, args.quick)
    _configs.quiet()
    repeats = args.repeats or (3 if args.quick else 7)
    print(_configs.machine(), flush=True)
    results = []
    for config in _configs.select(args.configs):
        started = time.perf_counter()
        result = run(config, args.quick, repeats, args.wait_idle)
        if args.memory:
            for kind in KINDS:
                result[f"{kind}_peak_mb"] = peak_memory_mb(config, kind, args.quick)
        results.append(result)
        print(f"{config.name}: skdnn {result['skdnn_epoch_s']:.4f} s/epoch, sklearn "
              f"{result['sklearn_epoch_s']:.4f}, floor {result['floor_epoch_s']:.4f}, lean "
              f"{result['lean_epoch_s'] or float('nan'):.4f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print(_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
