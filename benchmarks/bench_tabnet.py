"""TabNet, side by side: skdnn's ``TabNetClassifier`` / ``TabNetRegressor`` against
``pytorch-tabnet`` (when installed; otherwise skdnn runs alone and the script says so).

Both get the same architecture (pytorch-tabnet's defaults: ``n_d=n_a=8``, ``n_steps=3``,
``gamma=1.3``, two shared and two independent GLU layers, sparsemax, ``lambda_sparse=1e-3``,
``momentum=0.02``), the same batch and ghost-batch sizes, Adam at 0.02 with the gradient
clipped to norm 1, and the same fixed number of epochs (no early stopping), on the same
split, in one process, alternating which library goes first; torch runs on 2 threads.

Data: a 10,000-row ``make_classification`` with 8 informative columns among 50 (the first
8), Friedman #1 (10,000 rows, 5 informative columns among 30, noise 1), breast cancer and
digits; a quarter of each is the test set, per seed. The table gives each library's fit
time, their ratio (skdnn / pytorch-tabnet; the geometric mean below it), the test accuracy
or R^2 (the mean over the seeds), and how many informative columns are in the top of
``feature_importances_`` (8 of the synthetic problem's 8 in its top 8; Friedman's 5 in its
top 5; mean over the seeds).

``--defaults`` instead fits skdnn at its defaults (early stopping "auto") on each data set and
prints the epochs it ran, whether it stopped by itself, and the test score: the measurement
behind the defaults of ``max_iter`` and ``early_stopping``.

Usage::

    python benchmarks/bench_tabnet.py                    # the table of benchmarks/README.md
    python benchmarks/bench_tabnet.py --seeds 0 --scale 0.2
    python benchmarks/bench_tabnet.py --defaults
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from skdnn import TabNetClassifier, TabNetRegressor

# torch's OpenMP threads spin while they wait for work; on a machine shared with other
# processes that makes a 2-thread torch 100 times slower (measured: 9 s instead of 52 ms per
# batch). Waiting passively is what a fair comparison on a busy machine needs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    from pytorch_tabnet.tab_model import TabNetClassifier as TorchClassifier
    from pytorch_tabnet.tab_model import TabNetRegressor as TorchRegressor
except ImportError:  # skdnn alone
    torch = None

ARCHITECTURE = dict(n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                    lambda_sparse=1e-3, momentum=0.02, mask_type="sparsemax")


def datasets():
    """Name -> (X, y, task, batch_size, virtual_batch_size, epochs, informative columns)."""
    X_syn, y_syn = make_classification(n_samples=10_000, n_features=50, n_informative=8,
                                       n_redundant=0, shuffle=False, random_state=0)
    X_fr, y_fr = make_friedman1(n_samples=10_000, n_features=30, noise=1.0, random_state=0)
    return {
        "synthetic 10000x50": (X_syn, y_syn, "classification", 1024, 128, 50, range(8)),
        "Friedman #1 10000x30": (X_fr, y_fr, "regression", 1024, 128, 50, range(5)),
        "breast cancer": (*load_breast_cancer(return_X_y=True), "classification", 128, 64,
                          100, None),
        "digits": (*load_digits(return_X_y=True), "classification", 256, 128, 100, None),
    }


def fit_skdnn(X, y, task, batch_size, vbs, epochs, seed):
    cls = TabNetClassifier if task == "classification" else TabNetRegressor
    model = cls(**ARCHITECTURE, batch_size=batch_size, virtual_batch_size=vbs,
                learning_rate_init=0.02, max_iter=epochs, early_stopping=False,
                n_iter_no_change=epochs, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - start


def fit_torch(X, y, task, batch_size, vbs, epochs, seed):
    cls = TorchClassifier if task == "classification" else TorchRegressor
    model = cls(**ARCHITECTURE, seed=seed, verbose=0, device_name="cpu",
                optimizer_params=dict(lr=0.02))
    target = y if task == "classification" else y.reshape(-1, 1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X.astype(np.float32), target, max_epochs=epochs, patience=0,
                  batch_size=batch_size, virtual_batch_size=vbs, drop_last=False)
    return model, time.perf_counter() - start


def evaluate(model, X, y, task, informative, torch_model=False):
    X = X.astype(np.float32) if torch_model else X
    pred = model.predict(X)
    score = (accuracy_score(y, pred) if task == "classification"
             else r2_score(y, np.ravel(pred)))
    found = None
    if informative is not None:
        k = len(informative)
        top = np.argsort(model.feature_importances_)[::-1][:k]
        found = len(set(top.tolist()) & set(informative))
    return score, found


def side_by_side(seeds, scale):
    rows = []
    for name, (X, y, task, bs, vbs, epochs, informative) in datasets().items():
        epochs = max(1, round(epochs * scale))
        times = {"skdnn": [], "torch": []}
        scores = {"skdnn": [], "torch": []}
        found = {"skdnn": [], "torch": []}
        for round_, seed in enumerate(seeds):
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.25, random_state=seed,
                stratify=y if task == "classification" else None)
            order = ["skdnn", "torch"] if round_ % 2 == 0 else ["torch", "skdnn"]
            for lib in order:
                if lib == "torch" and torch is None:
                    continue
                fit = fit_skdnn if lib == "skdnn" else fit_torch
                model, seconds = fit(X_tr, y_tr, task, bs, vbs, epochs, seed)
                score, top = evaluate(model, X_te, y_te, task, informative, lib == "torch")
                times[lib].append(seconds)
                scores[lib].append(score)
                found[lib].append(top)
        rows.append((name, task, epochs, bs, vbs, times, scores, found, informative))
        print_row(rows[-1])
    return rows


def _mean(values):
    return float(np.mean(values)) if values else float("nan")


def print_row(row):
    name, task, epochs, bs, vbs, times, scores, found, informative = row
    metric = "accuracy" if task == "classification" else "R^2"
    ratio = _mean(times["skdnn"]) / _mean(times["torch"]) if times["torch"] else float("nan")
    top = "" if informative is None else " | ".join(
        f"{_mean(found[lib]):.1f} of {len(informative)}" if found[lib] else "-"
        for lib in ("skdnn", "torch"))
    print(f"| {name} | {epochs} x {bs}/{vbs} | {_mean(times['skdnn']):.1f} s | "
          f"{_mean(times['torch']):.1f} s | {ratio:.2f} | {metric} "
          f"{_mean(scores['skdnn']):.4f} | {_mean(scores['torch']):.4f} | {top or '- | -'} |",
          flush=True)


def defaults(seeds):
    """skdnn at its defaults: epochs run, stopped by itself or not, test score."""
    print("| data set | rows | epochs run (seeds) | stopped by itself | test score |")
    print("| --- | ---: | --- | --- | ---: |")
    for name, (X, y, task, *_rest) in datasets().items():
        cls = TabNetClassifier if task == "classification" else TabNetRegressor
        epochs, stopped, scores = [], [], []
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model = cls(random_state=seed).fit(X_tr, y_tr)
            epochs.append(model.n_iter_)
            stopped.append(not any(issubclass(w.category, ConvergenceWarning) for w in caught))
            scores.append(model.score(X_te, y_te))
        print(f"| {name} | {len(y_tr)} | {', '.join(map(str, epochs))} | "
              f"{'yes' if all(stopped) else 'no'} | {np.mean(scores):.4f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every data set's number of epochs")
    parser.add_argument("--defaults", action="store_true")
    args = parser.parse_args()
    if args.defaults:
        defaults(args.seeds)
        return
    if torch is None:
        print("pytorch-tabnet is not installed: skdnn runs alone "
              "(pip install torch pytorch-tabnet to compare).")
    else:
        torch.set_num_threads(2)
    print("| data set | epochs x batch/ghost | skdnn fit | pytorch-tabnet fit | ratio | "
          "skdnn test | pytorch-tabnet test | informative on top: skdnn | pytorch-tabnet |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = side_by_side(args.seeds, args.scale)
    ratios = [_mean(r[5]["skdnn"]) / _mean(r[5]["torch"]) for r in rows if r[5]["torch"]]
    if ratios:
        print(f"\nFit-time ratio, geometric mean over the {len(ratios)} data sets: "
              f"{math.exp(np.mean(np.log(ratios))):.2f}")


if __name__ == "__main__":
    main()
