"""The benchmark configurations, the data they train on, and helpers the scripts share.

Every configuration trains skdnn's ``MLPClassifierFromScratch`` and scikit-learn's
``MLPClassifier`` with the same hyper-parameters on the same data. ``quick=True`` shrinks the
data so that a whole run takes a few minutes.

Both estimators also start from the same initial weights (:func:`initial_weights`): the two
libraries draw them from different random generators, and the final losses of two draws
differ by several percent after a few epochs, which would hide whether the two reach the
same loss from the same start. They still shuffle their batches with their own generators.
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn.nn.init import glorot_uniform
from skdnn.nn.network import Network


class _SameStartMLPClassifier(MLPClassifier):
    """scikit-learn's ``MLPClassifier``, starting from the weights in ``self.start_weights``
    (``(coefs, intercepts)``) rather than from its own random draw, when they are set.

    ``_initialize`` is where scikit-learn draws the initial weights (a private method, so
    this is for the benchmark only); everything after it is scikit-learn's own code. It still
    makes its own draw first, which the timed fit includes (0.3 ms for the 60,000 weights
    of the main configurations, against fits of about a second).
    """

    start_weights = None

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        if self.start_weights is not None:
            coefs, intercepts = self.start_weights
            self.coefs_ = [W.astype(dtype) for W in coefs]
            self.intercepts_ = [b.astype(dtype) for b in intercepts]


ESTIMATORS = {"skdnn": MLPClassifierFromScratch, "sklearn": _SameStartMLPClassifier}


def initial_weights(layer_units, seed, activation="relu"):
    """``(coefs, intercepts)`` for ``layer_units``, drawn as both libraries draw them (Glorot
    uniform, the bound scikit-learn uses for ``activation``) with the seed ``seed``: the
    engine's own initialisation, as the estimator calls it."""
    network = Network(layer_units, activation, "softmax")
    theta = network.init(np.random.default_rng(seed),
                                functools.partial(glorot_uniform, activation=activation))
    params = network.unpack(theta)
    return params.coefs, params.intercepts


@dataclass
class Config:
    """One benchmark: a data set and the hyper-parameters both estimators get."""

    name: str
    data: str  # "dense", "digits" or "sparse"
    dtype: type
    params: dict = field(default_factory=dict)
    epochs: int = 5
    quick_epochs: int = 2
    repeats: int | None = None  # None: the run's --repeats

    def load(self, quick):
        """``(X_train, y_train, X_test, y_test)`` in this configuration's dtype."""
        X, y, X_test, y_test = _DATA[self.data](quick)
        return _as(X, self.dtype), y, _as(X_test, self.dtype), y_test

    def estimator(self, kind, epochs, seed=0, start=None):
        """A fresh estimator of ``kind`` ("skdnn" or "sklearn") that trains ``epochs`` epochs.

        ``tol=0`` and ``n_iter_no_change > epochs`` make both run every epoch they are given,
        so an epoch's time is the fit's time divided by ``epochs``. ``start``, weights from
        :func:`initial_weights`, replaces the estimator's own random initial weights: skdnn's
        takes them through its public ``warm_start`` (weights assigned to a new estimator),
        scikit-learn's through :class:`_SameStartMLPClassifier`.
        """
        params = dict(self.params, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                      random_state=seed)
        if start is None:
            return ESTIMATORS[kind](**params)
        if kind == "skdnn":
            estimator = MLPClassifierFromScratch(**params, warm_start=True)
            estimator.coefs_, estimator.intercepts_ = (list(w) for w in start)
            return estimator
        estimator = _SameStartMLPClassifier(**params)
        estimator.start_weights = start
        return estimator

    def start(self, X, y, seed):
        """The initial weights both estimators get in the round with ``seed``."""
        units = [X.shape[1], *self.params["hidden_layer_sizes"], len(np.unique(y))]
        if units[-1] == 2:
            units[-1] = 1  # one logistic output unit for two classes
        return initial_weights(units, seed, self.params.get("activation", "relu"))


def _as(X, dtype):
    return X.astype(dtype) if X.dtype != dtype else X


