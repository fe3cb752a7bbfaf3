"""The preprocessing that the tabular networks fit inside themselves (issue 30).

:class:`TabularPreprocessor` turns a DataFrame or an array of numbers, text, booleans,
categories and missing values into one float array that a network can take: numeric columns
centred, scaled and smoothly clipped (RealMLP-TD's recipe) or mapped to normal quantiles,
an indicator for each numeric column that had missing values, one-hot columns for the
categorical columns of few levels, and an integer code per categorical column of many levels
for a learned embedding. Its fitted state is plain data (arrays, numbers, strings, lists),
so that skops can load an estimator holding it while trusting only skdnn's classes.

:func:`standardise_target` and :func:`clip_to_range` are the regressor's target scaling and
the clipping of its predictions to the training range.
"""

from __future__ import annotations

import datetime
import numbers

import numpy as np
from scipy.special import ndtri
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

#: RealMLP-TD's bound of the smooth clip, ``smooth_clip_max_abs_value`` (pytabkit's
#: ``smooth_clip_func``): outputs lie in (-3, 3).
SMOOTH_CLIP = 3.0
#: The most quantiles stored per numeric column (scikit-learn's ``QuantileTransformer``
#: default ``n_quantiles``).
N_QUANTILES = 1000
#: scikit-learn's ``QuantileTransformer`` keeps its normal output inside
#: ``ndtri(BOUNDS) .. ndtri(1 - BOUNDS)`` (about +-5.2).
_BOUNDS = 1e-7


def smooth_clip(x, bound=SMOOTH_CLIP):
    """Clip smoothly to ``(-bound, bound)``: RealMLP's ``x / sqrt(1 + (x / bound)^2)``.

    About ``x`` near 0, and tending to ``+-bound`` for large ``|x|`` (pytabkit,
    ``models/nn_models/models.py``, ``smooth_clip_func``).

    Parameters
    ----------
    x : array-like
        The values (NaN stays NaN).
    bound : float, default=3.0
        The limit of ``|output|``.

    Returns
    -------
    clipped : ndarray of float64 of the shape of ``x``
        Computed as ``bound * z / sqrt(1 + z^2)`` with ``z = x / bound`` held within
        ``+-1e150``, so that no square overflows: finite for every finite or infinite ``x``
        (and exactly ``+-bound`` beyond ``1e150``).
    """
    z = np.asarray(x, dtype=np.float64) / bound
    np.clip(z, -1e150, 1e150, out=z)
    root = z * z
    root += 1.0
    np.sqrt(root, out=root)
    z /= root
    z *= bound
    return z


def _is_frame(X):
    """Whether ``X`` is a pandas DataFrame (pandas is not a dependency: never imported)."""
    # not hasattr(X, "dtypes"): pandas builds a Series of the dtypes on each access
    return hasattr(X, "iloc") and hasattr(X, "columns") and hasattr(X, "select_dtypes")


def _missing_value(value):
    """Whether one value is missing: None, NaN, NaT or pandas' NA."""
    if value is None or type(value).__name__ == "NAType":  # pandas.NA, not imported
        return True
    try:
        return bool(value != value)  # NaN and NaT differ from themselves
    except (TypeError, ValueError):  # no truth value (an array in a cell): not missing
        return False


def _is_missing(values):
    """A boolean mask of the missing entries (None, NaN, NaT, pandas' NA) of a 1-D column."""
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind in "mM":
        return np.isnat(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    return np.fromiter(map(_missing_value, values), dtype=bool, count=values.size)


def _floats(column):
    """A numeric column (a pandas Series or a 1-D array, of numbers, booleans and missing
    values only) as float64, NaN for missing."""
    kind = getattr(column.dtype, "kind", None)
    if hasattr(column, "to_numpy") and kind in ("i", "u", "f", "b"):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)  # pandas' nullable too
    values = np.asarray(column)
    if values.dtype.kind in "iufb":
        return values.astype(np.float64)
    values = values.astype(object)
    missing = _is_missing(values)
    out = np.full(values.shape, np.nan)
    out[~missing] = values[~missing].astype(np.float64)
    return out


