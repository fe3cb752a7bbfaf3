"""Explanations of single predictions: LIME on the raw features, and exact gradient attributions.

Two families, for two questions:

* :func:`explain_lime` asks *which raw features does any classifier's decision depend on near
  this point?* It wraps the ``lime`` package (an optional dependency: ``pip install
  "skdnn[explain]"``) so that a whole pipeline is explained in its **raw input features**, with
  their names, and so that the same ``random_state`` gives the same explanation on every call.
  :func:`explanation_stability` repeats LIME with different seeds and says how far each feature's
  weight can be trusted; :func:`format_explanation` prints an explanation as a few lines of text.
* :func:`input_gradients` and :func:`integrated_gradients` work for
  :class:`~skdnn.MLPClassifierFromScratch`, alone or at the end of a pipeline of affine steps.
  They are exact, computed by the engine's backward pass, and need no sampling.

Notes
-----
**Gradient of a probability.** The network maps an input ``u`` to logits ``z`` and the output
layer maps ``z`` to probabilities. The backward pass of :class:`skdnn.nn.Network` turns any
``delta = dP/dz`` into ``dP/du``; this module only supplies ``delta`` for ``P = P(t | u)``:

.. math::

    \\text{softmax: } \\frac{\\partial p_t}{\\partial z_k} = p_t (\\delta_{tk} - p_k), \\qquad
    \\text{sigmoid: } \\frac{\\partial \\sigma(z_t)}{\\partial z_t} = \\sigma(z_t)\\,\\sigma(-z_t).

A binary classifier has a single sigmoid unit for ``P(classes_[1])``, so
``P(classes_[0]) = 1 - sigma(z)`` has the negated derivative; a multilabel classifier has one
sigmoid per label. The derivatives are taken of the exact softmax / sigmoid (``predict_proba``
clips probabilities to ``[eps, 1 - eps]``, which changes them by at most machine epsilon).

**Chain rule through a pipeline.** Every step before the network must be an affine map
``T(x) = x A + c`` (``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
``PCA`` with or without whitening, ``TruncatedSVD``, random projections, ...). Its Jacobian is
the constant matrix ``A`` of shape ``(n_in, n_out)``, so for ``u = T_k(... T_1(x))``

.. math::

    \\frac{\\partial P}{\\partial x} = A_1 A_2 \\cdots A_k \\, \\frac{\\partial P}{\\partial u}.

``A`` is read off the fitted step by finite differences, which are exact for an affine map:
row ``j`` is ``(T(x_0 + h_j e_j) - T(x_0)) / h_j``. The step is then checked on further points
(the rows being explained and a few random ones); a step that fails the check, for example
``PolynomialFeatures``, ``Normalizer`` or ``QuantileTransformer``, is named in a ``ValueError``.

**Integrated gradients** (Sundararajan, Taly and Yan, 2017) attribute ``P(t | x) - P(t | b)``
to the features along the straight path from a baseline ``b`` to ``x``:

.. math::

    \\mathrm{IG}_j(x) = (x_j - b_j) \\int_0^1
        \\frac{\\partial P(t \\mid b + \\alpha (x - b))}{\\partial x_j} \\, d\\alpha,
    \\qquad \\sum_j \\mathrm{IG}_j(x) = P(t \\mid x) - P(t \\mid b)

(*completeness*, the fundamental theorem of calculus for path integrals). The integral is
computed by **adaptive Gauss-Legendre quadrature**: the ``n_steps``-node Gauss-Legendre rule
(exact for polynomials of degree ``2 n_steps - 1``) on the whole path ``[0, 1]``, then on the
halves of the panels that need it. ``P`` is known at both ends of every panel, so each panel's
completeness error is *measured*, not estimated, and a row is refined until its panels' errors
add up to at most ``tol`` (default ``1e-4``, a hundredth of the 1% of the probability range
asked for). A fixed rule cannot promise that: a confident network moves ``P`` from 0 to 1 over
a short stretch of the path, and 64 nodes step over such a spike wherever they are put.
Smooth networks (tanh, GELU, ...) usually finish with the first panel; the kinks of ReLU-like
activations are refined locally, at a cost of a few thousand gradient evaluations per row for a
two-layer ReLU network on the digits. The per-feature attributions of ReLU networks come out
about ten times less accurate than their sum. An affine pipeline maps the straight path in
``x`` onto a straight path in the network's input, so the path is evaluated there directly.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._mlp import MLPClassifierFromScratch
from .nn.network import Params, Trace

__all__ = [
    "explain_lime",
    "explanation_stability",
    "format_explanation",
    "input_gradients",
    "integrated_gradients",
]

_INSTALL_HINT = 'pip install "skdnn[explain]"'


# =============================================================================================
# LIME
# =============================================================================================
def _lime_tabular():
    """The ``lime.lime_tabular`` module, imported only when an explanation is asked for."""
    try:
        from lime import lime_tabular
    except ImportError as exc:
        raise ImportError(
            f"LIME explanations need the optional 'lime' package. Install it with {_INSTALL_HINT} "
            "(or pip install lime)."
        ) from exc
    return lime_tabular


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _categories(column):
    """Sorted distinct values of a column and each value's code (insertion order if unorderable)."""
    numbers = np.asarray(column.tolist())
    if numbers.dtype.kind in "biuf":  # an object column holding only numbers
        column = numbers
    try:
        categories, codes = np.unique(column, return_inverse=True)
    except TypeError:  # an object column mixing types that cannot be compared
        index = {}
        codes = np.array([index.setdefault(value, len(index)) for value in column])
        categories = np.empty(len(index), dtype=object)
        categories[:] = list(index)
    return categories, codes


