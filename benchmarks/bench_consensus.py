"""ConsensusClassifier against aggregate-then-train pipelines and crowd-kit's Dawid-Skene.

Simulated annotators label the training rows of digits and breast cancer: four of graded
accuracy, a spammer who answers at random, and two who confuse particular classes, each
labelling only part of the rows. For each seed the script prints, per pipeline:

* ``consensus``: the accuracy of the training rows' consensus labels (argmax of the
  posteriors) against the true labels;
* ``test``: the accuracy on held-out rows of the same MLP trained on those labels;
* ``MAE``: the mean absolute error of the estimated confusion matrices against the true ones
  (the simulated labels' confusion with the true labels, rows normalised), and against the
  matrices the labels were drawn from (``MAE gen``);
* ``spammer``: the spammer's rank by ``annotator_accuracy_`` (0 = the lowest).

``x DS soft`` is each pipeline's seconds over those of ``DS soft -> MLP`` in the same run,
seed by seed. A second table per data set times row expansion (``fit_soft_targets`` for
``LogisticRegression``) with every copy of a row and with the copies below
``SOFT_TARGET_FLOOR`` left out.

``--grid`` compares the settings of ``"joint"`` in :data:`GRID` (``cv``, ``n_rounds``,
``fold_max_iter``) instead, the measurement behind their defaults.

Run: ``python benchmarks/bench_consensus.py [--seeds 3] [--quick] [--grid]``. crowd-kit is
optional (``pip install --no-deps crowd-kit; pip install attrs tqdm nltk pyarrow``). Everything runs
with one BLAS thread (``threadpoolctl``): the networks are small, and on a shared machine
BLAS threads waiting for each other made each fit up to 20 times slower.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdnn import ConsensusClassifier, MLPClassifierFromScratch, simulate_annotations
from skdnn._consensus import confusion_matrices, fit_soft_targets, majority_vote

#: Which annotator is the spammer, in the crowd of :func:`crowd`.
SPAMMER = 4
#: The pairs of digits the confusers mix up (each says one for the other half the time).
_DIGIT_PAIRS = [[(1, 7), (3, 8), (4, 9), (5, 6)], [(0, 6), (2, 7), (3, 5), (8, 9)]]


def crowd(n_classes):
    """``(confusion, coverage)`` of seven annotators: the generating matrices, shape
    ``(7, n_classes, n_classes)``, and the fraction of rows each labels."""
    def uniform_errors(accuracy):
        off = (1 - accuracy) / (n_classes - 1)
        return np.full((n_classes, n_classes), off) + np.eye(n_classes) * (accuracy - off)

    if n_classes == 2:
        graded = [0.9, 0.8, 0.72, 0.65]
        # Confusers: a class is mostly right, the other often taken for it.
        confusers = [np.array([[0.95, 0.05], [0.45, 0.55]]),
                     np.array([[0.6, 0.4], [0.05, 0.95]])]
    else:
        graded = [0.85, 0.7, 0.6, 0.5]
        confusers = []
        for pairs in _DIGIT_PAIRS:
            matrix = uniform_errors(0.9)
            for a, b in pairs:
                for k, other in ((a, b), (b, a)):
                    matrix[k] = 0.05 / (n_classes - 2)
                    matrix[k, k], matrix[k, other] = 0.5, 0.45
            confusers.append(matrix)
    spammer = np.full((n_classes, n_classes), 1 / n_classes)
    confusion = np.stack([uniform_errors(a) for a in graded] + [spammer] + confusers)
    coverage = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4])
    return confusion, coverage


def load(name, seed):
    """Scaled train and test splits of a data set, and the crowd's labels of the training
    rows: ``X_train, X_test, y_train, y_test, Y, confusion``."""
    X, y = (load_digits if name == "digits" else load_breast_cancer)(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=seed)
    scaler = StandardScaler().fit(X_train)
    confusion, coverage = crowd(len(np.unique(y)))
    Y = simulate_annotations(y_train, confusion, coverage=coverage, random_state=seed)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, Y, confusion


def true_confusion(Y, y):
    """The confusion of the given labels with the true ones, rows normalised."""
    classes = np.unique(y)
    matrices = np.zeros((Y.shape[1], len(classes), len(classes)))
    for j in range(Y.shape[1]):
        given = np.array([v is not None for v in Y[:, j]])
        labels = np.searchsorted(classes, Y[given, j].astype(classes.dtype))
        np.add.at(matrices[j], (np.searchsorted(classes, y[given]), labels), 1)
    return matrices / matrices.sum(axis=2, keepdims=True)


def mlp(seed):
    return MLPClassifierFromScratch(random_state=seed)


def crowdkit_dawid_skene(Y):
    """crowd-kit's DawidSkene posteriors of the rows, or None when it is not installed."""
    try:
        import pandas as pd
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        return None
    rows, workers = np.nonzero(np.vectorize(lambda v: v is not None)(Y))
    long = pd.DataFrame({"task": rows, "worker": workers,
                         "label": Y[rows, workers].astype(np.int64)})
    proba = DawidSkene(n_iter=100).fit_predict_proba(long).sort_index()
    return proba.reindex(columns=sorted(proba.columns)).to_numpy()


