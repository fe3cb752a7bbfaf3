"""Test R^2 of MLPRegressorFromScratch beside scikit-learn's MLPRegressor.

Three problems: the diabetes data (bundled with scikit-learn), Friedman #1 and a noisy
linear problem (both generated). For each of 5 seeds, one train/test split, both estimators
with the same parameters and ``random_state=seed`` (their initial weights are drawn by
different generators, so single seeds differ by chance; the mean over seeds is the
comparison), inputs standardised on the training part, targets standardised.

Run from the repository root: ``python benchmarks/bench_regression_r2.py`` (add ``--solver
lbfgs`` for L-BFGS). It prints the mean test R^2 of each and the difference.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skdnn import MLPRegressorFromScratch  # noqa: E402


def noisy_linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8))
    return X, X @ rng.normal(size=8) + rng.normal(scale=1.0, size=400)


PROBLEMS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "friedman1": lambda: make_friedman1(n_samples=500, noise=1.0, random_state=0),
    "noisy_linear": noisy_linear,
}


def test_r2(estimator_class, X, y, seed, params):
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    model = estimator_class(random_state=seed, **params).fit(scaler.transform(X_train), y_train)
    return model.score(scaler.transform(X_test), y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", default="adam", choices=["adam", "sgd", "lbfgs"])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    params = dict(solver=args.solver, max_iter=500)
    print(f"MLPRegressor defaults but {params}; mean test R^2 over {args.seeds} seeds")
    print(f"{'problem':<14}{'skdnn':>10}{'sklearn':>10}{'skdnn - sklearn':>18}")
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, load in PROBLEMS.items():
        X, y = load()
        y = (y - y.mean()) / y.std()
        ours = np.mean([test_r2(MLPRegressorFromScratch, X, y, s, params)
                        for s in range(args.seeds)])
        theirs = np.mean([test_r2(MLPRegressor, X, y, s, params) for s in range(args.seeds)])
        print(f"{name:<14}{ours:>10.4f}{theirs:>10.4f}{ours - theirs:>+18.4f}")


if __name__ == "__main__":
    main()
