"""Neural networks for tables at their defaults, side by side on real tables (issue 30).

Each data set of ``_tabular_data.py`` is split ``--splits`` times (seeds 0, 1, ...; a quarter
held out, stratified for a classifier), and every model is fitted at its defaults with
``random_state`` set to the split's seed, in one process, on one BLAS / OpenMP / torch thread
(``threadpoolctl.threadpool_limits(1)``, ``torch.set_num_threads(1)``). The models:

* ``hgb``: ``HistGradientBoostingClassifier`` / ``Regressor`` with native categories
  (``categorical_features="from_dtype"``, the text and boolean columns cast to ``category``);
* ``linear``: ``LogisticRegression`` / ``Ridge`` in the pipeline a user would write: numeric
  columns imputed (median) and standardised, text columns one-hot encoded
  (``handle_unknown="ignore"``, NaN a category of its own);
* ``mlp`` and ``tabnet``: skdnn's ``MLPClassifierFromScratch`` / ``MLPRegressorFromScratch``
  and ``TabNetClassifier`` / ``TabNetRegressor`` in that same pipeline;
* ``realmlp``: pytabkit's ``RealMLP_TD_Classifier`` / ``RealMLP_TD_Regressor`` (``device="cpu"``,
  ``n_threads=1``), given the text columns as ``category``; it does not accept NaN in a
  numeric column, so those are imputed (median) for it alone; skipped with a note when
  pytabkit is not installed (it is a benchmark-only peer, never a dependency of skdnn);
* ``tabular``: skdnn's ``TabularMLPClassifier`` / ``TabularMLPRegressor``, given the
  DataFrame as it is; skipped with a note while skdnn does not export them.

Metrics on the held-out quarter: accuracy and log loss (classification), R^2 and RMSE
(regression), and the fit time. Per data set, a table of the mean +- standard deviation over
the splits; then the summary: each model's mean rank over the data sets on accuracy / R^2 and
on log loss / RMSE (1 = best; ties share their mean rank), its normalised score
((score - worst) / (best - worst) of the models' split means on each data set, averaged; 1 =
best everywhere), and the geometric mean of its fit time's ratio to HistGradientBoosting's and
to RealMLP-TD's on the same rows.

Usage::

    python benchmarks/bench_tabular.py                               # everything (long)
    python benchmarks/bench_tabular.py --max-rows 5000               # each table subsampled
    python benchmarks/bench_tabular.py --quick                       # 1 split, 1,000 rows
    python benchmarks/bench_tabular.py --datasets fair males --models hgb linear tabular
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tabular_data import LOADERS, PACKAGES, available  # noqa: E402

import skdnn  # noqa: E402

MODELS = ["hgb", "linear", "mlp", "tabnet", "realmlp", "tabular"]
#: ``--ablation``: the tabular MLP with one ingredient removed, swapped or changed (the
#: classifier's own parameters, such as ``label_smoothing``, are left out for a regressor).
ABLATIONS = {
    "no-ensemble": {"n_members": 1},
    "k8": {"n_members": 8},
    "width-256": {"hidden_layer_sizes": (256, 256, 256)},
    "ensemble-batch": {"ensemble": "batch"},
    "no-embedding": {"numeric_embedding": None},
    "pl-embedding": {"numeric_embedding": "pl"},
    "no-scaling-layer": {"scaling_layer": False},
    "parametric": {"parametric_activation": True},
    "relu": {"activation": "relu"},
    "no-dropout": {"dropout": 0.0},
    "no-weight-decay": {"weight_decay": 0.0},
    "no-label-smoothing": {"label_smoothing": 0.0},
    "quantile": {"numeric": "quantile"},
    "16-epochs": {"max_iter": 16},
    "32-epochs": {"max_iter": 32},
    "64-epochs": {"max_iter": 64},
    "128-epochs": {"max_iter": 128},
}


# -- the models --------------------------------------------------------------------------------
def categorical_columns(X):
    """The columns of ``X`` that are not numbers: text, ``category``, object and booleans."""
    return [column for column in X.columns
            if not pd.api.types.is_numeric_dtype(X[column])
            or pd.api.types.is_bool_dtype(X[column])]


def as_categories(X):
    """``X`` with its text, object and boolean columns as pandas ``category`` columns."""
    X = X.copy()
    for column in categorical_columns(X):
        X[column] = X[column].astype("category")
    return X


def user_pipeline(X, estimator):
    """The pipeline a user would write: numeric columns imputed (median) and standardised,
    the others one-hot encoded (NaN a category of its own, unknown levels ignored)."""
    categorical = categorical_columns(X)
    numeric = [column for column in X.columns if column not in categorical]
    encode = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         categorical),
    ])
    return make_pipeline(encode, estimator)


class _Categories:
    """A model fitted on ``X`` with its text columns as ``category`` (and, when ``impute``,
    its numeric NaN filled with the training medians)."""

    def __init__(self, estimator, impute=False):
        self.estimator, self.impute = estimator, impute

    def _prepare(self, X):
        X = as_categories(X)
        if self.impute:
            X = X.fillna(self.medians_)
        return X

    def fit(self, X, y):
        numeric = [c for c in X.columns if c not in categorical_columns(X)]
        self.medians_ = X[numeric].median()
        self.estimator.fit(self._prepare(X), y)
        self.classes_ = getattr(self.estimator, "classes_", None)
        return self

    def predict(self, X):
        return self.estimator.predict(self._prepare(X))

    def predict_proba(self, X):
        return self.estimator.predict_proba(self._prepare(X))


def pytabkit_available():
    """Whether pytabkit (and what it imports: torch, lightning) imports."""
    try:
        import pytabkit  # noqa: F401
    except ImportError:
        return False
    return True


def make_model(name, X, task, seed):
    """The model ``name`` for data ``X`` and ``task``, seeded; None when it is not installed."""
    classify = task != "regression"
    if name == "hgb":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return _Categories(cls(categorical_features="from_dtype", random_state=seed))
    if name == "linear":
        return user_pipeline(X, LogisticRegression() if classify else Ridge())
    if name == "mlp":
        cls = skdnn.MLPClassifierFromScratch if classify else skdnn.MLPRegressorFromScratch
        return user_pipeline(X, cls(random_state=seed))
    if name == "tabnet":
        cls = skdnn.TabNetClassifier if classify else skdnn.TabNetRegressor
        return user_pipeline(X, cls(random_state=seed))
    if name == "realmlp":
        if not pytabkit_available():
            return None
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        cls = RealMLP_TD_Classifier if classify else RealMLP_TD_Regressor
        return _Categories(cls(device="cpu", n_threads=1, random_state=seed, verbosity=0),
                           impute=True)
    if name == "tabular" or name.startswith("tabular:"):
        cls = getattr(skdnn, "TabularMLPClassifier" if classify else "TabularMLPRegressor",
                      None)
        if cls is None:
            return None
        params = ABLATIONS[name.partition(":")[2]] if ":" in name else {}
        valid = cls().get_params()
        return cls(random_state=seed, **{k: v for k, v in params.items() if k in valid})
    raise ValueError(f"unknown model {name!r}; choose from {MODELS}")


def skip_note(name):
    if name == "realmlp":
        return "realmlp skipped: pytabkit is not installed (pip install pytabkit)"
    if name.startswith("tabular"):
        return f"{name} skipped: skdnn does not export TabularMLPClassifier"
    return f"{name} skipped"


# -- one fit -----------------------------------------------------------------------------------
def subsample(X, y, task, max_rows, seed=0):
    """At most ``max_rows`` rows of ``(X, y)``, stratified for a classifier."""
    if max_rows is None or len(X) <= max_rows:
        return X, y
    stratify = y if task != "regression" else None
    X, _, y, _ = train_test_split(X, y, train_size=max_rows, random_state=seed,
                                  stratify=stratify)
    return X.reset_index(drop=True), y


def evaluate(model, X_train, y_train, X_test, y_test, task):
    """``{metric: value}`` of one fit: accuracy and log loss, or R^2 and RMSE; and its time."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        if task == "regression":
            predicted = np.asarray(model.predict(X_test), dtype=float).ravel()
            return {"score": r2_score(y_test, predicted),
                    "loss": math.sqrt(mean_squared_error(y_test, predicted)),
                    "seconds": seconds}
        proba = model.predict_proba(X_test)
        classes = np.asarray(model.classes_)
        predicted = classes[np.argmax(proba, axis=1)]
    return {"score": accuracy_score(y_test, predicted),
            "loss": log_loss(y_test, proba, labels=classes), "seconds": seconds}