#: The settings of ``"joint"`` that ``--grid`` compares: ``(cv, n_rounds, fold_max_iter)``.
GRID = [(5, 3, None), (2, 1, None), (2, 3, None), (3, 6, 20), (2, 5, 25), (2, 6, 20),
        (2, 8, 25), (2, 10, 20)]


def pipelines(seed, quick, grid=False):
    """name -> function(X, Y, classes) returning (posteriors, confusion, fitted model)."""
    def then_train(aggregate, hard):
        def run(X, Y, onehot, classes):
            T = aggregate(Y, onehot)
            if hard:
                T = np.eye(len(classes))[T.argmax(axis=1)]
            model = fit_soft_targets(mlp(seed), X, T, classes)
            return T, confusion_matrices(T, onehot), model
        return run

    def consensus(**params):
        def run(X, Y, onehot, classes):
            model = ConsensusClassifier(mlp(seed), random_state=seed, **params).fit(X, Y)
            return model.consensus_proba_, model.annotator_confusion_, model
        return run

    ds = ConsensusClassifier(method="dawid_skene")  # only its EM, through fit's parsing
    from skdnn._consensus import dawid_skene

    def ds_posteriors(Y, onehot):
        return dawid_skene(onehot, max_iter=ds.max_iter, tol=ds.tol)[0]

    if grid:
        runs = {"DS soft -> MLP": then_train(ds_posteriors, hard=False)}
        for cv, n_rounds, fold_max_iter in GRID:
            runs[f"joint, cv={cv}, n_rounds={n_rounds}, fold_max_iter={fold_max_iter}"] = (
                consensus(method="joint", cv=cv, n_rounds=n_rounds,
                          fold_max_iter=fold_max_iter))
        return runs
    runs = {
        "majority -> MLP": then_train(lambda Y, onehot: majority_vote(onehot), hard=False),
        "DS hard -> MLP": then_train(ds_posteriors, hard=True),
        "DS soft -> MLP": then_train(ds_posteriors, hard=False),
        "joint, the defaults (cv=2, n_rounds=6, fold_max_iter=20)": consensus(method="joint"),
    }
    if not quick:
        runs["joint, in sample (cv=None)"] = consensus(method="joint", cv=None)
        runs["joint, each round from scratch (cv=5, n_rounds=3, fold_max_iter=None)"] = (
            consensus(method="joint", cv=5, n_rounds=3, fold_max_iter=None))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one seed, fewer pipelines")
    parser.add_argument("--grid", action="store_true",
                        help="the settings of 'joint' in GRID instead of the pipelines")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        run(args)