def _objects(column):
    """A column (a pandas Series or a 1-D array) as a 1-D object array of its values."""
    return np.asarray(column, dtype=object)


def _factorize(column):
    """``(codes, uniques)`` of a column (a pandas Series or a 1-D array): ``uniques`` its
    distinct non-missing values (an object array), ``codes`` each row's index into them, -1
    for a missing value. A ``TypeError`` for an unhashable value (a dict, a list)."""
    if hasattr(column, "isna"):  # a Series: pandas' own factorize, vectorised
        import pandas as pd

        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)
    values = _objects(column)
    index = {}
    codes = np.fromiter((-1 if missing else index.setdefault(value, len(index))
                         for value, missing in zip(values, _is_missing(values), strict=True)),
                        dtype=np.intp, count=values.size)
    uniques = np.empty(len(index), dtype=object)
    for k, value in enumerate(index):
        uniques[k] = value
    return codes, uniques


def _distinct(column):
    """The distinct non-missing values of a column (all its values when some cannot be
    hashed: the caller's checks then name them)."""
    try:
        return _factorize(column)[1]
    except TypeError:
        values = _objects(column)
        return values[~_is_missing(values)]


def _all_missing(column):
    """Whether every value of a column is missing."""
    if hasattr(column, "isna"):
        return bool(column.isna().all())
    return bool(_is_missing(column).all())


def _is_number(value):
    """Whether ``value`` is a real number (a bool is not: it is a category)."""
    return (isinstance(value, (numbers.Real, np.number))
            and not isinstance(value, (bool, np.bool_)))


def _plain(value):
    """A level as plain Python data: NumPy scalars become Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def _level_error(name, values):
    """The ``TypeError`` for a categorical column ``name`` holding a value that cannot be a
    level (a dict, a list: anything unhashable); scikit-learn's encoders raise this type."""
    bad = next(v for v in values if not isinstance(v, (str, bytes, numbers.Number, np.generic)))
    return TypeError(f"Column {name} of X holds {bad!r} ({type(bad).__name__}): in a "
                     "categorical column each argument must be a string, a bool or a number.")


def _sorted_levels(values, name):
    """The distinct values as a list in sorted order (by type name first when they are of
    kinds that do not compare, e.g. numbers and strings in one object column)."""
    try:
        distinct = list({_plain(v): None for v in values})
    except TypeError:
        raise _level_error(name, values) from None
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=lambda v: (type(v).__name__, v))