def run(datasets, models, splits, max_rows, out=print, csv=None):
    """Every model on every data set and split: a DataFrame of one row per fit. With ``csv``,
    each fit's row is appended to that file as soon as it is measured, so that a run stopped
    early keeps what it measured (``--from-csv`` prints its tables)."""
    rows = []
    for dataset in datasets:
        X, y, task = LOADERS[dataset]()
        X, y = subsample(X, y, task, max_rows)
        out(f"{dataset}: {len(X)} rows, {X.shape[1]} columns, {task}")
        for seed in range(splits):
            stratify = y if task != "regression" else None
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=stratify)
            for name in models:
                model = make_model(name, X_train, task, seed)
                if model is None:
                    continue
                try:
                    result = evaluate(model, X_train, y_train, X_test, y_test, task)
                except Exception as error:  # a peer that fails is reported, not fatal
                    out(f"  {name} failed on {dataset} (split {seed}): "
                        f"{type(error).__name__}: {error}")
                    traceback.print_exc(limit=3, file=sys.stderr)
                    continue
                rows.append({"dataset": dataset, "task": task, "split": seed, "model": name,
                             **result})
                if csv is not None:
                    pd.DataFrame(rows[-1:]).to_csv(csv, mode="a", index=False,
                                                   header=not Path(csv).exists())
                out(f"  split {seed} {name:10s} score {result['score']:.4f} "
                    f"loss {result['loss']:.4g} fit {result['seconds']:.2f} s")
    return pd.DataFrame(rows)