def _category_names(categories, user_names):
    """Display names of a categorical column's values, from lime-style ``categorical_names``."""
    names = []
    for value in categories:
        if isinstance(user_names, Mapping):
            names.append(str(user_names.get(value, value)))
        elif (
            user_names is not None
            and isinstance(value, Integral | np.integer | float | np.floating)
            and float(value).is_integer()
            and 0 <= int(value) < len(user_names)
        ):
            names.append(str(user_names[int(value)]))
        else:
            names.append(str(value))
    return names


class _LimeProblem:
    """One LIME question, validated once: the data encoded as numbers, and a predict function.

    LIME perturbs numeric matrices. Categorical columns are therefore encoded as integer codes
    here, and :meth:`decode` turns a perturbed matrix back into what the estimator was fitted
    on (a DataFrame with the original columns when it knows feature names, else an array).
    """

    def __init__(self, estimator, X_train, x, *, class_names, feature_names, categorical_features):
        check_is_fitted(estimator)
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"LIME explains class probabilities, and {type(estimator).__name__} has no "
                "predict_proba. Use a probabilistic classifier (for a perceptron: "
                "skdnn.PerceptronClassifier), or calibrate this one with "
                "sklearn.calibration.CalibratedClassifierCV."
            )
        if sp.issparse(X_train) or sp.issparse(x):
            raise ValueError("explain_lime needs dense data; convert sparse input with .toarray().")
        self.estimator = estimator
        train_columns, self.frame_columns, dtypes = self._train_columns(X_train)
        n_features = len(train_columns)
        if n_features == 0 or len(train_columns[0]) == 0:
            raise ValueError("X_train must have at least one sample and one feature.")
        expected = getattr(estimator, "n_features_in_", n_features)
        if n_features != expected:
            raise ValueError(
                f"X_train has {n_features} features, but {type(estimator).__name__} is "
                f"expecting {expected} features as input."
            )
        fitted_names = getattr(estimator, "feature_names_in_", None)
        if self.frame_columns is None and fitted_names is not None:
            self.frame_columns = list(fitted_names)
        self.to_frame = fitted_names is not None
        self.feature_names = self._feature_names(feature_names, n_features)
        row = self._row(x, n_features)
        self.categorical = self._categorical_indices(categorical_features, n_features)
        self.categories, self.dtypes = {}, dtypes
        train = np.empty((len(train_columns[0]), n_features))
        self.row = np.empty(n_features)
        for j, column in enumerate(train_columns):
            if j in self.categorical:
                categories, codes = _categories(np.append(column, row[j:j + 1]))
                self.categories[j] = categories
                train[:, j], self.row[j] = codes[:-1], codes[-1]
            else:
                train[:, j] = self._numeric(column, j, "X_train")
                self.row[j] = self._numeric(row[j:j + 1], j, "x")[0]
        self.train = train
        proba = self.predict_proba(self.row[None, :])
        self.n_outputs = proba.shape[1]
        self.predicted = int(np.argmax(proba[0]))
        # Multilabel classifiers give one independent probability per label.
        self.independent_outputs = not np.isclose(proba[0].sum(), 1.0)
        self.class_names = self._class_names(class_names)

    # -- validation ---------------------------------------------------------------------------
    @staticmethod
    def _train_columns(X_train):
        if _is_frame(X_train):
            columns = [X_train.iloc[:, j].to_numpy() for j in range(X_train.shape[1])]
            return columns, list(X_train.columns), list(X_train.dtypes)
        X_train = check_array(X_train, dtype=None, ensure_all_finite=False, input_name="X_train")
        return [X_train[:, j] for j in range(X_train.shape[1])], None, None

    def _feature_names(self, feature_names, n_features):
        if feature_names is not None:
            names = [str(name) for name in feature_names]
            if len(names) != n_features:
                raise ValueError(
                    f"feature_names has {len(names)} names for {n_features} features."
                )
            return names
        if self.frame_columns is not None:
            return [str(name) for name in self.frame_columns]
        return [f"x{j}" for j in range(n_features)]

    def _row(self, x, n_features):
        """``x`` as a 1-D object array in the column order of ``X_train``."""
        if _is_frame(x) or hasattr(x, "index") and hasattr(x, "to_numpy"):  # DataFrame / Series
            if _is_frame(x):
                if x.shape[0] != 1:
                    raise ValueError(f"x must be a single row; got a DataFrame of {x.shape[0]}.")
                x = x.iloc[0]
            if self.frame_columns is not None:
                missing = [c for c in self.frame_columns if c not in x.index]
                if missing:
                    raise ValueError(f"x lacks the columns {missing} of X_train.")
                x = x[self.frame_columns]
            x = x.to_numpy()
        row = np.asarray(x, dtype=object)
        if row.ndim == 2 and row.shape[0] == 1:
            row = row[0]
        if row.ndim != 1 or row.shape[0] != n_features:
            raise ValueError(
                f"x must be one row of {n_features} features; got an array of shape "
                f"{np.shape(x)}."
            )
        return row

    def _categorical_indices(self, categorical_features, n_features):
        if categorical_features is None:
            return []
        if isinstance(categorical_features, str | Integral):
            categorical_features = [categorical_features]
        given = list(np.asarray(categorical_features, dtype=object).ravel())
        if given and all(isinstance(f, bool | np.bool_) for f in given):
            if len(given) != n_features:
                raise ValueError(
                    f"A boolean categorical_features mask needs {n_features} entries; got "
                    f"{len(given)}."
                )
            return [j for j, flag in enumerate(given) if flag]
        labels = [str(c) for c in (self.frame_columns or [])]
        indices = []
        for feature in given:
            if isinstance(feature, Integral) and 0 <= feature < n_features:
                indices.append(int(feature))
            elif isinstance(feature, str) and feature in self.feature_names:
                indices.append(self.feature_names.index(feature))
            elif isinstance(feature, str) and feature in labels:
                indices.append(labels.index(feature))
            else:
                raise ValueError(
                    f"categorical_features names an unknown feature {feature!r}; give column "
                    f"indices in [0, {n_features}) or names among {self.feature_names}."
                )
        return sorted(set(indices))

    def _numeric(self, column, j, what):
        try:
            values = np.asarray(column, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"Feature {self.feature_names[j]!r} of {what} is not numeric; list it in "
                "categorical_features to have LIME perturb it as a category."
            ) from None
        if not np.isfinite(values).all():
            raise ValueError(
                f"Feature {self.feature_names[j]!r} of {what} contains NaN or infinity; LIME "
                "needs finite numeric values (impute them, or treat the column as categorical)."
            )
        return values

    def _class_names(self, class_names):
        if class_names is None:
            classes = getattr(self.estimator, "classes_", None)
            if classes is None or len(classes) != self.n_outputs:
                return [str(k) for k in range(self.n_outputs)]
            class_names = classes
        names = [str(name) for name in class_names]
        if len(names) != self.n_outputs:
            raise ValueError(
                f"class_names has {len(names)} names, but predict_proba returns "
                f"{self.n_outputs} columns."
            )
        return names

    # -- the model as LIME sees it ----------------------------------------------------------
    def decode(self, Z):
        """Turn a matrix of LIME samples (codes for categories) into the estimator's input."""
        columns = []
        for j in range(Z.shape[1]):
            if j in self.categories:
                codes = np.rint(Z[:, j]).astype(np.intp)
                columns.append(self.categories[j][codes])
            else:
                columns.append(Z[:, j])
        if self.to_frame:
            import pandas as pd

            frame = pd.DataFrame(dict(enumerate(columns)))
            frame.columns = self.frame_columns
            for j in self.categories:
                if self.dtypes is not None:
                    frame[self.frame_columns[j]] = frame.iloc[:, j].astype(self.dtypes[j])
            return frame
        if any(column.dtype == object for column in columns):
            return np.column_stack([column.astype(object) for column in columns])
        return np.column_stack(columns)

    def predict_proba(self, Z):
        return np.asarray(self.estimator.predict_proba(self.decode(Z)), dtype=np.float64)

    def explainer(self, lime_tabular, random_state, explainer_kwargs):
        """A new ``LimeTabularExplainer`` whose random numbers all come from ``random_state``."""
        user_names = dict(explainer_kwargs.pop("categorical_names", None) or {})
        categorical_names = {}
        for j, categories in self.categories.items():
            names = user_names.get(j, user_names.get(self.feature_names[j]))
            categorical_names[j] = _category_names(categories, names)
        return lime_tabular.LimeTabularExplainer(
            self.train,
            mode="classification",
            feature_names=self.feature_names,
            categorical_features=self.categorical,
            categorical_names=categorical_names,
            class_names=self.class_names,
            random_state=random_state,
            **explainer_kwargs,
        )


