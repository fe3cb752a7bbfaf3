"""The perceptron, side by side: scikit-learn's ``Perceptron``, ``SGDClassifier(loss=
"perceptron", average=True)``, and skdnn's ``PerceptronClassifier`` at its defaults and with
``batch_size=1`` (the online rule).

In one process, on standard-scaled digits, breast cancer, wine and a 20,000 x 50 three-class
``make_classification``: after a warm-up fit of each, ``--repeats`` rounds fit every estimator
on the whole data set (fits shorter than 50 ms as many in a row, timed together), in an
order that rotates from round to round. A fit's time ratio is the median over the rounds of
its time divided by ``Perceptron``'s time in the same round.
Accuracy is the mean of 10-fold stratified cross-validation of ``StandardScaler`` followed by
the estimator (all at ``random_state=0``).

Usage::

    python benchmarks/bench_perceptron.py               # the table of benchmarks/README.md
    python benchmarks/bench_perceptron.py --repeats 3 --no-cv
    python benchmarks/bench_perceptron.py --variant batch_size=1024 --variant average=False
    python benchmarks/bench_perceptron.py --unscaled    # the raw features, no StandardScaler
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import PerceptronClassifier

ESTIMATORS = {
    "sklearn Perceptron": lambda: Perceptron(random_state=0),
    "SGD perceptron, averaged": lambda: SGDClassifier(loss="perceptron", average=True,
                                                      random_state=0),
    "skdnn default": lambda: PerceptronClassifier(),
    "skdnn batch_size=1": lambda: PerceptronClassifier(batch_size=1),
}
REFERENCE = "sklearn Perceptron"


def datasets():
    """Name -> (X, y), unscaled (the fits scale them; cross-validation scales in the folds)."""
    X, y = make_classification(n_samples=20_000, n_features=50, n_informative=20,
                               n_classes=3, random_state=0)
    return {
        "digits": load_digits(return_X_y=True),
        "breast cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "20000x50, 3 classes": (X, y),
    }


def fit_seconds(make, X, y, number=1):
    """Mean wall time of ``number`` fits in a row."""
    began = time.perf_counter()
    for _ in range(number):
        make().fit(X, y)
    return (time.perf_counter() - began) / number


def time_ratios(X, y, repeats):
    """Median fit time of each estimator, and the median of its per-round ratio."""
    names = list(ESTIMATORS)
    # Warm-up; fits shorter than 50 ms are timed as many in a row, so that one pause of this
    # shared machine does not decide a round.
    number = {name: max(1, round(0.05 / fit_seconds(ESTIMATORS[name], X, y))) for name in names}
    seconds = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            seconds[name].append(fit_seconds(ESTIMATORS[name], X, y, number[name]))
    reference = np.array(seconds[REFERENCE])
    return {name: (float(np.median(times)), float(np.median(np.array(times) / reference)))
            for name, times in seconds.items()}


def accuracy(make, X, y, scaled=True):
    folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), make()) if scaled else make()
    return float(cross_val_score(model, X, y, cv=folds).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-cv", action="store_true", help="skip the 10-fold accuracy")
    parser.add_argument("--unscaled", action="store_true",
                        help="fit and cross-validate on the raw features, without StandardScaler")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE,...",
                        help="also time skdnn with these parameters (repeatable)")
    args = parser.parse_args(argv)
    for variant in args.variant:
        params = {key: ast.literal_eval(value)
                  for key, value in (item.split("=") for item in variant.split(","))}
        ESTIMATORS[f"skdnn {variant}"] = lambda params=params: PerceptronClassifier(**params)
    warnings.simplefilter("ignore", ConvergenceWarning)  # counted, not printed: see README
    # Unscaled, the online rule's fits of wine and breast cancer stop below a constant's
    # accuracy and say so; the table shows it.
    warnings.filterwarnings("ignore", message="The stopping rule ended the fit")
    print("| data set | estimator | fit time (ms) | time / sklearn | 10-fold accuracy |"
          " accuracy - sklearn's |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    geometric = {name: [] for name in ESTIMATORS}
    for data_name, (X, y) in datasets().items():
        X_fitted = X if args.unscaled else StandardScaler().fit_transform(X)
        times = time_ratios(X_fitted, y, args.repeats)
        scores = {name: (np.nan if args.no_cv else accuracy(make, X, y, not args.unscaled))
                  for name, make in ESTIMATORS.items()}
        for name in ESTIMATORS:
            seconds, ratio = times[name]
            geometric[name].append(ratio)
            print(f"| {data_name} | {name} | {1000 * seconds:.1f} | {ratio:.2f} | "
                  f"{scores[name]:.4f} | {100 * (scores[name] - scores[REFERENCE]):+.1f} pt |")
    for name, ratios in geometric.items():
        print(f"geometric mean of time / sklearn, {name}: "
              f"{float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