# -- the tables --------------------------------------------------------------------------------
def per_dataset_tables(results):
    """One Markdown table per data set: each model's mean +- std over the splits."""
    lines = []
    for dataset, frame in results.groupby("dataset", sort=False):
        task = frame["task"].iloc[0]
        score, loss = ("R^2", "RMSE") if task == "regression" else ("accuracy", "log loss")
        lines += [f"### {dataset} ({task}, {frame['split'].nunique()} splits)", "",
                  f"| model | {score} | {loss} | fit time (s) |", "| --- | --- | --- | --- |"]
        for model, runs in frame.groupby("model", sort=False):
            cells = [f"{runs[c].mean():.4g} ± {runs[c].std(ddof=0):.2g}"
                     for c in ("score", "loss", "seconds")]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def summary(results):
    """Per model: mean ranks, normalised scores and geometric-mean fit-time ratios."""
    means = results.groupby(["dataset", "model"], sort=False)[
        ["score", "loss", "seconds"]].mean().reset_index()
    # higher is better for the score, lower for the loss
    means["score_rank"] = means.groupby("dataset")["score"].rank(ascending=False)
    means["loss_rank"] = means.groupby("dataset")["loss"].rank(ascending=True)
    grouped = means.groupby("dataset")

    def normalised(column, higher_is_better):
        best = grouped[column].transform("max" if higher_is_better else "min")
        worst = grouped[column].transform("min" if higher_is_better else "max")
        spread = (best - worst).where(best != worst)
        return ((means[column] - worst) / spread).fillna(1.0)

    means["score_norm"] = normalised("score", True)
    means["loss_norm"] = normalised("loss", False)
    for reference in ("hgb", "realmlp"):
        seconds = means[means["model"] == reference].set_index("dataset")["seconds"]
        means[f"log_ratio_{reference}"] = np.log(
            means["seconds"] / means["dataset"].map(seconds))
    table = means.groupby("model", sort=False).agg(
        datasets=("dataset", "nunique"), score_rank=("score_rank", "mean"),
        loss_rank=("loss_rank", "mean"), score_norm=("score_norm", "mean"),
        loss_norm=("loss_norm", "mean"), log_ratio_hgb=("log_ratio_hgb", "mean"),
        log_ratio_realmlp=("log_ratio_realmlp", "mean"))
    table["time_vs_hgb"] = np.exp(table.pop("log_ratio_hgb"))
    table["time_vs_realmlp"] = np.exp(table.pop("log_ratio_realmlp"))
    return table.sort_values("score_rank")