def run(args):
    seeds = range(1 if args.quick else args.seeds)
    from skdnn._consensus import _Annotations

    for name in ("digits", "breast_cancer"):
        results = {}
        for seed in seeds:
            X_train, X_test, y_train, y_test, Y, generating = load(name, seed)
            labels = _Annotations(Y, None)
            truth = true_confusion(Y, y_train)
            classes = labels.classes
            ck = crowdkit_dawid_skene(Y)
            if ck is not None:
                results.setdefault("crowd-kit DawidSkene (labels only)", []).append(
                    (np.mean(classes[ck.argmax(axis=1)] == y_train), np.nan, np.nan, np.nan,
                     np.nan, np.nan))
            for label, run in pipelines(seed, args.quick, args.grid).items():
                start = time.perf_counter()
                T, confusion, model = run(X_train, Y, labels.onehot, classes)
                seconds = time.perf_counter() - start
                accuracy = np.einsum("k,jkk->j", T.mean(axis=0), confusion)
                results.setdefault(label, []).append((
                    np.mean(classes[T.argmax(axis=1)] == y_train),
                    model.score(X_test, y_test),
                    np.abs(confusion - truth).mean(), np.abs(confusion - generating).mean(),
                    int(np.argsort(np.argsort(accuracy))[SPAMMER]), seconds))
            true_model = mlp(seed).fit(X_train, y_train)
            results.setdefault("true labels -> MLP", []).append(
                (1.0, true_model.score(X_test, y_test), np.nan, np.nan, np.nan, np.nan))
        n = len(seeds)
        print(f"\n### {name}: {len(y_train)} training rows, {Y.shape[1]} annotators, "
              f"{np.mean([v is not None for v in Y.ravel()]) * Y.shape[1]:.1f} labels per row; "
              f"mean over {n} seed(s)\n")
        print("| pipeline | consensus | test | MAE | MAE gen | spammer rank | seconds | "
              "x DS soft |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        # time relative to DS soft -> MLP, seed by seed (the load of the machine moves both)
        reference = np.array([row[5] for row in results["DS soft -> MLP"]])
        for label, rows in results.items():
            cells = np.array(rows, dtype=float)
            ratio = np.mean(cells[:, 5] / reference)
            print(f"| {label} | " + " | ".join(
                "" if np.isnan(c) else f"{c:.4f}" if i < 4 else f"{c:.1f}"
                for i, c in enumerate([*cells.mean(axis=0), ratio])) + " |")
        if not args.grid:
            expansion(name, seeds)


def expansion(name, seeds):
    """Row expansion (``fit_soft_targets`` for ``LogisticRegression``) with every positive
    copy of a row, and with the copies below ``SOFT_TARGET_FLOOR`` left out: how many rows
    it fits, its seconds, and how far apart the two fits' test probabilities are (the most,
    over the seeds)."""
    from sklearn.linear_model import LogisticRegression

    from skdnn._consensus import SOFT_TARGET_FLOOR, _Annotations, dawid_skene

    # tol=1e-8: at the default 1e-4, where lbfgs stops differs more between the two
    # expansions (0.04 in a probability, on digits) than their minima do.
    print(f"\nRow expansion, LogisticRegression(tol=1e-8, max_iter=5000) on the posteriors "
          f"({name}, mean over {len(seeds)} seed(s)):\n")
    print("| posteriors | rows | copies, all | copies, floor | seconds, all | seconds, floor "
          "| max abs diff of predict_proba |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    cells = {}
    for seed in seeds:
        X_train, X_test, y_train, _, Y, _ = load(name, seed)
        onehot = _Annotations(Y, None).onehot
        classes = np.unique(y_train)
        joint = ConsensusClassifier(mlp(seed), random_state=seed).fit(X_train, Y)
        for label, T in (("Dawid-Skene", dawid_skene(onehot)[0]),
                         ("joint (defaults)", joint.consensus_proba_)):
            fits = []
            for floor in (0.0, SOFT_TARGET_FLOOR):
                start = time.perf_counter()
                model = fit_soft_targets(LogisticRegression(tol=1e-8, max_iter=5000),
                                         X_train, T, classes, floor=floor)
                fits.append((model, time.perf_counter() - start))
            (every, t_every), (floored, t_floored) = fits
            cells.setdefault(label, []).append((
                len(T), (T > 0).sum(), (T >= SOFT_TARGET_FLOOR).sum(), t_every, t_floored,
                np.abs(every.predict_proba(X_test) - floored.predict_proba(X_test)).max()))
    for label, rows in cells.items():
        mean = np.mean(rows, axis=0)
        print(f"| {label} | {mean[0]:.0f} | {mean[1]:.0f} | {mean[2]:.0f} | {mean[3]:.2f} | "
              f"{mean[4]:.2f} | {np.max([row[5] for row in rows]):.1e} |")


if __name__ == "__main__":
    main()