def _dense(quick):
    # 10 classes in 100 features, 60 of them informative: a problem an MLP learns gradually.
    n_train = 10_000 if quick else 50_000
    X, y = make_classification(n_train + 10_000, 100, n_informative=60, n_redundant=20,
                               n_classes=10, n_clusters_per_class=2, class_sep=1.5,
                               random_state=0)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _digits(quick):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:1500], y[:1500], X[1500:], y[1500:]


def _sparse(quick):
    """A TfidfVectorizer-like matrix: CSR, 20,000 columns, 1% non-zero, rows of unit norm.

    Like words in documents: each class has its own 2,000-word vocabulary, and a row (a
    document) takes 60 of its 200 words from its class's vocabulary, 140 from all 20,000.
    """
    n_train = 4_000 if quick else 10_000
    n_samples, n_features, n_classes, n_words = n_train + 2_000, 20_000, 10, 200
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, n_samples)
    vocabulary = n_features // n_classes
    own = y[:, None] * vocabulary + rng.integers(0, vocabulary, (n_samples, 60))
    shared = rng.integers(0, n_features, (n_samples, n_words - 60))
    columns = np.concatenate([own, shared], axis=1).ravel()
    rows = np.repeat(np.arange(n_samples), n_words)
    X = sp.csr_matrix((rng.exponential(1.0, rows.size), (rows, columns)),
                      shape=(n_samples, n_features))
    X.sum_duplicates()
    X = sp.csr_matrix(X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


_DATA = {"dense": _dense, "digits": _digits, "sparse": _sparse}

_MAIN = dict(hidden_layer_sizes=(256, 128), batch_size=256)

CONFIGS = {
    c.name: c
    for c in [
        Config("adam-f32", "dense", np.float32, dict(_MAIN, solver="adam")),
        Config("adam-f64", "dense", np.float64, dict(_MAIN, solver="adam")),
        Config("sgd-f32", "dense", np.float32,
               dict(_MAIN, solver="sgd", learning_rate_init=0.01)),
        Config("sgd-f64", "dense", np.float64,
               dict(_MAIN, solver="sgd", learning_rate_init=0.01)),
        # 1,500 samples in batches of 200: 8 small batches an epoch, per-batch overhead rules.
        Config("digits-f64", "digits", np.float64,
               dict(hidden_layer_sizes=(64,), batch_size=200, solver="adam"),
               epochs=50, quick_epochs=20),
        Config("wide-f32", "dense", np.float32,
               dict(hidden_layer_sizes=(1024, 1024), batch_size=256, solver="adam"),
               epochs=2, quick_epochs=1, repeats=3),
        Config("sparse-f64", "sparse", np.float64, dict(_MAIN, solver="adam"),
               epochs=3, quick_epochs=1, repeats=5),
    ]
}

#: The configuration of the issue's headline goals.
MAIN = "adam-f32"


def select(names):
    """The configurations called ``names`` (all of them for ``None``)."""
    if not names:
        return list(CONFIGS.values())
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; choose from {sorted(CONFIGS)}")
    return [CONFIGS[name] for name in names]


def quiet():
    """Silence the ConvergenceWarning that every fixed-epoch fit raises."""
    warnings.simplefilter("ignore", ConvergenceWarning)


def _busy_fraction(seconds):
    """Share of the machine's CPU time spent busy over the next ``seconds`` (Linux only)."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total_0, idle_0 = sample()
    time.sleep(seconds)
    total_1, idle_1 = sample()
    return 1 - (idle_1 - idle_0) / max(total_1 - total_0, 1)


def wait_for_idle(enabled, threshold=0.1, patience=120.0):
    """On a shared machine, wait (up to ``patience`` seconds) until no other process keeps
    more than ``threshold`` of the CPUs busy, so that a timed round runs alone."""
    if not enabled or not os.path.exists("/proc/stat"):
        return
    deadline = time.monotonic() + patience
    while _busy_fraction(0.5) > threshold and time.monotonic() < deadline:
        pass


def median(values):
    return statistics.median(values)


def machine():
    """A line on the machine and the BLAS kernel that runs the matrix products."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')} kernel, "
            f"{i['num_threads']} threads" for i in threadpool_info() if i["user_api"] == "blas"]
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    import scipy
    import sklearn

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
            f"{sklearn.__version__}; BLAS: {'; '.join(blas)}; OPENBLAS env: {env or 'unset'}")
