"""Input that a network cannot take names its column and the fix.

scikit-learn's ``validate_data`` turns the input into a float array with NumPy, whose errors
name neither the column nor what to do: "could not convert string to float: 'b'" for a
string or ``category`` column, a ``DTypePromotionError`` for a datetime column.
:func:`validate_numeric` calls ``validate_data`` unchanged, and only when it fails looks at
the columns to say which ones are not numbers and how to make them so (a ``OneHotEncoder``
in a ``ColumnTransformer``, or numbers computed from the dates). Any other failure is
scikit-learn's own, untouched.
"""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.utils.validation import validate_data

#: The most columns a message lists by name.
_LISTED = 5


def _columns(X):
    """``[(name, values), ...]`` of a 2-D input: a DataFrame's columns by name, else by
    index; None when ``X`` has no columns to look at."""
    if hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes"):  # pandas
        return [(name, X.iloc[:, j]) for j, name in enumerate(X.columns)]
    if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        array = np.asarray(X) if hasattr(X, "dtype") else np.asarray(X, dtype=object)
        if array.ndim == 2:
            return [(j, array[:, j]) for j in range(array.shape[1])]
    return None


def _first_string(values):
    """The first string of ``values``, or None."""
    for value in np.asarray(values, dtype=object).ravel():
        if isinstance(value, (str, bytes)):
            return value
    return None


def _kind(values):
    """``("dates", None)``, ``("category", None)`` or ``("strings", an example)`` for a column
    that cannot be turned into floats for a reason a user can fix; None otherwise."""
    dtype = getattr(values, "dtype", None)
    if getattr(dtype, "kind", None) in ("M", "m"):
        return "dates", None
    try:
        np.asarray(values, dtype=np.float64)
        return None
    except (TypeError, ValueError):
        pass
    if getattr(dtype, "name", None) == "category":
        return "category", None
    example = _first_string(values)
    return None if example is None else ("strings", example)


def non_numeric_columns(X):
    """``{"dates": [names], "category": [names], "strings": [(name, example)]}`` of the
    columns of ``X`` that are not numbers; an empty dict when there are none or ``X`` has
    no columns to look at."""
    found = {}
    for name, values in _columns(X) or []:
        kind = _kind(values)
        if kind is not None:
            found.setdefault(kind[0], []).append(name if kind[0] != "strings" else
                                                 (name, kind[1]))
    return found


def _listed(names, show=repr):
    """``"Column 'a'"`` or ``"Columns 'a', 'b' and 3 more"`` (each name as ``show`` writes
    it), and whether that is plural."""
    shown = ", ".join(show(name) for name in names[:_LISTED])
    if len(names) > _LISTED:
        shown += f" and {len(names) - _LISTED} more"
    return (f"Column {shown}", False) if len(names) == 1 else (f"Columns {shown}", True)


def non_numeric_message(estimator, X):
    """The message naming the columns of ``X`` that are not numbers and the fix, or None
    when every column is numeric (or ``X`` has no columns to look at)."""
    found = non_numeric_columns(X)
    if not found:
        return None
    name = type(estimator).__name__
    sentences = [f"{name} needs numeric features."]
    strings = found.get("strings", [])
    if strings:
        columns, plural = _listed(strings, lambda pair: f"{pair[0]!r} (e.g. {pair[1]!r})")
        sentences.append(f"{columns} hold{'' if plural else 's'} strings.")
    if "category" in found:
        columns, plural = _listed(found["category"])
        sentences.append(f"{columns} {'are' if plural else 'is'} categorical (dtype "
                         "'category').")
    categorical = [column for column, _ in strings] + found.get("category", [])
    if categorical:
        sentences.append(
            f"One-hot encode {'them' if len(categorical) > 1 else 'it'} first: "
            "make_pipeline(ColumnTransformer([('categories', OneHotEncoder("
            f"handle_unknown='ignore'), {categorical!r})], remainder=StandardScaler()), "
            f"{name}()), from sklearn.pipeline, sklearn.compose and sklearn.preprocessing.")
    if "dates" in found:
        dates = found["dates"]
        columns, plural = _listed(dates)
        how = "the year or the days since a date"
        if hasattr(X, "columns"):
            column = f"X[{dates[0]!r}]"
            how = (f"the year ({column}.dt.year) or the days since a date "
                   f"(({column} - {column}.min()).dt.days)")
        sentences.append(f"{columns} hold{'' if plural else 's'} dates or times: convert "
                         f"{'them' if plural else 'it'} to numbers first, e.g. {how}.")
    return " ".join(sentences)


def _string_target_message(estimator, y):
    """The message for a regressor's target ``y`` that holds strings, or None."""
    example = _first_string(y)
    if example is None:
        return None
    return (f"{type(estimator).__name__} predicts numbers, and y holds strings (e.g. "
            f"{example!r}): for classes, use a classifier.")


@contextlib.contextmanager
def naming_columns(estimator, X, y=None):
    """A context in which a ``TypeError`` or ``ValueError`` on columns of ``X`` that are not
    numbers (strings, categories, dates) becomes a ``ValueError`` naming those columns
    (a DataFrame's by name, else by index) and the fix, chained to NumPy's error; so does
    one on a string target ``y`` of a regressor (``y`` given). Every other error passes
    unchanged."""
    try:
        yield
    except (TypeError, ValueError) as error:
        try:
            message = non_numeric_message(estimator, X)
            if message is None and y is not None:
                message = _string_target_message(estimator, y)
        except Exception:  # input the search cannot read: scikit-learn's error stands
            message = None
        if message is None:
            raise
        raise ValueError(message) from error


def validate_numeric(estimator, X, y="no_validation", **kwargs):
    """scikit-learn's ``validate_data(estimator, X, y, **kwargs)``, whose errors on columns
    that are not numbers name them and the fix (:func:`naming_columns`).

    Returns
    -------
    What ``validate_data`` returns.

    Raises
    ------
    ValueError
        When a column of ``X`` holds strings, categories or dates, naming it and the fix;
        or, with ``y_numeric=True``, when ``y`` holds strings. Every other error is
        ``validate_data``'s own.
    """
    numeric_y = y if kwargs.get("y_numeric") else None
    with naming_columns(estimator, X, numeric_y):
        validated = validate_data(estimator, X, y, **kwargs)
    # scikit-learn passes a NumPy array of strings as a numeric y; it fails later, in NumPy.
    if numeric_y is not None and np.asarray(validated[1]).dtype.kind in "OSU":
        try:
            np.asarray(validated[1], dtype=np.float64)
        except (TypeError, ValueError) as error:
            message = _string_target_message(estimator, validated[1])
            if message is None:
                raise
            raise ValueError(message) from error
    return validated