def _listed_columns(spec, n_features, names):
    """The column indices that an explicit ``categorical_features`` lists (a boolean mask,
    indices or names), checked against ``n_features`` columns named ``names`` (None for an
    array)."""
    spec = np.asarray(spec)
    kind = spec.dtype.kind
    if kind == "b" and spec.shape == (n_features,):
        return np.flatnonzero(spec)
    if kind == "b":
        raise ValueError(f"categorical_features as a mask must have {n_features} entries, "
                         f"one per column; got shape {spec.shape}.")
    if spec.ndim != 1 or kind not in "iuUSO":
        raise ValueError("categorical_features must be 'from_dtype', None, a boolean mask, "
                         "indices or feature names.")
    if kind in "iu":
        outside = spec[(spec < -n_features) | (spec >= n_features)]
        if outside.size:
            raise ValueError(f"categorical_features has indices out of range for "
                             f"{n_features} columns: {outside.tolist()}.")
        return spec % n_features
    if names is None:
        raise ValueError("categorical_features names columns, but X has no column names; "
                         "pass a DataFrame or give indices or a mask.")
    position = {name: j for j, name in enumerate(names)}
    unknown = [name for name in spec.tolist() if name not in position]
    if unknown:
        raise ValueError(f"categorical_features names columns that X lacks: {unknown}.")
    return np.array([position[name] for name in spec.tolist()], dtype=np.intp)


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Numbers, categories and missing values in; one float array for a network out.

    Fitted inside ``TabularMLPClassifier`` and ``TabularMLPRegressor``; usable on its own.

    Parameters
    ----------
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
default="from_dtype"
        The categorical columns, as in ``HistGradientBoostingClassifier``. ``"from_dtype"``:
        a DataFrame's ``category``, ``str`` / ``string`` (pandas 3's default text dtype
        included) and ``bool`` / ``boolean`` columns, and its ``object`` columns that hold
        anything but numbers; an array's columns if it holds text or booleans, or (an
        object array) a column holding anything but numbers. None or an empty list: no
        categorical column. Else a boolean mask, column indices, or column names (a
        DataFrame only).
    numeric : {"robust", "quantile"}, default="robust"
        The transform of the numeric columns. ``"robust"`` is RealMLP-TD's (Holzmüller et
        al. 2024; pytabkit's ``tfms=['median_center', 'robust_scale', 'smooth_clip']``):
        ``z = smooth_clip((x - median) * s)`` with ``s = 1 / (q75 - q25)``, or
        ``s = 2 / (max - min)`` when the interquartile range is 0, or ``s = 0`` for a
        constant column, and ``smooth_clip(z) = z / sqrt(1 + (z / 3)^2)``.
        ``"quantile"`` is scikit-learn's ``QuantileTransformer(output_distribution="normal")``
        arithmetic (up to 1,000 quantiles of all training rows, no subsampling), stored as
        plain arrays; a constant column becomes 0.
    max_one_hot : int, default=9
        A categorical column is one-hot encoded when its levels seen in training plus one
        (the slot for missing, reserved as RealMLP reserves it) number at most
        ``max_one_hot``: up to 8 levels with RealMLP-TD's ``max_one_hot_cat_size=9``. A
        column of two levels is one column, ``-1`` for the first (sorted) level and ``+1`` for
        the second (RealMLP's ``use_1d_binary_onehot``); missing values and levels never
        seen in training are all zeros. A column of more levels becomes one integer code
        column for a learned embedding: 0 for missing, ``1..L`` for the levels in sorted
        order, ``L + 1`` for a level never seen in training.
    dtype : numpy dtype, default=np.float32
        The dtype of the output.

    Attributes
    ----------
    n_features_in_ : int
        The number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names of a DataFrame whose names are all strings.
    kinds_ : list of str
        Per input column, ``"numeric"`` or ``"categorical"``.
    numeric_columns_ : list of int
        The input columns that are numeric, in order.
    center_ : ndarray of shape (n_numeric,)
        Their training medians (``numeric="robust"``).
    scale_ : ndarray of shape (n_numeric,)
        Their robust scale factors ``s`` (``numeric="robust"``).
    quantiles_ : ndarray of shape (n_quantiles, n_numeric)
        Their training quantiles (``numeric="quantile"``).
    references_ : ndarray of shape (n_quantiles,)
        The probabilities of those quantiles.
    missing_columns_ : list of int
        The numeric input columns that had missing values in training; each has an
        indicator column. A numeric column that had none in training but has some at
        :meth:`transform` gets its missing entries filled with 0 (the centre) and no
        indicator, so that the output's shape does not change.
    categorical_columns_ : list of int
        The categorical input columns, in order.
    categories_ : list of list
        Their levels seen in training, sorted (plain Python values).
    encodings_ : list of str
        Per categorical column, ``"binary"``, ``"one_hot"`` or ``"embedding"``.
    n_numeric_out_ : int
        The number of output columns before the code columns.
    embedding_cardinalities_ : list of int
        Per code column, the rows of its embedding table: ``L + 2`` (missing, the ``L``
        levels, unknown).
    groups_ : ndarray of shape (n_output_columns,)
        Per output column, the index of the input column it comes from.

    See Also
    --------
    sklearn.preprocessing.QuantileTransformer : The quantile transform of ``numeric``.
    sklearn.preprocessing.OneHotEncoder : One-hot encoding as a separate step.

    Notes
    -----
    The output's columns are, in order: the numeric columns (transformed), the missing
    indicators, the one-hot (and binary) columns, and the code columns (as floats). A missing
    numeric entry is 0 after the transform (the median's image). The output is finite for any
    input that :meth:`transform` accepts.

    The robust transform, the one-hot threshold and the signed binary column follow pytabkit
    1.8.0, the code of Holzmüller, Grinsztajn and Steinwart, "Better by Default: Strong
    Pre-Tuned MLPs and Boosted Trees on Tabular Data" (NeurIPS 2024):
    ``models/sklearn/default_params.py`` (``RealMLP_TD_CLASS`` and ``RealMLP_TD_REG``:
    ``tfms=['one_hot', 'median_center', 'robust_scale', 'smooth_clip', 'embedding']``,
    ``max_one_hot_cat_size=9``), ``models/nn_models/pipeline.py`` (``MedianCenterFactory``,
    ``RobustScaleFactory``), ``models/nn_models/models.py`` (``smooth_clip_func``) and
    ``models/nn_models/categorical.py`` (``SingleOneHotLayer``). RealMLP takes no missing
    numeric value; the indicator and the fill are skdnn's.

    Errors name the column and the fix: datetime or timedelta columns, complex numbers,
    infinite values in a numeric column, a column that is all missing in training, and a
    column whose kind changed since :meth:`fit` (text in a numeric column; numbers in a
    column whose training levels were all text).

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn._tabular_prep import TabularPreprocessor
    >>> X = np.array([[1.0, "red"], [2.0, "blue"], [np.nan, "red"], [9.0, "green"]],
    ...              dtype=object)
    >>> prep = TabularPreprocessor().fit(X)
    >>> prep.kinds_
    ['numeric', 'categorical']
    >>> prep.get_feature_names_out().tolist()
    ['x0', 'x0_missing', 'x1_blue', 'x1_green', 'x1_red']
    >>> prep.transform([[5.0, "pink"]]).round(2)
    array([[0.73, 0.  , 0.  , 0.  , 0.  ]], dtype=float32)
    """

    _parameter_constraints = {
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "numeric": [StrOptions({"robust", "quantile"})],
        "max_one_hot": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": "no_validation",
    }

    def __init__(self, categorical_features="from_dtype", numeric="robust", max_one_hot=9,
                 dtype=np.float32):
        self.categorical_features = categorical_features
        self.numeric = numeric
        self.max_one_hot = max_one_hot
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are an indicator and a fill
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = [np.dtype(self.dtype).name]
        return tags

    # -- input -----------------------------------------------------------------------------
    def _validate(self, X, reset):
        """``X`` checked by scikit-learn's rules (2-D, non-empty, its column names and count
        against the fit's), as a DataFrame or a 2-D NumPy array."""
        if isinstance(X, (list, tuple)):
            # NumPy would make [[5.0, "pink"]] an array of text, "5.0" included
            X = np.array(X, dtype=object)
        if not _is_frame(X):
            X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
        elif X.shape[0] == 0 or X.shape[1] == 0:
            check_array(np.empty(X.shape), input_name="X")  # scikit-learn's message
        validate_data(self, X, skip_check_array=True, reset=reset)
        return X

    @staticmethod
    def _column(X, j):
        """Column ``j``: a pandas Series of a DataFrame, a 1-D array of an array."""
        return X.iloc[:, j] if _is_frame(X) else X[:, j]

    @staticmethod
    def _name(X, j):
        """Column ``j``'s name in messages: a DataFrame's column name, else its index."""
        return repr(X.columns[j]) if _is_frame(X) else str(j)

    @staticmethod
    def _dtypes(X):
        """The dtype of each column of ``X``."""
        return X.dtypes.tolist() if _is_frame(X) else [X.dtype] * X.shape[1]

    def _reject(self, X, j, dtype):
        """Raise for column ``j`` (of ``dtype``) if no kind can take it: dates, times,
        complex numbers."""
        kind = getattr(dtype, "kind", None)
        values = _distinct(self._column(X, j)) if kind == "O" else None
        name = self._name(X, j)
        # pandas' Timestamp and Timedelta are datetime's datetime and timedelta
        dated = kind in ("M", "m") or (values is not None and any(
            isinstance(v, (datetime.date, datetime.time, datetime.timedelta, np.datetime64,
                           np.timedelta64)) for v in values))
        if dated:
            how = ""
            if _is_frame(X):
                c = f"X[{X.columns[j]!r}]"
                how = (f", e.g. the year ({c}.dt.year) or the days since a date "
                       f"(({c} - {c}.min()).dt.days)")
            raise ValueError(f"Column {name} of X holds dates or times, which "
                             f"{type(self).__name__} cannot take: convert it to numbers "
                             f"first{how}.")
        if kind == "c" or (values is not None and any(
                isinstance(v, (complex, np.complexfloating)) for v in values)):
            raise ValueError(f"Column {name} of X holds complex numbers: give its real part, "
                             f"or its modulus and angle, as separate real columns.")

    def _categorical_mask(self, X):
        """A boolean mask of the categorical columns of ``X`` (fit time)."""
        n_features = X.shape[1]
        spec = self.categorical_features
        if spec is None or (not isinstance(spec, str) and len(spec) == 0):
            return np.zeros(n_features, dtype=bool)
        if isinstance(spec, str):  # "from_dtype" (the constraints allow no other string)
            return np.array([self._categorical_by_dtype(X, j, dtype)
                             for j, dtype in enumerate(self._dtypes(X))], dtype=bool)
        mask = np.zeros(n_features, dtype=bool)
        mask[_listed_columns(spec, n_features, list(X.columns) if _is_frame(X) else None)] = True
        return mask

    def _categorical_by_dtype(self, X, j, dtype):
        """``"from_dtype"``'s rule for column ``j`` of ``dtype``."""
        if type(dtype).__name__ in ("CategoricalDtype", "StringDtype"):
            return True  # pandas' category, str (pandas 3's default) and string
        kind = getattr(dtype, "kind", None)
        if kind in ("b", "U", "S"):
            return True  # NumPy's and pandas' booleans, NumPy's text
        if kind == "O":  # object, or another library's dtype of Python objects: look
            return not all(_is_number(v) for v in _distinct(self._column(X, j)))
        return False

    def _numbers(self, X, j, column, fitted):
        """A numeric column as float64 with NaN for missing; a clear error for text (even
        text that reads as a number) or other non-numbers in it."""
        kind = getattr(column.dtype, "kind", None)
        example = None
        if kind not in ("i", "u", "f", "b"):
            values = _objects(column)
            example = next((v for v in values[~_is_missing(values)]
                            if not isinstance(v, (numbers.Real, np.number, np.bool_))), None)
        if example is not None:
            name = self._name(X, j)
            when = "was numeric in fit and now " if fitted else "is numeric but "
            raise ValueError(
                f"Column {name} of X {when}holds {example!r}, which is not a number. Give "
                "it the kind it had in fit, or declare it categorical (categorical_features"
                f"=[{name}]) and fit again.")
        return _floats(column)

    def _numeric_block(self, X, numeric, fitted):
        """The columns ``numeric`` of ``X`` as one float64 array, NaN for missing; in one
        conversion when they are all numbers, else column by column (:meth:`_numbers`). A
        clear error for infinite values."""
        dtypes = self._dtypes(X)
        if all(getattr(dtypes[j], "kind", None) in ("i", "u", "f", "b") for j in numeric):
            block = (X.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
                     if _is_frame(X) else X[:, numeric].astype(np.float64))
        else:
            block = np.empty((X.shape[0], len(numeric)))
            for k, j in enumerate(numeric):
                block[:, k] = self._numbers(X, j, self._column(X, j), fitted)
        infinite = np.flatnonzero(np.isinf(block).any(axis=0))
        if infinite.size:
            raise ValueError(f"Column {self._name(X, numeric[infinite[0]])} of X holds "
                             "infinite values: replace them (e.g. with NaN, which is treated "
                             "as missing) or drop the rows.")
        return block

    # -- fit -------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the columns' kinds, scales, quantiles and levels from ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The training input.
        y : None
            Ignored.

        Returns
        -------
        self : TabularPreprocessor
            Fitted.
        """
        before = dict(self.__dict__)
        try:
            self.__dict__.update(self._fitted_state(X))
        except BaseException:  # a failed fit changes nothing (validate_data had written)
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _fitted_state(self, X):
        """Every fitted attribute learned from ``X``, as a dict (plain data)."""
        X = self._validate(X, reset=True)
        for j, dtype in enumerate(self._dtypes(X)):
            self._reject(X, j, dtype)
        mask = self._categorical_mask(X)
        numeric = np.flatnonzero(~mask).tolist()
        values = self._numeric_block(X, numeric, fitted=False)
        missing = np.isnan(values)
        empty = [numeric[k] for k in np.flatnonzero(missing.all(axis=0))]
        empty += [j for j in np.flatnonzero(mask) if _all_missing(self._column(X, j))]
        if empty:
            raise ValueError(f"Column {self._name(X, min(empty))} of X is missing in every "
                             "row of the training data: drop it, or fill it.")
        missing = missing.any(axis=0)
        state = {"numeric_columns_": numeric,
                 "missing_columns_": [j for j, m in zip(numeric, missing, strict=True) if m],
                 "categorical_columns_": np.flatnonzero(mask).tolist(),
                 "categories_": [], "encodings_": [], "text_levels_": [],
                 "kinds_": ["categorical" if m else "numeric" for m in mask]}
        state.update(_fit_robust(values) if self.numeric == "robust"
                     else _fit_quantile(values))
        for j in state["categorical_columns_"]:
            levels = _sorted_levels(_distinct(self._column(X, j)), self._name(X, j))
            state["categories_"].append(levels)
            state["text_levels_"].append(all(isinstance(v, str) for v in levels))
            state["encodings_"].append("embedding" if len(levels) + 1 > self.max_one_hot
                                       else "binary" if len(levels) == 2 else "one_hot")
        state.update(_layout(state))
        return state

    # -- transform -------------------------------------------------------------------------
    def transform(self, X):
        """The network's input: numeric, indicator, one-hot, then code columns.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input with the columns of :meth:`fit`.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_output_columns)
            Finite, of ``dtype``; column ``k`` comes from input column ``groups_[k]``.
        """
        check_is_fitted(self, "kinds_")
        X = self._validate(X, reset=False)
        for j, dtype in enumerate(self._dtypes(X)):
            self._reject(X, j, dtype)
        out = np.zeros((X.shape[0], self.groups_.size), dtype=self.dtype)
        n_num, n_missing = len(self.numeric_columns_), len(self.missing_columns_)
        values = self._numeric_block(X, self.numeric_columns_, fitted=True)
        missing = np.isnan(values)
        out[:, :n_num] = np.where(missing, 0.0, self._scale(values))
        indicated = [self.numeric_columns_.index(j) for j in self.missing_columns_]
        out[:, n_num:n_num + n_missing] = missing[:, indicated]
        position = n_num + n_missing
        code_position = self.n_numeric_out_
        for j, levels, encoding, text in zip(self.categorical_columns_, self.categories_,
                                             self.encodings_, self.text_levels_, strict=True):
            codes, missing = self._codes(X, j, self._column(X, j), levels, text)
            if encoding == "embedding":
                out[:, code_position] = np.where(
                    missing, 0, np.where(codes < 0, len(levels) + 1, codes + 1))
                code_position += 1
            elif encoding == "binary":
                out[:, position] = np.select([codes == 0, codes == 1], [-1.0, 1.0], 0.0)
                position += 1
            else:
                rows = np.flatnonzero(codes >= 0)
                out[rows, position + codes[rows]] = 1.0
                position += len(levels)
        return out

    def _scale(self, values):
        """The numeric columns (NaN kept, later replaced) transformed."""
        with np.errstate(invalid="ignore", over="ignore"):
            if self.numeric == "robust":
                return smooth_clip((values - self.center_) * self.scale_)
            return np.column_stack([self._normal_quantiles(values[:, k], k)
                                    for k in range(values.shape[1])] or [values])

    def _normal_quantiles(self, values, k):
        """scikit-learn's ``QuantileTransformer(output_distribution="normal")`` transform of
        one column: the mean of interpolating upwards and downwards (so that repeated
        quantiles map to their middle), then the normal quantile function, bounded."""
        quantiles, references = self.quantiles_[:, k], self.references_
        lower, upper = quantiles[0], quantiles[-1]
        if lower == upper:  # a constant column carries nothing: its centre, 0
            return np.zeros_like(values)
        p = 0.5 * (np.interp(values, quantiles, references)
                   - np.interp(-values, -quantiles[::-1], -references[::-1]))
        p[values + _BOUNDS > upper] = 1.0  # scikit-learn's bounds, in its order
        p[values - _BOUNDS < lower] = 0.0
        bound = ndtri(_BOUNDS - np.spacing(1))
        return np.clip(ndtri(p), bound, -bound)

    def _codes(self, X, j, column, levels, text):
        """``(codes, missing)``: the index of each value among ``levels`` (-1 for a missing
        or unknown value), and a mask of the missing values; a clear error for numbers in a
        column whose training levels were all text."""
        try:
            rows, uniques = _factorize(column)
        except TypeError:
            raise _level_error(self._name(X, j), _distinct(column)) from None
        index = {level: code for code, level in enumerate(levels)}
        found = np.fromiter((index.get(value, -1) for value in uniques), dtype=np.intp,
                            count=uniques.size)
        if text:
            number = next((v for v in uniques[found < 0] if _is_number(v)), None)
            if number is not None:
                raise ValueError(
                    f"Column {self._name(X, j)} of X held text in fit and now holds "
                    f"{number!r}, a number. Give it the kind it had in fit (e.g. "
                    f"astype(str)), or fit again.")
        return np.append(found, -1)[rows], rows < 0  # a missing row (-1) takes the -1

    def get_feature_names_out(self, input_features=None):
        """Get the output columns' names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input columns' names; ``feature_names_in_`` or ``x0, x1, ...`` when None.

        Returns
        -------
        names : ndarray of str of shape (n_output_columns,)
            ``name`` for a numeric column, ``name_missing`` for its indicator,
            ``name_level`` for a one-hot column (the second level for a binary column) and
            ``name_code`` for a code column.
        """
        check_is_fitted(self, "kinds_")
        names = _check_feature_names_in(self, input_features)
        out = [str(names[j]) for j in self.numeric_columns_]
        out += [f"{names[j]}_missing" for j in self.missing_columns_]
        codes = []
        for j, levels, encoding in zip(self.categorical_columns_, self.categories_,
                                       self.encodings_, strict=True):
            if encoding == "embedding":
                codes.append(f"{names[j]}_code")
            elif encoding == "binary":
                out.append(f"{names[j]}_{levels[1]}")
            else:
                out += [f"{names[j]}_{level}" for level in levels]
        return np.asarray(out + codes, dtype=object)


def _fit_robust(values):
    """RealMLP-TD's median centring and robust scale of each column of ``values`` (NaN for
    missing), on its non-missing values: ``{"center_": ..., "scale_": ...}``."""
    n = values.shape[1]
    center, scale = np.zeros(n), np.zeros(n)
    for k in range(n):
        v = values[:, k][~np.isnan(values[:, k])]
        q25, median, q75 = np.quantile(v, [0.25, 0.5, 0.75])
        spread = q75 - q25
        if spread == 0.0:  # pytabkit's RobustScaleFactory: half the range instead
            spread = 0.5 * (v.max() - v.min())
        center[k] = median
        scale[k] = 1.0 / spread if spread > 0.0 else 0.0
    return {"center_": center, "scale_": scale}


def _fit_quantile(values):
    """scikit-learn's ``QuantileTransformer`` quantiles of each column of ``values`` (NaN for
    missing), on its non-missing values: ``{"quantiles_": ..., "references_": ...}``."""
    references = np.linspace(0.0, 1.0, max(1, min(N_QUANTILES, values.shape[0])))
    if values.shape[1] == 0:
        return {"quantiles_": np.empty((references.size, 0)), "references_": references}
    quantiles = np.nanpercentile(values, references * 100, axis=0)
    # interpolation can make neighbours decrease by a rounding error
    return {"quantiles_": np.maximum.accumulate(quantiles, axis=0),
            "references_": references}


def _layout(state):
    """The output layout of a fitted state: ``groups_``, ``n_numeric_out_`` and
    ``embedding_cardinalities_``."""
    groups = list(state["numeric_columns_"]) + list(state["missing_columns_"])
    codes, cardinalities = [], []
    for j, levels, encoding in zip(state["categorical_columns_"], state["categories_"],
                                   state["encodings_"], strict=True):
        if encoding == "embedding":
            codes.append(j)
            cardinalities.append(len(levels) + 2)
        else:
            groups += [j] * (1 if encoding == "binary" else len(levels))
    return {"groups_": np.asarray(groups + codes, dtype=np.intp),
            "n_numeric_out_": len(groups), "embedding_cardinalities_": cardinalities}


# -- the regressor's target ----------------------------------------------------------------------
def standardise_target(y, sample_weight=None):
    """The centre and scale that standardise a regression target.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The finite target.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weights of the mean and standard deviation.

    Returns
    -------
    mean : float or ndarray of shape (n_outputs,)
        The (weighted) mean of ``y``.
    scale : float or ndarray of shape (n_outputs,)
        Its (weighted) standard deviation; 1 where that is 0 (a constant target), so that
        ``(y - mean) / scale`` is always finite.
    """
    y = np.asarray(y, dtype=np.float64)
    mean = np.average(y, axis=0, weights=sample_weight)
    scale = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=sample_weight))
    # a spread below rounding error of the mean is a constant target
    tiny = scale <= 8 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
    scale = np.where(tiny, 1.0, scale)
    return (float(mean), float(scale)) if y.ndim == 1 else (mean, scale)


def target_range(y):
    """Return the training target's range, for :func:`clip_to_range`.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The training target.

    Returns
    -------
    low, high : float or ndarray of shape (n_outputs,)
        Its minimum and maximum (per output for a 2-D ``y``).
    """
    y = np.asarray(y, dtype=np.float64)
    low, high = y.min(axis=0), y.max(axis=0)
    return (float(low), float(high)) if y.ndim == 1 else (low, high)


def clip_to_range(predictions, low, high):
    """Clip predictions to the training target's range ``[low, high]``.

    RealMLP-TD's ``clamp_output``: a network can extrapolate wildly outside it.

    Parameters
    ----------
    predictions : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        A regressor's predictions.
    low, high : float or ndarray of shape (n_outputs,)
        From :func:`target_range`.

    Returns
    -------
    clipped : ndarray of the shape of ``predictions``
        The predictions, each within ``[low, high]``.
    """
    return np.clip(predictions, low, high)