def summary_markdown(table):
    lines = ["| model | data sets | mean rank accuracy / R^2 | mean rank log loss / RMSE | "
             "normalised accuracy / R^2 | normalised log loss / RMSE | fit time / HGB's | "
             "fit time / RealMLP-TD's |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model, row in table.iterrows():
        ratios = [("-" if not np.isfinite(r) else f"{r:.3g}")
                  for r in (row["time_vs_hgb"], row["time_vs_realmlp"])]
        lines.append(f"| {model} | {int(row['datasets'])} | {row['score_rank']:.2f} | "
                     f"{row['loss_rank']:.2f} | {row['score_norm']:.3f} | "
                     f"{row['loss_norm']:.3f} | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(LOADERS), metavar="NAME",
                        help=f"data sets (default: every installed one of {list(LOADERS)})")
    parser.add_argument("--models", nargs="+", default=MODELS,
                        choices=MODELS + [f"tabular:{name}" for name in ABLATIONS])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=None,
                        help="subsample each table to at most this many rows")
    parser.add_argument("--quick", action="store_true", help="1 split of at most 1,000 rows")
    parser.add_argument("--csv", help="also append every fit's figures to this CSV file, "
                        "one row as each fit ends")
    parser.add_argument("--from-csv", help="print the tables of the fits in this CSV file "
                        "(a run's --csv, finished or stopped) instead of running")
    parser.add_argument("--ablation", nargs="*", choices=list(ABLATIONS), metavar="NAME",
                        help="also fit the tabular MLP with these ingredients changed "
                        f"(all of {list(ABLATIONS)} when none is named)")
    args = parser.parse_args(argv)
    if args.from_csv:
        return print_tables(pd.read_csv(args.from_csv))
    if args.ablation is not None:
        args.models = list(args.models) + [f"tabular:{name}"
                                           for name in (args.ablation or ABLATIONS)]
    if args.quick:
        args.splits, args.max_rows = 1, min(args.max_rows or 1000, 1000)

    installed = available()
    datasets = args.datasets or installed
    for name in [d for d in datasets if d not in installed]:
        print(f"{name} skipped: {PACKAGES[name]} is not installed")
    datasets = [d for d in datasets if d in installed]
    models = []
    for name in args.models:
        if make_model(name, pd.DataFrame({"x": [0.0]}), "binary", 0) is None:
            print(skip_note(name))
        else:
            models.append(name)

    with contextlib.ExitStack() as stack:
        stack.enter_context(threadpool_limits(1))
        if importlib.util.find_spec("torch") is not None:
            import torch

            torch.set_num_threads(1)
        print(f"one thread; {args.splits} splits; max rows {args.max_rows}; "
              f"numpy {np.__version__}, pandas {pd.__version__}, skdnn {skdnn.__version__}")
        results = run(datasets, models, args.splits, args.max_rows, csv=args.csv)
    return print_tables(results)


def print_tables(results):
    """Print the per-data-set tables and the summary of ``results``; return them."""
    if results.empty:
        print("nothing ran")
        return results
    print()
    print(per_dataset_tables(results))
    print("## Summary")
    print()
    print(summary_markdown(summary(results)))
    return results


if __name__ == "__main__":
    main()