def _split_lime_kwargs(lime_tabular, kwargs):
    """Split ``**kwargs`` between ``LimeTabularExplainer`` and its ``explain_instance``."""
    accepted = inspect.signature(lime_tabular.LimeTabularExplainer.explain_instance).parameters
    instance = {k: v for k, v in kwargs.items() if k in accepted}
    return {k: v for k, v in kwargs.items() if k not in accepted}, instance


def _seeded_state(random_state):
    """A RandomState of its own for every call: an int seeds it afresh, so calls repeat."""
    if random_state is None:
        return np.random.RandomState()  # fresh entropy, not the global numpy state
    if isinstance(random_state, Integral):
        return np.random.RandomState(int(random_state))
    return check_random_state(random_state)


class _LimeSession:
    """A validated LIME question and the arguments of lime's two calls, ready to run per seed."""

    def __init__(self, estimator, X_train, x, *, class_names, feature_names,
                 categorical_features, explainer_kwargs):
        self.lime_tabular = _lime_tabular()
        self.problem = _LimeProblem(
            estimator, X_train, x, class_names=class_names, feature_names=feature_names,
            categorical_features=categorical_features,
        )
        self.constructor_kwargs, self.instance_kwargs = _split_lime_kwargs(
            self.lime_tabular, explainer_kwargs
        )
        if "labels" not in self.instance_kwargs and "top_labels" not in self.instance_kwargs:
            self.instance_kwargs["labels"] = (self.problem.predicted,)

    def explain(self, random_state, num_features, num_samples):
        explainer = self.problem.explainer(
            self.lime_tabular, _seeded_state(random_state), dict(self.constructor_kwargs)
        )
        with warnings.catch_warnings():
            if self.problem.independent_outputs:  # LIME explains each label on its own anyway
                warnings.filterwarnings("ignore", message=r"\s*Prediction probabilties do not")
            return explainer.explain_instance(
                self.problem.row, self.problem.predict_proba, num_features=num_features,
                num_samples=num_samples, **self.instance_kwargs,
            )


