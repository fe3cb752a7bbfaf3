"""LIME explanations of any classifier, in the raw features of its pipeline.

:func:`explain_lime` wraps the ``lime`` package (an optional dependency: ``pip install lime``,
or the ``explain`` extra in a clone of skdnn: ``pip install -e ".[explain]"``) so that a whole
pipeline is explained in its **raw input features**, with their names, and so that the same
``random_state`` gives the same explanation on every call. :func:`explanation_stability`
repeats LIME with different seeds and says how far each feature's weight can be trusted;
:func:`format_explanation` prints an explanation as a few lines of text. Rows with missing
values are explained too: a missing value is one more value LIME draws.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_regressor
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_array, check_is_fitted

from ._pipeline import Preprocessing, _as_floats, _flatten_steps, _is_frame

__all__ = ["explain_lime", "explanation_stability", "format_explanation"]

# skdnn is installed from its clone, not from a package index: the hint names the dependency
# itself, and the clone's extra.
_INSTALL_HINT = 'pip install lime (or, in a clone of skdnn, pip install -e ".[explain]")'


def _lime_tabular():
    """The ``lime.lime_tabular`` module, imported only when an explanation is asked for."""
    try:
        from lime import lime_tabular
    except ImportError as exc:
        raise ImportError(
            f"LIME explanations need the optional 'lime' package. Install it with "
            f"{_INSTALL_HINT}."
        ) from exc
    return lime_tabular


def _holds_numbers(column):
    try:
        np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _is_missing(values):
    """Elementwise: is each entry of a 1-D array missing (NaN, None, ``pd.NA``, ``NaT``)?"""
    try:
        import pandas as pd
    except ImportError:
        return np.array([v is None or (isinstance(v, float | np.floating) and v != v)
                         for v in values], dtype=bool)
    return np.asarray(pd.isna(pd.Series(values, dtype=object)), dtype=bool)


#: How a missing category is shown, unless a category has that name already.
_MISSING = "missing"


def _category_names(categories, user_names):
    """Display names of a categorical column's values, from lime-style ``categorical_names``."""
    names = []
    for value in categories:
        if _is_missing([value])[0]:
            names.append(_MISSING if _MISSING not in map(str, categories) else "NaN")
        elif isinstance(user_names, Mapping):
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
        self.mode = "regression" if is_regressor(estimator) else "classification"
        if self.mode == "classification" and not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"LIME explains class probabilities, and {type(estimator).__name__} has no "
                "predict_proba. Use a probabilistic classifier (for a perceptron: "
                "skdnn.PerceptronClassifier), or calibrate this one with "
                "sklearn.calibration.CalibratedClassifierCV."
            )
        if sp.issparse(X_train) or sp.issparse(x):
            raise ValueError("explain_lime needs dense data; convert sparse input with .toarray().")
        self.estimator = estimator
        train_columns, self.frame_columns, self.dtypes = self._train_columns(X_train)
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
        if categorical_features is None:  # strings, and what the pipeline one-hot encodes
            one_hot = Preprocessing(_flatten_steps(estimator)[:-1], self.feature_names).categories
            # and what a tabular MLP treats as categories (bool, integer categories, ...)
            one_hot += getattr(getattr(estimator, "preprocessor_", None),
                               "categorical_columns_", [])
            self.categorical = [j for j, column in enumerate(train_columns)
                                if j in one_hot or not _holds_numbers(column)]
        else:
            self.categorical = self._categorical_indices(categorical_features, n_features)
        self.train, self.row = self._encode(train_columns, row)
        outputs = self._predict_missing_values()
        self.outputs = np.atleast_1d(outputs)
        self.n_outputs = len(self.outputs)
        # Multilabel classifiers give one independent probability per label.
        self.independent_outputs = (self.mode == "classification"
                                    and not np.isclose(self.outputs.sum(), 1.0))
        self.class_names = None if self.mode == "regression" else self._class_names(class_names)

    def _encode(self, train_columns, row):
        """``X_train`` and ``x`` as float matrices, categories as codes of an OrdinalEncoder.

        The encoder is fitted on ``X_train`` and ``x`` together, so the row's own category is
        known even when the training data lack it; :meth:`decode` inverts it. A missing
        category is a category of its own (the last code). A missing number becomes a value
        above all observed ones, at or above ``self.missing[j]``, which LIME's discretizer
        puts in a bin of its own (see :func:`_missing_discretizer`).
        """
        n_features = len(train_columns)
        train = np.empty((len(train_columns[0]), n_features))
        encoded_row = np.empty(n_features)
        numeric = [j for j in range(n_features) if j not in self.categorical]
        self.missing = {}  # numeric column -> LIME's values from there up stand for NaN
        # How each column spells a missing value (NaN, None, pd.NA), to give it back so.
        self.markers = {}
        for j in range(n_features):
            column = np.append(np.asarray(train_columns[j], dtype=object), row[j])
            missing = _is_missing(column)
            if missing.any():
                self.markers[j] = column[np.argmax(missing)]
        for j in numeric:
            values = np.append(self._numeric(train_columns[j], j, "X_train"),
                               self._numeric(row[j:j + 1], j, "x"))
            missing = np.isnan(values)
            if missing.any():
                observed = values[~missing]
                top = observed.max(initial=0.0)
                span = max(float(np.ptp(observed)) if len(observed) else 0.0, 1.0)
                self.missing[j] = top + span
                values[missing] = top + 2 * span
            train[:, j], encoded_row[j] = values[:-1], values[-1]
        self.encoder = None
        if self.categorical:
            categories = np.empty((len(train) + 1, len(self.categorical)), dtype=object)
            for c, j in enumerate(self.categorical):
                categories[:-1, c], categories[-1, c] = train_columns[j], row[j]
                categories[_is_missing(categories[:, c]), c] = np.nan  # one missing value
            self.encoder = OrdinalEncoder().fit(categories)
            codes = self.encoder.transform(categories)
            for c, values in enumerate(self.encoder.categories_):
                # OrdinalEncoder codes NaN as NaN; LIME needs a code, NaN's place (the last).
                codes[np.isnan(codes[:, c]), c] = len(values) - 1
            train[:, self.categorical], encoded_row[self.categorical] = codes[:-1], codes[-1]
        return train, encoded_row

    def _missing_mask(self, Z):
        """Which entries of LIME samples ``Z`` stand for a missing value."""
        mask = np.zeros(Z.shape, dtype=bool)
        for j, threshold in self.missing.items():
            mask[:, j] = Z[:, j] >= threshold
        for c, j in enumerate(self.categorical):
            values = self.encoder.categories_[c]
            if len(values) and _is_missing(values[-1:])[0]:
                mask[:, j] = np.rint(Z[:, j]) == len(values) - 1
        return mask

    def _predict_missing_values(self):
        """The outputs at the row, after checking that the estimator takes missing values."""
        rows = self.row[None, :]
        with_missing = self._missing_mask(self.train).any(axis=1)
        if with_missing.any() or self._missing_mask(rows).any():
            rows = np.vstack([rows, self.train[with_missing][:5]])
        try:
            return self.predict(rows)[0]
        except ValueError as exc:
            if len(rows) == 1 and not self._missing_mask(rows).any():
                raise
            raise ValueError(
                f"{type(self.estimator).__name__} cannot predict rows with missing values, "
                f"which X_train or x have ({str(exc).splitlines()[0]}). Explain a pipeline "
                "that imputes them (a SimpleImputer before the model)."
            ) from exc

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
        values = _as_floats(column, (
            f"Feature {self.feature_names[j]!r} of {what} is not numeric; list it in "
            "categorical_features to have LIME perturb it as a category."
        ))
        if np.isinf(values).any():
            raise ValueError(
                f"Feature {self.feature_names[j]!r} of {what} contains infinity; LIME needs "
                "finite numbers, or NaN for a missing value."
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
        columns = list(Z.T)
        missing = self._missing_mask(Z)
        for j in self.missing:
            columns[j] = Z[:, j]
        if self.encoder is not None:
            codes = np.clip(np.rint(Z[:, self.categorical]), 0, None)
            values = self.encoder.inverse_transform(codes)
            for c, j in enumerate(self.categorical):
                columns[j] = values[:, c]
        for j, marker in self.markers.items():
            if missing[:, j].any():
                columns[j] = np.where(missing[:, j], marker,
                                      columns[j].astype(object) if marker is None else columns[j])
        if self.to_frame:
            import pandas as pd

            frame = pd.DataFrame(dict(enumerate(columns)))
            frame.columns = self.frame_columns
            for j in self.categorical:
                if self.dtypes is not None:
                    frame[self.frame_columns[j]] = frame.iloc[:, j].astype(self.dtypes[j])
            return frame
        if self.categorical:
            return np.column_stack([column.astype(object) for column in columns])
        return np.column_stack(columns)

    def predict(self, Z):
        """What LIME explains: class probabilities, or a regressor's predictions (1-D)."""
        X = self.decode(Z)
        if self.mode == "regression":
            return np.asarray(self.estimator.predict(X), dtype=np.float64).reshape(len(Z))
        return np.asarray(self.estimator.predict_proba(X), dtype=np.float64)

    def _missing_discretizer(self, random_state, explainer_kwargs):
        """LIME's quartile (or decile) discretizer, with a bin of its own for missing values."""
        names = [self.feature_names[j] for j in self.missing]
        if not explainer_kwargs.get("discretize_continuous", True):
            raise ValueError(
                f"The numeric features {names} have missing values, which LIME samples only "
                "as a bin of their own: keep discretize_continuous=True (the default), or "
                "impute them before explain_lime."
            )
        how = explainer_kwargs.get("discretizer", "quartile")
        if how not in _PERCENTILES:
            raise ValueError(
                f"The numeric features {names} have missing values, which LIME samples as a "
                f"bin of their own with discretizer='quartile' or 'decile'; got {how!r}."
            )
        return _missing_discretizer()(
            self.train, self.categorical, self.feature_names, percentiles=_PERCENTILES[how],
            missing=self.missing, random_state=random_state,
        )

    def explainer(self, lime_tabular, random_state, explainer_kwargs):
        """A new ``LimeTabularExplainer`` whose random numbers all come from ``random_state``."""
        user_names = dict(explainer_kwargs.pop("categorical_names", None) or {})
        categorical_names = {}
        for c, j in enumerate(self.categorical):
            names = user_names.get(j, user_names.get(self.feature_names[j]))
            categorical_names[j] = _category_names(self.encoder.categories_[c], names)
        if self.missing:
            explainer_kwargs["discretizer"] = self._missing_discretizer(random_state,
                                                                        explainer_kwargs)
        return lime_tabular.LimeTabularExplainer(
            self.train,
            mode=self.mode,
            feature_names=self.feature_names,
            categorical_features=self.categorical,
            categorical_names=categorical_names,
            class_names=self.class_names,
            random_state=random_state,
            **explainer_kwargs,
        )


#: The percentiles that bound LIME's bins, for its discretizers of those names.
_PERCENTILES = {"quartile": [25, 50, 75], "decile": list(range(10, 100, 10))}


@functools.cache
def _missing_discretizer():
    """LIME's percentile discretizer with one more bin, of the missing values (lime is
    optional, so the class is made on first use).

    A numeric column with missing values is binned by the percentiles of its *observed*
    values, as LIME's own ``"quartile"`` or ``"decile"`` discretizer would, and one bin more
    holds the missing values (encoded above a threshold, see ``_LimeProblem._encode``). LIME
    then samples missingness as often as ``X_train`` has it, and an explanation names the bin
    as ``"age=missing"``.
    """
    from lime.discretize import BaseDiscretizer

    class MissingAwareDiscretizer(BaseDiscretizer):
        def __init__(self, data, categorical_features, feature_names, *, percentiles, missing,
                     random_state=None):
            self.percentiles, self.missing = percentiles, missing
            super().__init__(data, categorical_features, feature_names,
                             random_state=random_state)
            for j, threshold in missing.items():
                observed = data[data[:, j] < threshold, j]
                name, edges = feature_names[j], self.edges[j]
                if len(edges) > 1:
                    self.names[j][-2] = f"{name} > {edges[-2]:.2f}"
                self.names[j][-1] = f"{name}={_MISSING}"
                # The bin below the missing ones ends at the largest observed value.
                self.maxs[j][-2] = observed.max(initial=edges[0])
                self.mins[j][-1], self.maxs[j][-1] = threshold, data[:, j].max(initial=threshold)

        def bins(self, data, labels):
            self.edges = {}
            for j in self.to_discretize:
                column = data[:, j]
                if j in self.missing:
                    observed = column[column < self.missing[j]]
                    edges = np.percentile(observed if len(observed) else [0.0],
                                          self.percentiles)
                    edges = np.append(np.unique(edges), self.missing[j])
                else:
                    edges = np.percentile(column, self.percentiles)
                self.edges[j] = np.unique(edges)
            return [self.edges[j] for j in self.to_discretize]

    return MissingAwareDiscretizer


@functools.cache
def _explanation_type():
    """:class:`Explanation`, made on first use (lime is optional)."""
    from lime.explanation import Explanation as LimeExplanation

    class Explanation(LimeExplanation):
        """LIME's explanation whose ``label`` defaults to the first explained class.

        That is the predicted class for explanations from :func:`explain_lime`, and the
        class that :func:`format_explanation`, :func:`explanation_stability` and
        :class:`skdnn.plot.AttributionDisplay` describe, so that all of them show the same
        weights. (LIME's own default is class column 1, whatever was predicted.)
        """

        def _label(self, label):
            if label is not None or self.mode != "classification":
                return 1 if label is None else label
            return self.available_labels()[0]

        def as_list(self, label=None, **kwargs):
            return super().as_list(label=self._label(label), **kwargs)

        def as_pyplot_figure(self, label=None, **kwargs):
            return super().as_pyplot_figure(label=self._label(label), **kwargs)

    Explanation.__module__, Explanation.__qualname__ = __name__, "Explanation"
    return Explanation


def __getattr__(name):  # pickle finds the lazily made class by its name
    if name == "Explanation":
        return _explanation_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


#: LIME explains every class by default when there are at most this many.
_MAX_ALL_LABELS = 5


class _LimeSession:
    """A validated LIME question and the arguments of lime's two calls, ready to run per seed.

    Unless ``labels`` or ``top_labels`` is given, a classifier's explanation covers every class
    when there are at most five, else the predicted class and column 1, the default ``label`` of
    LIME's ``as_list``, ``as_pyplot_figure`` and ``as_html``. (LIME's per-label fit selects
    features by forward selection when ``num_features <= 6``, which on 64 features costs as
    much as the sampling: ten labels would take ten times as long as one.) The labels are
    fitted least probable first, so that ``exp.score`` (LIME keeps the last label's) is the R²
    of the predicted class, and ``exp.available_labels()`` lists them most probable first, as
    with LIME's own ``top_labels``.
    """

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
        self.labels = None  # LIME's own choice, from the arguments given or regression mode
        given = {"labels", "top_labels"} & set(self.instance_kwargs)
        if not given and self.problem.mode == "classification":
            order = np.argsort(-self.problem.outputs, kind="stable")
            if self.problem.n_outputs > _MAX_ALL_LABELS:
                order = order[:1] if order[0] == 1 else [order[0], 1]
            self.labels = [int(k) for k in order]

    def explain(self, random_state, num_features, num_samples):
        explainer = self.problem.explainer(
            self.lime_tabular, _seeded_state(random_state), dict(self.constructor_kwargs)
        )
        kwargs = dict(self.instance_kwargs)
        if self.labels is not None:
            kwargs["labels"] = self.labels[::-1]  # the predicted class last: exp.score is its
        with warnings.catch_warnings():
            if self.problem.independent_outputs:  # LIME explains each label on its own anyway
                warnings.filterwarnings("ignore", message=r"\s*Prediction probabilties do not")
            exp = explainer.explain_instance(
                self.problem.row, self.problem.predict, num_features=num_features,
                num_samples=num_samples, **kwargs,
            )
        if self.labels is not None:
            exp.top_labels = list(self.labels)  # what available_labels() returns, in order
        exp.__class__ = _explanation_type()
        return exp


_LIME_CONSTRAINTS = {
    "estimator": [HasMethods("predict_proba"), HasMethods("predict")],
    "X_train": ["array-like"],
    "x": ["array-like"],
    "num_features": [Interval(Integral, 1, None, closed="left")],
    "num_samples": [Interval(Integral, 2, None, closed="left")],
    "class_names": ["array-like", None],
    "feature_names": ["array-like", None],
    "categorical_features": ["array-like", str, Integral, None],
    "random_state": ["random_state"],
}


@validate_params(_LIME_CONSTRAINTS, prefer_skip_nested_validation=True)
def explain_lime(estimator, X_train, x, *, num_features=10, num_samples=5000, class_names=None,
                 feature_names=None, categorical_features=None, random_state=None,
                 **explainer_kwargs):
    """Explain one prediction of any classifier or regressor with LIME, in its raw features.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``, regressor, or Pipeline ending in one
        Called on perturbed copies of ``x`` in the raw input space, so every step of a pipeline
        is part of what is explained. A regressor (``sklearn.base.is_regressor``) is explained
        in LIME's ``mode="regression"``: the weights are in units of its prediction.
    X_train : {ndarray, DataFrame} of shape (n_samples, n_features)
        Data whose distribution LIME samples from (usually the training set). DataFrame
        columns may hold strings for categorical features. Missing values (NaN, None) are
        allowed when the estimator takes them (a pipeline that imputes), see Notes.
    x : {ndarray, DataFrame, Series} of shape (n_features,) or (1, n_features)
        The row to explain, missing values allowed. A DataFrame/Series row is aligned to
        ``X_train``'s columns by name.
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
        instead of numeric values. ``None`` takes the columns that do not hold numbers (the
        string columns of a DataFrame), those that a pipeline one-hot encodes in its first
        step (a ``OneHotEncoder``, or a ``ColumnTransformer`` branch) and those that a
        ``TabularMLPClassifier`` or ``TabularMLPRegressor`` treats as categorical (its
        ``categorical_features``: bool and ``category`` columns too); give ``[]`` for none.
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
        LIME's own object (a subclass), so its calls work with their defaults:
        ``exp.as_list()``, ``exp.as_map()``, ``exp.as_pyplot_figure()``,
        ``exp.show_in_notebook()``. One default differs from LIME's: ``as_list`` and
        ``as_pyplot_figure`` describe the **first explained class** (the predicted one) when
        no ``label`` is given, not class column 1, so that they show the same weights as
        :func:`format_explanation`, :func:`explanation_stability` and
        :class:`skdnn.plot.AttributionDisplay`. On a binary problem, pass ``label=1`` for
        the positive class.

        Unless ``labels`` or ``top_labels`` is given, a classifier's explanation covers
        **every class when there are at most five**, and otherwise the predicted class and
        class column 1. ``exp.available_labels()`` lists the explained columns of
        ``predict_proba``, the predicted class first; ``exp.score`` is the weighted R² of
        LIME's local linear surrogate for the predicted class. ``exp.as_list(label=k)`` gives
        ``(rule, weight)`` pairs on the raw features for class column ``k``. A regressor's
        explanation has one set of weights, which ``exp.as_list()`` returns.

    Raises
    ------
    ImportError
        If ``lime`` is not installed (``pip install lime``).
    ValueError
        If a classifier has no ``predict_proba``, or the data do not match the estimator.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Notes
    -----
    **Missing values.** LIME perturbs ``x`` by drawing each feature from ``X_train``, and a
    missing value is drawn like any other:

    * a **missing category** is a category of its own, drawn as often as ``X_train`` has it
      and shown as ``"site=missing"`` (``"site=NaN"`` if a category is called
      ``"missing"``);
    * a **missing number** is a bin of its own next to LIME's quartiles (or deciles) of the
      column's observed values: drawn as often as ``X_train`` has it, passed to the estimator
      as NaN, and shown as ``"age=missing"``. This needs LIME's discretized mode (the default
      ``discretize_continuous=True``, ``discretizer="quartile"`` or ``"decile"``); the other
      modes raise a ``ValueError`` naming the columns.

    The estimator then sees missing values where ``X_train`` has them, so it must take them:
    an estimator that cannot is named in a ``ValueError`` that says to impute in the pipeline.

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
    >>> exp.available_labels()  # every class of three, the predicted one (setosa) first
    [0, 1, 2]
    >>> exp.as_list() == exp.as_list(label=0)  # by default, of the predicted class
    True
    """
    session = _LimeSession(
        estimator, X_train, x, class_names=class_names, feature_names=feature_names,
        categorical_features=categorical_features, explainer_kwargs=explainer_kwargs,
    )
    return session.explain(random_state, num_features, num_samples)


@validate_params(
    {
        **{key: _LIME_CONSTRAINTS[key] for key in
           ("estimator", "X_train", "x", "num_features", "num_samples", "random_state")},
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def explanation_stability(estimator, X_train, x, *, n_repeats=10, num_features=10,
                          num_samples=5000, random_state=None, **lime_kwargs):
    """How much of a LIME explanation survives a change of seed.

    LIME fits a linear surrogate to random perturbations, so a feature's weight is itself a
    random variable. This runs :func:`explain_lime` ``n_repeats`` times with seeds drawn from
    ``random_state`` and summarises each feature over the repeats.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``, regressor, or Pipeline ending in one
        The model to explain, as in :func:`explain_lime`.
    X_train : {ndarray, DataFrame} of shape (n_samples, n_features)
        The training data LIME samples from, as in :func:`explain_lime`.
    x : {ndarray, DataFrame, Series} of shape (n_features,) or (1, n_features)
        The row to explain, as in :func:`explain_lime`.
    n_repeats : int, default=10
        How many explanations to compare, each with its own seed.
    num_features : int, default=10
        Features in each explanation, as in :func:`explain_lime`.
    num_samples : int, default=5000
        Perturbed samples per explanation, as in :func:`explain_lime`.
    random_state : int, RandomState instance or None, default=None
        Draws the ``n_repeats`` seeds.
    **lime_kwargs
        Further arguments of :func:`explain_lime` (``class_names``, ``feature_names``,
        ``categorical_features``, explainer arguments). One class is explained: the predicted
        one, or the single entry of ``labels`` (for a regressor: its prediction).

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
        ``predict_proba``) and ``class_name`` (None for a regressor); ``table.columns.name``
        names the explained output (``"LIME weights of P('benign')"``), so that it prints
        with the table. Without pandas, a Bunch
        (a dict) of the columns as arrays plus ``feature`` and those entries.

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
    known = {"class_names", "feature_names", "categorical_features"}
    session = _LimeSession(
        estimator, X_train, x, **{k: lime_kwargs.pop(k, None) for k in known},
        explainer_kwargs=lime_kwargs,
    )
    problem = session.problem
    if problem.mode == "regression":
        label = 1  # where LIME keeps a regression's weights
    elif session.labels is not None:
        session.labels = session.labels[:1]  # the predicted class alone
        label = session.labels[0]
    else:
        labels = list(session.instance_kwargs.get("labels", ()))
        if session.instance_kwargs.get("top_labels") or len(labels) != 1:
            raise ValueError(
                "explanation_stability summarises one class at a time: give at most one entry "
                "in labels, and no top_labels."
            )
        label = int(labels[0])
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
        "class_name": None if problem.class_names is None else problem.class_names[label],
    }
    columns = {key: value[order] for key, value in columns.items()}
    try:
        import pandas as pd
    except ImportError:
        return Bunch(feature=names, **columns, **attrs)
    table = pd.DataFrame(columns, index=pd.Index(names, name="feature"))
    # Printed above the index: which output the weights are of.
    explained = "the prediction" if attrs["class_name"] is None else f"P({attrs['class_name']!r})"
    table.columns.name = f"LIME weights of {explained}"
    table.attrs.update(attrs)
    return table


@validate_params(
    {
        "exp": [HasMethods("as_list")],
        "top": [Interval(Integral, 1, None, closed="left")],
        "label": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def format_explanation(exp, top=5, label=None):
    """A LIME explanation as a few lines of text, strongest features first.

    Parameters
    ----------
    exp : lime.explanation.Explanation
        From :func:`explain_lime`.
    top : int, default=5
        Lines of features to show.
    label : int, default=None
        Column of ``predict_proba`` to describe; defaults to the first explained class (the
        predicted one, for explanations from :func:`explain_lime`). Ignored for regression.

    Returns
    -------
    str
        The explained output, then one line per feature with its weight, largest first.

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
    fit = f"LIME's local linear fit: R² = {float(exp.score):.2f}"
    if exp.mode == "regression":
        label = 1  # where LIME keeps a regression's weights
        lines = [f"Predicted {float(exp.predicted_value):.4g} ({fit}).",
                 "Features pushing the prediction up (+) or down (-):"]
    else:
        first = exp.available_labels()[0]
        label = first if label is None else label
        name, proba = exp.class_names[label], exp.predict_proba[label]
        head = f"Predicted {name!r} with probability {proba:.2f}"
        if label != first:  # LIME keeps the R² of the last class it fitted only
            head = f"Class {name!r} has probability {proba:.2f}"
            fit = f"LIME's R² is of class {exp.class_names[first]!r}"
        lines = [
            f"{head} ({fit}).",
            "Features pushing that probability up (+) or down (-):",
        ]
    for rule, weight in exp.as_list(label=label)[:top]:
        lines.append(f"  {weight:+.3f}  {rule}")
    return "\n".join(lines)
