"""Prediction speed, side by side: ``predict_proba`` of skdnn's MLPClassifierFromScratch and of
scikit-learn's MLPClassifier, trained alike (see ``_configs.py``).

Two figures per configuration, each the median of alternating rounds after a warm-up:

* throughput: ``predict_proba`` on 5,000 rows, what one LIME explanation asks the model for;
* latency: ``predict_proba`` on a single row (median over many calls);

and the peak memory (``tracemalloc``, to which NumPy reports its arrays) of one
``predict_proba`` of the batch. skdnn predicts in blocks of rows (at most 64 MiB of hidden
activations, or scikit-learn's ``working_memory`` if smaller); scikit-learn's MLP computes
every layer for every row at once. ``--rows 400000 --configs wide-f32`` shows the difference.

Usage::

    python benchmarks/bench_predict.py [--quick] [--repeats N] [--rows N] [--configs NAME ...]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import _configs
import numpy as np

KINDS = ("skdnn", "sklearn")
DEFAULT_CONFIGS = ["adam-f32", "adam-f64", "digits-f64", "sparse-f64"]


def _seconds(f, calls):
    start = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - start) / calls


def _peak_bytes(f):
    """The peak of memory allocated while ``f()`` runs, in bytes."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(config, quick, repeats, wait_idle=False, rows=5_000, latency_calls=200):
    X, y, X_test, _ = config.load(quick)
    models = {kind: config.estimator(kind, 1).fit(X, y) for kind in KINDS}
    batch = X_test if X_test.shape[0] >= rows else X
    batch = batch[np.arange(rows) % batch.shape[0]]
    one = batch[:1]
    for model in models.values():  # warm-up
        model.predict_proba(batch)
        model.predict_proba(one)
    times = {f"{kind}_{what}": [] for kind in KINDS for what in ("batch", "row")}
    for round_ in range(repeats):
        for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:
            _configs.wait_for_idle(wait_idle)
            proba = models[kind].predict_proba
            times[f"{kind}_batch"].append(_seconds(lambda p=proba: p(batch), 3))
            times[f"{kind}_row"].append(_seconds(lambda p=proba: p(one), latency_calls))
    result = {"config": config.name, "rows": rows}
    for key, values in times.items():
        result[key] = _configs.median(values)
    for kind in KINDS:
        result[f"{kind}_peak"] = _peak_bytes(lambda p=models[kind].predict_proba: p(batch))
    close = np.abs(models["skdnn"].predict_proba(batch).sum(axis=1) - 1).max()
    assert close < 1e-4, close
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller training data")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 15, quick 5)")
    parser.add_argument("--rows", type=int, default=5_000,
                        help="rows of the throughput batch (default 5,000)")
    parser.add_argument("--configs", nargs="*", default=DEFAULT_CONFIGS,
                        help=f"among {sorted(_configs.CONFIGS)}")
    parser.add_argument("--wait-idle", action="store_true",
                        help="before each timed round, wait until other processes leave the "
                             "CPUs idle (for a shared machine)")
    args = parser.parse_args(argv)
    _configs.quiet()
    repeats = args.repeats or (5 if args.quick else 15)
    print(_configs.machine(), flush=True)
    rows = f"{args.rows:,} rows"
    lines = [f"| configuration | {rows} skdnn (ms) | {rows} sklearn (ms) "
             "| skdnn / sklearn | 1 row skdnn (us) | 1 row sklearn (us) | skdnn / sklearn "
             f"| {rows} peak MiB skdnn | sklearn |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for config in _configs.select(args.configs):
        r = run(config, args.quick, repeats, args.wait_idle, rows=args.rows)
        sb, kb, sr, kr = r["skdnn_batch"], r["sklearn_batch"], r["skdnn_row"], r["sklearn_row"]
        lines.append(f"| {config.name} | {sb * 1e3:.2f} | {kb * 1e3:.2f} | **{sb / kb:.2f}** "
                     f"| {sr * 1e6:.0f} | {kr * 1e6:.0f} | **{sr / kr:.2f}** "
                     f"| {r['skdnn_peak'] / 2**20:.0f} | {r['sklearn_peak'] / 2**20:.0f} |")
        print(lines[-1], flush=True)
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