def _check_count(value, name, minimum=1):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def explain_lime(estimator, X_train, x, *, num_features=10, num_samples=5000, class_names=None,
                 feature_names=None, categorical_features=None, random_state=None,
                 **explainer_kwargs):
    """Explain one prediction of any probabilistic classifier with LIME, in its raw features.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline with ``predict_proba``
        Called on perturbed copies of ``x`` in the raw input space, so every step of a pipeline
        is part of what is explained.
    X_train : {ndarray, DataFrame} of shape (n_samples, n_features)
        Data whose distribution LIME samples from (usually the training set). DataFrame
        columns may hold strings for categorical features.
    x : {ndarray, DataFrame, Series} of shape (n_features,) or (1, n_features)
        The row to explain. A DataFrame/Series row is aligned to ``X_train``'s columns by name.
    num_features : int, default=10
        Features in the explanation.
    num_samples : int, default=5000
        Size of LIME's perturbed neighbourhood.
    class_names : list of str, default=None
        Defaults to ``estimator.classes_``.
    feature_names : list of str, default=None
        Defaults to the DataFrame columns, else ``estimator.feature_names_in_``, else
        ``"x0", "x1", ...``.
    categorical_features : list of int or str, or bool mask, default=None
        Columns (by index or name) that LIME perturbs by drawing categories from ``X_train``
        instead of numeric values.
    random_state : int, RandomState instance or None, default=None
        Seeds all of LIME's sampling. An int gives the same explanation on every call.
    **explainer_kwargs
        Passed to ``lime.lime_tabular.LimeTabularExplainer`` (``kernel_width``,
        ``discretize_continuous``, ``feature_selection``, ``categorical_names``, ...); the
        arguments of its ``explain_instance`` (``labels``, ``top_labels``,
        ``distance_metric``, ``model_regressor``) go there instead.

    Returns
    -------
    lime.explanation.Explanation
        Explains the predicted class (column index ``exp.available_labels()[0]``) unless
        ``labels`` or ``top_labels`` is given. ``exp.as_list()`` gives ``(rule, weight)`` pairs
        on the raw features; ``exp.as_map()`` the feature indices; ``exp.score`` the weighted
        R² of LIME's local linear surrogate.

    Raises
    ------
    ImportError
        If ``lime`` is not installed (``pip install "skdnn[explain]"``).
    ValueError
        If the estimator has no ``predict_proba`` or the data do not match it.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import explain_lime
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> clf = MLPClassifierFromScratch((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> exp = explain_lime(clf, X, X.iloc[0], num_features=2, num_samples=500, random_state=0)
    >>> exp.domain_mapper.feature_names == list(X.columns)
    True
    """
    num_features = _check_count(num_features, "num_features")
    num_samples = _check_count(num_samples, "num_samples", minimum=2)
    session = _LimeSession(
        estimator, X_train, x, class_names=class_names, feature_names=feature_names,
        categorical_features=categorical_features, explainer_kwargs=explainer_kwargs,
    )
    return session.explain(random_state, num_features, num_samples)


def explanation_stability(estimator, X_train, x, *, n_repeats=10, num_features=10,
                          num_samples=5000, random_state=None, **lime_kwargs):
    """How much of a LIME explanation survives a change of seed.

    LIME fits a linear surrogate to random perturbations, so a feature's weight is itself a
    random variable. This runs :func:`explain_lime` ``n_repeats`` times with seeds drawn from
    ``random_state`` and summarises each feature over the repeats.

    Parameters
    ----------
    estimator, X_train, x, num_features, num_samples
        As in :func:`explain_lime`.
    n_repeats : int, default=10
    random_state : int, RandomState instance or None, default=None
        Draws the ``n_repeats`` seeds.
    **lime_kwargs
        Further arguments of :func:`explain_lime` (``class_names``, ``feature_names``,
        ``categorical_features``, explainer arguments). One class is explained: the predicted
        one, or the single entry of ``labels``.

    Returns
    -------
    table : pandas.DataFrame or sklearn.utils.Bunch
        One row per feature, indexed by feature name, most stable first, with columns

        * ``top_frequency``: share of repeats in which the feature is among the top
          ``num_features``;
        * ``mean_weight``, ``std_weight``: mean and standard deviation of its LIME weight over
          all repeats, counting 0 where it was not selected;
        * ``sign_agreement``: share of repeats that select it with its majority sign (1 for a
          feature always chosen with one sign; small for noise).

        ``table.attrs`` holds ``score_mean`` and ``score_std`` (the local fit R² of LIME's
        surrogate over the repeats), ``scores``, ``label`` (the explained column of
        ``predict_proba``) and ``class_name``. Without pandas, a Bunch (a dict) of the columns
        as arrays plus ``feature`` and those entries.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import explanation_stability
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> clf = MLPClassifierFromScratch((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> table = explanation_stability(clf, X, X.iloc[0], n_repeats=3, num_features=2,
    ...                               num_samples=300, random_state=0)
    >>> list(table.columns)
    ['top_frequency', 'mean_weight', 'std_weight', 'sign_agreement']
    """
    n_repeats = _check_count(n_repeats, "n_repeats")
    num_features = _check_count(num_features, "num_features")
    num_samples = _check_count(num_samples, "num_samples", minimum=2)
    known = {"class_names", "feature_names", "categorical_features"}
    session = _LimeSession(
        estimator, X_train, x, **{k: lime_kwargs.pop(k, None) for k in known},
        explainer_kwargs=lime_kwargs,
    )
    labels = list(session.instance_kwargs.get("labels", ()))
    if session.instance_kwargs.get("top_labels") or len(labels) != 1:
        raise ValueError(
            "explanation_stability summarises one class at a time: give at most one entry in "
            "labels, and no top_labels."
        )
    label = int(labels[0])
    problem = session.problem
    n_features = len(problem.feature_names)
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=n_repeats)
    weights = np.zeros((n_repeats, n_features))
    selected = np.zeros((n_repeats, n_features), dtype=bool)
    scores = np.empty(n_repeats)
    for r, seed in enumerate(seeds):
        exp = session.explain(int(seed), num_features, num_samples)
        for j, weight in exp.local_exp[label]:
            weights[r, j], selected[r, j] = weight, True
        scores[r] = exp.score
    positive = (selected & (weights > 0)).sum(axis=0)
    negative = (selected & (weights < 0)).sum(axis=0)
    columns = {
        "top_frequency": selected.mean(axis=0),
        "mean_weight": weights.mean(axis=0),
        "std_weight": weights.std(axis=0),
        "sign_agreement": np.maximum(positive, negative) / n_repeats,
    }
    order = np.lexsort((-np.abs(columns["mean_weight"]), -columns["sign_agreement"],
                        -columns["top_frequency"]))
    names = np.asarray(problem.feature_names, dtype=object)[order]
    attrs = {
        "score_mean": float(scores.mean()),
        "score_std": float(scores.std()),
        "scores": scores,
        "label": label,
        "class_name": problem.class_names[label],
    }
    columns = {key: value[order] for key, value in columns.items()}
    try:
        import pandas as pd
    except ImportError:
        return Bunch(feature=names, **columns, **attrs)
    table = pd.DataFrame(columns, index=pd.Index(names, name="feature"))
    table.attrs.update(attrs)
    return table


def format_explanation(exp, top=5, label=None):
    """A LIME explanation as a few lines of text, strongest features first.

    Parameters
    ----------
    exp : lime.explanation.Explanation
        From :func:`explain_lime`.
    top : int, default=5
        Lines of features to show.
    label : int, default=None
        Column of ``predict_proba`` to describe; defaults to the first explained class.

    Returns
    -------
    str

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import explain_lime, format_explanation
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> exp = explain_lime(clf, X, X[0], num_samples=500, random_state=0,
    ...                    feature_names=["sepal length", "sepal width", "petal length",
    ...                                   "petal width"], class_names=["setosa", "versicolor",
    ...                                                                "virginica"])
    >>> print(format_explanation(exp, top=2))  # doctest: +ELLIPSIS
    Predicted 'setosa' with probability 1.00 (LIME's local linear fit: R² = ...).
    Features pushing that probability up (+) or down (-):
      ...petal...
      ...petal...
    """
    top = _check_count(top, "top")
    if label is None:
        label = exp.available_labels()[0]
    names = list(exp.class_names)
    proba = np.asarray(exp.predict_proba)
    lines = [
        f"Predicted {names[label]!r} with probability {proba[label]:.2f} "
        f"(LIME's local linear fit: R² = {float(exp.score):.2f}).",
        "Features pushing that probability up (+) or down (-):",
    ]
    for rule, weight in exp.as_list(label=label)[:top]:
        lines.append(f"  {weight:+.3f}  {rule}")
    return "\n".join(lines)


# =============================================================================================
# Gradient attributions
# =============================================================================================
def _flatten_steps(estimator, prefix=""):
    """``[(name, step), ...]`` of a possibly nested Pipeline, in order."""
    if not isinstance(estimator, Pipeline):
        return [(prefix.rstrip("_") or type(estimator).__name__, estimator)]
    steps = []
    for name, step in estimator.steps:
        steps.extend(_flatten_steps(step, f"{prefix}{name}__"))
    return steps


def _transform(step, Z):
    """``step.transform(Z)`` as a dense float64 array (feature names restored if it has them)."""
    names = getattr(step, "feature_names_in_", None)
    if names is not None and len(names) == Z.shape[1]:
        import pandas as pd

        Z = pd.DataFrame(Z, columns=names)
    out = step.transform(Z)
    if sp.issparse(out):
        out = out.toarray()
    return np.asarray(out, dtype=np.float64)


def _affine_jacobian(name, step, Z):
    """The matrix ``A`` of an affine step ``T(z) = z A + c``, checked on points around ``Z``.

    Returns ``A`` of shape (n_in, n_out) and ``T(Z)``. ``A`` comes from one forward difference
    per input feature, centred on the mean of ``Z`` and as long as the feature's largest
    magnitude, so rounding stays at machine precision. Raises ``ValueError`` naming the step
    if it is not affine on the rows of ``Z`` and a few random points near them.
    """
    n_in = Z.shape[1]
    center = Z.mean(axis=0)
    h = np.abs(Z).max(axis=0)
    h[h == 0] = 1.0
    rng = np.random.default_rng(0)  # fixed probe points: the check must be deterministic
    probes = np.vstack([
        center,
        center + np.diag(h),
        Z,
        center + h * rng.uniform(-1.0, 1.0, size=(4, n_in)),
    ])
    what = f"Step {name!r} ({type(step).__name__})"
    try:
        with np.errstate(all="ignore"):
            out = _transform(step, probes)
    except Exception as exc:  # whatever the failure, the step is no usable affine map
        raise ValueError(
            f"{what} could not be evaluated near the data to find its Jacobian ({exc}). Only "
            "affine steps can be differentiated through."
        ) from exc
    A = (out[1:n_in + 1] - out[0]) / h[:, None]
    check = out[n_in + 1:]
    predicted = out[0] + (probes[n_in + 1:] - center) @ A
    scale = np.abs(check).max(initial=0.0) + np.abs(predicted).max(initial=0.0)
    error = np.abs(check - predicted).max(initial=0.0)
    if not (np.isfinite(error) and error <= 1e-7 * scale + 1e-300):
        raise ValueError(
            f"{what} is not an affine map x A + c, so gradients cannot be carried through it "
            "to the raw input features. Gradient attributions work through affine steps "
            "(StandardScaler, MinMaxScaler, MaxAbsScaler, PCA, TruncatedSVD, ...). To explain "
            "the network in its own inputs, call the function on pipeline[-1] with "
            "pipeline[:-1].transform(X)."
        )
    return A, out[n_in + 1:n_in + 1 + Z.shape[0]]


class _Differentiable:
    """An MLPClassifierFromScratch, possibly behind affine steps, ready to differentiate."""

    def __init__(self, estimator, caller):
        steps = _flatten_steps(estimator)
        mlp = steps[-1][1]
        if not isinstance(mlp, MLPClassifierFromScratch):
            raise ValueError(
                f"{caller} needs an MLPClassifierFromScratch, or a Pipeline ending in one whose "
                f"earlier steps are affine; got {type(mlp).__name__}. For other classifiers, "
                "use explain_lime."
            )
        steps = [(name, step) for name, step in steps if step not in (None, "passthrough")]
        for _, step in steps:
            check_is_fitted(step)
        self.estimator = estimator
        self.steps = steps[:-1]
        self.mlp = mlp
        # float64 throughout: gradients of a float32 model are still computed exactly.
        self.network = mlp._network(dtype=np.float64)
        params = mlp._params()
        self.params = Params(*([np.asarray(a, dtype=np.float64) for a in group]
                               for group in params))
        n_outputs = mlp.n_outputs_
        if mlp.out_activation_ == "softmax":
            self.kind = "softmax"
        else:
            self.kind = "binary" if n_outputs == 1 else "multilabel"

    def validate(self, X):
        """Validate ``X`` against the estimator (features, names) as a finite float64 array."""
        return validate_data(
            self.estimator, X, reset=False, dtype=np.float64, ensure_all_finite=True
        )

    def to_network_input(self, X):
        """``(U, A)``: the network's input for raw rows ``X``, and the pipeline's Jacobian."""
        A = None
        for name, step in self.steps:
            A_step, X = _affine_jacobian(name, step, X)
            A = A_step if A is None else A @ A_step
        return X, A

    def targets(self, target, U):
        """Output column of every row: the given class label(s), or the most probable class."""
        n_samples = U.shape[0]
        if target is None:
            z = self.network.logits(self.params, U)
            if self.kind == "binary":
                return (z[:, 0] > 0).astype(np.intp)
            return np.argmax(z, axis=1)
        classes = self.mlp.classes_
        index = {label: k for k, label in enumerate(classes.tolist())}
        labels = np.asarray(target)
        if labels.ndim == 0:
            labels = np.full(n_samples, labels.item(), dtype=object)
        elif labels.ndim != 1 or labels.shape[0] != n_samples:
            raise ValueError(
                f"target must be one class label or one per row ({n_samples}); got shape "
                f"{labels.shape}."
            )
        try:
            return np.array([index[label] for label in labels.tolist()], dtype=np.intp)
        except (KeyError, TypeError):
            unknown = [label for label in labels.tolist() if label not in index]
            raise ValueError(
                f"target {unknown[0]!r} is not a class of the estimator; classes_ = {classes}."
            ) from None

    def probability(self, U, t):
        """``P(t_i | u_i)`` for every row (exact softmax / sigmoid, unclipped)."""
        z = self.network.logits(self.params, U)
        rows = np.arange(z.shape[0])
        if self.kind == "softmax":
            return softmax(z, axis=1)[rows, t]
        if self.kind == "binary":
            return expit(np.where(t == 1, z[:, 0], -z[:, 0]))
        return expit(z[rows, t])

    def gradient(self, U, t):
        """``d P(t_i | u_i) / d u_i`` for every row, shape (n_samples, n_inputs)."""
        trace = Trace([], [], [], [])
        z = self.network.logits(self.params, U, trace=trace)
        rows = np.arange(U.shape[0])
        if self.kind == "softmax":
            p = softmax(z, axis=1)
            p_t = p[rows, t]
            delta = -p_t[:, None] * p
            others = p.copy()
            others[rows, t] = 0.0
            # dp_t/dz_t = p_t (1 - p_t), with 1 - p_t summed from the others: no cancellation
            delta[rows, t] = p_t * others.sum(axis=1)
        elif self.kind == "binary":
            slope = expit(z[:, 0]) * expit(-z[:, 0])
            delta = np.where(t == 1, slope, -slope)[:, None]
        else:
            z_t = z[rows, t]
            delta = np.zeros_like(z)
            delta[rows, t] = expit(z_t) * expit(-z_t)
        return self.network.backward(self.params, trace, delta, input_gradient=True)


#: Deepest panel halving of the adaptive quadrature: panels no shorter than 2**-30 of the path.
_IG_MAX_DEPTH = 30
_ROWS_PER_PASS = 16384


def _panel_integrals(model, U_b, step, t, row, a, c, nodes, weights):
    """Gauss-Legendre estimate of ``int_a^c grad P(u_b + alpha step) d alpha`` for each panel."""
    n_nodes, n_inputs = len(nodes), U_b.shape[1]
    integrals = np.empty((len(row), n_inputs))
    per_pass = max(1, _ROWS_PER_PASS // n_nodes)
    for start in range(0, len(row), per_pass):
        panels = slice(start, start + per_pass)
        r, width = row[panels], c[panels] - a[panels]
        alpha = a[panels, None] + width[:, None] * nodes  # (n_panels, n_nodes)
        path = U_b[r, None, :] + alpha[..., None] * step[r, None, :]
        grad = model.gradient(path.reshape(-1, n_inputs), np.repeat(t[r], n_nodes))
        grad = grad.reshape(len(r), n_nodes, n_inputs)
        integrals[panels] = width[:, None] * np.einsum("k,pkd->pd", weights, grad)
    return integrals


def _integrate_gradients(model, U_b, step, t, n_steps, tol):
    """``int_0^1 grad P(t | u_b + alpha step) d alpha`` per row, by adaptive Gauss-Legendre.

    Each panel ``[a, c]`` of the path gets the ``n_steps``-node rule. Its exact value along
    ``step`` is known, ``P(c) - P(a)``, so each panel's error is measured, not estimated: a
    row whose panels' errors add up to more than ``tol`` halves its worst panels
    (those above an equal share of the remaining error budget) and integrates the halves
    again. Smooth networks finish with the single first panel; a steep sigmoid or softmax
    transition along the path (a confident network) is refined only where it happens.
    """
    n_samples = U_b.shape[0]
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    nodes, weights = (nodes + 1) / 2, weights / 2  # from [-1, 1] to [0, 1]
    row = np.arange(n_samples)
    a, c = np.zeros(n_samples), np.ones(n_samples)
    p_a, p_c = model.probability(U_b, t), model.probability(U_b + step, t)
    total = np.zeros_like(U_b)
    spent = np.zeros(n_samples)  # error of the panels accepted so far, per row
    for depth in range(_IG_MAX_DEPTH + 1):
        integrals = _panel_integrals(model, U_b, step, t, row, a, c, nodes, weights)
        error = np.abs(np.einsum("pd,pd->p", integrals, step[row]) - (p_c - p_a))
        pending = np.bincount(row, minlength=n_samples)
        active = spent + np.bincount(row, error, minlength=n_samples) > tol
        budget = tol - spent
        split = active[row] & (error * pending[row] > budget[row])
        if depth == _IG_MAX_DEPTH:
            split[:] = False
        np.add.at(total, row[~split], integrals[~split])
        spent += np.bincount(row[~split], error[~split], minlength=n_samples)
        if not split.any():
            break
        row, a, c, p_a, p_c = row[split], a[split], c[split], p_a[split], p_c[split]
        mid = (a + c) / 2
        p_mid = model.probability(U_b[row] + mid[:, None] * step[row], t[row])
        row, a, c = np.concatenate([row, row]), np.concatenate([a, mid]), np.concatenate([mid, c])
        p_a, p_c = np.concatenate([p_a, p_mid]), np.concatenate([p_mid, p_c])
    if (spent > tol).any():
        warnings.warn(
            f"Integrated gradients of {(spent > tol).sum()} rows miss completeness by up to "
            f"{spent.max():.2g} > tol={tol:g} after {_IG_MAX_DEPTH} panel halvings.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return total


def _to_raw(grad_u, A):
    return grad_u if A is None else grad_u @ A.T


def input_gradients(estimator, X, *, target=None):
    """Exact gradients ``d P(target | x) / d x`` of a fitted MLP, in the raw input features.

    Parameters
    ----------
    estimator : MLPClassifierFromScratch or Pipeline
        Fitted; a Pipeline must end in the MLP and have only affine steps before it
        (``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``PCA``, ``TruncatedSVD``,
        ...). The chain rule through them gives gradients in the pipeline's raw inputs.
    X : array-like of shape (n_samples, n_features)
        Rows at which to differentiate.
    target : class label, array-like of shape (n_samples,) of labels, or None, default=None
        Whose probability to differentiate; ``None`` takes each row's most probable class
        (for multilabel models, its most probable label).

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        ``gradients[i, j] = d P(target_i | x_i) / d x_ij``.

    Raises
    ------
    ValueError
        For an estimator that is not (a pipeline ending in) ``MLPClassifierFromScratch``, a
        step that is not affine (named in the message), mismatched data or unknown targets.
    sklearn.exceptions.NotFittedError
        If the estimator or a step is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import input_gradients
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> input_gradients(clf, X[:2], target=0).shape
    (2, 4)
    """
    model = _Differentiable(estimator, "input_gradients")
    X = model.validate(X)
    U, A = model.to_network_input(X)
    return _to_raw(model.gradient(U, model.targets(target, U)), A)


def integrated_gradients(estimator, X, *, baseline=None, target=None, n_steps=64, tol=1e-4):
    """Integrated gradients of ``P(target | x)`` for a fitted MLP, in the raw input features.

    ``attributions[i, j] = (x_ij - b_ij) * mean over the path of dP/dx_j``, integrated along the
    straight line from the baseline ``b`` to ``x_i`` by adaptive Gauss-Legendre quadrature (see
    the module notes). They satisfy completeness: ``attributions.sum(axis=1)`` equals
    ``P(target | x) - P(target | baseline)`` to within ``tol`` per row.

    Parameters
    ----------
    estimator : MLPClassifierFromScratch or Pipeline
        As in :func:`input_gradients`.
    X : array-like of shape (n_samples, n_features)
    baseline : array-like of shape (n_features,) or (n_samples, n_features), default=None
        The reference input(s), in the raw features; ``None`` is the zero vector.
    target : class label, array-like of shape (n_samples,) of labels, or None, default=None
        ``None`` takes each row's most probable class at ``x``.
    n_steps : int, default=64
        Nodes of the Gauss-Legendre rule on each panel of the path (each one gradient
        evaluation). Panels are halved until ``tol`` is met, so ``n_steps`` sets the cost of a
        smooth path, not the accuracy.
    tol : float, default=1e-4
        Largest completeness gap ``|sum_j attributions[i, j] - (P(target | x_i) -
        P(target | b_i))|`` accepted per row.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If some row still misses completeness by more than ``tol`` after 30 halvings
        (panels of 1e-9 of the path).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import integrated_gradients
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch((8,), activation="tanh", solver="lbfgs",
    ...                                random_state=0).fit(X, y)
    >>> baseline = X.mean(axis=0)
    >>> attributions = integrated_gradients(clf, X[:1], baseline=baseline, target=0)
    >>> gap = clf.predict_proba(X[:1])[0, 0] - clf.predict_proba(baseline[None])[0, 0]
    >>> bool(abs(attributions.sum() - gap) <= 1e-4)  # completeness, to within tol
    True
    """
    model = _Differentiable(estimator, "integrated_gradients")
    n_steps = _check_count(n_steps, "n_steps")
    if not (isinstance(tol, Real) and tol > 0):
        raise ValueError(f"tol must be a positive number; got {tol!r}.")
    X = model.validate(X)
    n_samples, n_features = X.shape
    if baseline is None:
        B = np.zeros_like(X)
    else:
        if _is_frame(baseline):
            B = model.validate(baseline)
        else:  # no feature names to check: a plain row of values
            B = check_array(np.atleast_2d(baseline), dtype=np.float64, input_name="baseline")
            if B.shape[1] != n_features:
                raise ValueError(
                    f"baseline has {B.shape[1]} features, but X has {n_features}."
                )
        if B.shape[0] == 1:
            B = np.repeat(B, n_samples, axis=0)
        elif B.shape[0] != n_samples:
            raise ValueError(
                f"baseline must be one row or one per row of X ({n_samples}); got {B.shape[0]}."
            )
    U, A = model.to_network_input(np.vstack([X, B]))
    U_x, U_b = U[:n_samples], U[n_samples:]
    t = model.targets(target, U_x)
    mean_gradient = _integrate_gradients(model, U_b, U_x - U_b, t, n_steps, float(tol))
    return (X - B) * _to_raw(mean_gradient, A)
