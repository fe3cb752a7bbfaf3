r"""How raw columns reach the network: the chain rule through a pipeline's preprocessing.

The gradient functions differentiate the network in its own input ``u``. This module carries
those derivatives back through the fitted steps before it, to the **raw columns** the user
passed, strings and missing values included.

Notes
-----
**Affine steps.** Every numeric step must be an affine map ``T(x) = x A + c``
(``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``, ``PCA`` with or
without whitening, ``TruncatedSVD``, random projections, ``"passthrough"``, ...). Its Jacobian
is the constant matrix ``A`` of shape ``(n_in, n_out)``, so for ``u = T_k(... T_1(x))``

.. math::

    \frac{\partial P}{\partial x} = A_1 A_2 \cdots A_k \, \frac{\partial P}{\partial u}.

``A`` is read off the fitted step by finite differences, which are exact for an affine map:
row ``j`` is ``(T(x_0 + h_j e_j) - T(x_0)) / h_j``. The step is then checked on further points
(the rows being explained and a few random ones); a step that fails the check, for example
``PolynomialFeatures``, ``Normalizer``, ``KBinsDiscretizer`` or ``QuantileTransformer``, is
named in a ``ValueError``.

**The encoded space.** Categories and missing values have no derivative, but what the
pipeline makes of them does. The explanation therefore runs in the **encoded space** ``e``,
whose columns each belong to one raw column:

* a numeric column's value, after the steps that fill in missing values
  (:data:`FILLING_STEPS`: ``SimpleImputer`` with any strategy, ``KNNImputer``), so a
  missing entry counts as the value it is imputed with;
* the 0/1 missing-value flags those steps add (``add_indicator=True``, ``MissingIndicator``);
* the indicator columns of a one-hot encoded category (:data:`INDICATOR_STEPS`:
  ``OneHotEncoder``, alone or after an imputer, so a missing category is encoded as what it is
  imputed with, or as its own category).

These steps may start the pipeline, or each branch of a ``ColumnTransformer`` that starts it.
Everything after them is affine, so the first step's output ``v`` and the network's input
``u`` are affine functions of ``e``:

.. math::

    v = e M + c, \qquad u = v A + d,

where ``M`` holds the branches' Jacobians and places the indicator columns as they are. A
straight path in ``e`` is then a straight path in ``u``, and integrated gradients are taken
along it (from the encoded baseline to the encoded row). The attribution of an encoded column
is ``(e_x - e_b)_p \, (M \bar g)_p``, with ``\bar g`` the mean gradient in ``v``; the columns
of one raw column are summed into that column. The sum over all raw columns is then the sum
over ``e``, which completeness makes ``P(x) - P(baseline)``. Dropped columns get zero.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _as_floats(column, error):
    """``column`` as float64 (NaN kept), or ``ValueError(error)`` if it does not hold numbers."""
    try:
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(error) from None


def _filled_columns(step):
    """For each output column of a fitted imputer: ``(input column, is_value)``.

    ``is_value`` is False for a missing-value flag. Read from ``get_feature_names_out``, whose
    convention (kept inputs by name, flags as ``missingindicator_<name>``) scikit-learn's
    imputers share; it also accounts for the columns an imputer drops.
    """
    n_in = step.n_features_in_
    inputs = [str(name) for name in getattr(step, "feature_names_in_",
                                            [f"x{k}" for k in range(n_in)])]
    index = {name: k for k, name in enumerate(inputs)}
    columns = []
    for name in map(str, step.get_feature_names_out()):
        flag = name.removeprefix("missingindicator_")
        if name in index:
            columns.append((index[name], True))
        elif flag in index:
            columns.append((index[flag], False))
        else:
            raise ValueError(f"{type(step).__name__} has an output {name!r} of no input column.")
    return columns


#: Steps that fill in (or flag) missing values: type -> function(fitted step) giving, for each
#: output column, (input column, whether it is the value rather than a missing-value flag).
#: The gradient path runs in their output (the encoded space), so it needs no derivative.
FILLING_STEPS = {
    SimpleImputer: _filled_columns,
    KNNImputer: _filled_columns,
    MissingIndicator: _filled_columns,
}

#: Steps that encode categories as indicator columns: type -> function(fitted step) giving the
#: number of indicator columns of each input column, in output order.
INDICATOR_STEPS = {
    OneHotEncoder: lambda step: list(step._n_features_outs),
}


def _lookup(table, step):
    """The table entry of ``step``'s type (or a base class), else None."""
    return next((entry for kind, entry in table.items() if isinstance(step, kind)), None)


#: One group of encoded columns: the columns ``columns`` of the raw (or front-filled) input go
#: through ``fills``, then either an indicator step (``steps`` None: the encoded columns sit in
#: ``v`` at ``positions``) or affine ``steps`` into the slice ``out`` of ``v``. ``owner`` and
#: ``kind`` give each encoded column's raw column and "value", "flag" or "category".
_Block = namedtuple("_Block", "name columns fills steps out positions owner kind")


def _flatten_steps(estimator, prefix=""):
    """``[(name, step), ...]`` of a possibly nested Pipeline, in order, without passthroughs."""
    if not isinstance(estimator, Pipeline):
        name = prefix.rstrip("_") or type(estimator).__name__
        return [] if estimator in (None, "passthrough") else [(name, estimator)]
    steps = []
    for name, step in estimator.steps:
        steps.extend(_flatten_steps(step, f"{prefix}{name}__"))
    return steps


def _leading_fills(steps):
    """``(fills, rest)``: the filling steps that start ``steps``, and the others."""
    n = 0
    while n < len(steps) and _lookup(FILLING_STEPS, steps[n][1]) is not None:
        n += 1
    return steps[:n], steps[n:]


def _through_fills(fills, owner, kind):
    """``owner`` and ``kind`` of the columns that come out of ``fills``."""
    for _, step in fills:
        columns = _lookup(FILLING_STEPS, step)(step)
        inputs = np.array([k for k, _ in columns], dtype=np.intp)
        owner = owner[inputs]
        kind = np.where([is_value for _, is_value in columns], kind[inputs], "flag")
    return owner, kind


def _describe(name, step):
    return f"Step {name!r} ({type(step).__name__})"


def _dense(out):
    return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64)


def _transform(step, Z):
    """``step.transform(Z)`` as a dense float64 array (feature names restored if it has them)."""
    names = getattr(step, "feature_names_in_", None)
    if names is not None and len(names) == Z.shape[1] and not _is_frame(Z):
        import pandas as pd

        Z = pd.DataFrame(Z, columns=names)
    return _dense(step.transform(Z))


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
    what = _describe(name, step)
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
            "to the raw input features. Gradient attributions work through imputers "
            "(SimpleImputer, KNNImputer), OneHotEncoder and affine steps (StandardScaler, "
            "MinMaxScaler, MaxAbsScaler, RobustScaler, PCA, TruncatedSVD, ...). To explain the "
            "network in its own inputs, call the function on pipeline[-1] with "
            "pipeline[:-1].transform(X)."
        )
    return A, out[n_in + 1:n_in + 1 + Z.shape[0]]


def _chain(steps, Z):
    """``(T(Z), A)`` through affine ``steps``; ``A`` is None (identity) when there are none."""
    A = None
    for name, step in steps:
        A_step, Z = _affine_jacobian(name, step, Z)
        A = A_step if A is None else A @ A_step
    return Z, A


class Preprocessing:
    """The fitted steps before the network: filling and encoding steps, then affine steps.

    Parameters
    ----------
    steps : list of (str, transformer)
        The fitted steps before the network, flattened.
    columns : list of str
        Names of the raw columns, for messages.

    Attributes
    ----------
    front : list of (str, transformer)
        Filling steps that start the pipeline, on all raw columns.
    encoder : (str, transformer) or None
        The first step after them when it is an indicator step or a ``ColumnTransformer``;
        its output is ``v``. Else None, and ``v`` is the (filled) numeric input.
    blocks : list of _Block
        The groups of encoded columns, in the order of the encoded space ``e``.
    owner, kind : ndarray of shape (n_encoded,)
        Raw column and kind ("value", "flag" or "category") of each encoded column.
    categories : list of int
        The raw columns that are one-hot encoded.
    rest : list of (str, transformer)
        The affine steps from ``v`` to the network's input.
    """

    def __init__(self, steps, columns):
        self.columns = columns
        self.front, steps = _leading_fills(steps)
        self._owner, self._kind = _through_fills(
            self.front, np.arange(len(columns)), np.full(len(columns), "value", dtype=object))
        self.blocks, self.encoder, self.rest = [], None, steps
        n_front = len(self._owner)
        first = steps[0] if steps else None
        if first is not None and isinstance(first[1], ColumnTransformer):
            self.encoder, self.rest = first, steps[1:]
            self._read_column_transformer(*first)
        elif first is not None and _lookup(INDICATOR_STEPS, first[1]) is not None:
            self.encoder, self.rest = first, steps[1:]
            self._add_block(None, np.arange(n_front), [first], slice(0, None))
        else:  # numbers all the way: v is the (filled) raw input
            self._add_block(None, np.arange(n_front), [], slice(0, n_front))
        self.owner = np.concatenate([block.owner for block in self.blocks] or [[]]).astype(int)
        self.kind = np.concatenate([block.kind for block in self.blocks] or [[]])
        self.categories = sorted({int(j) for j in self.owner[self.kind == "category"]})

    def _read_column_transformer(self, name, ct):
        for branch_name, step, _ in ct.transformers_:
            columns = np.asarray(ct._transformer_to_input_indices[branch_name], dtype=np.intp)
            if step == "drop" or len(columns) == 0:
                continue
            self._add_block(f"{name}__{branch_name}", columns,
                            _flatten_steps(step, f"{name}__{branch_name}__"),
                            ct.output_indices_[branch_name])

    def _add_block(self, name, columns, steps, out):
        fills, steps = _leading_fills(steps)
        owner, kind = _through_fills(fills, self._owner[columns], self._kind[columns])
        indicators = _lookup(INDICATOR_STEPS, steps[0][1]) if len(steps) == 1 else None
        if indicators is None:
            self.blocks.append(_Block(name, columns, fills, steps, out, None, owner, kind))
            return
        # An indicator step: each of its input columns becomes `width` category columns.
        owner = np.repeat(owner, indicators(steps[0][1]))
        positions = out.start + np.arange(len(owner))
        self.blocks.append(_Block(name, columns, fills, None, out, positions, owner,
                                  np.full(len(owner), "category", dtype=object)))

    # -- raw rows --------------------------------------------------------------------------------
    def _name(self, c):
        """The raw column's name of column ``c`` of the front-filled input."""
        return self.columns[self._owner[c]]

    def _receiver(self, block):
        """The step that first receives a numeric block's columns, for messages."""
        receivers = [*block.fills, *block.steps]
        if receivers:
            return "s" + _describe(*receivers[0])[1:]
        if block.name is not None:
            return f"the passthrough {block.name!r}"
        return "s" + _describe(*self.rest[0])[1:] if self.rest else "the network"

    def _numbers(self, F, block, what):
        """Columns ``block.columns`` of ``F`` as float64, NaN allowed only before a filling step."""
        values = np.empty((F.shape[0], len(block.columns)))
        for k, c in enumerate(block.columns):
            column = F.iloc[:, c] if _is_frame(F) else np.asarray(F)[:, c]
            values[:, k] = _as_floats(column, (
                f"Column {self._name(c)!r} of {what} is not numeric, and "
                f"{self._receiver(block)} treats it as numbers. Gradients reach categories "
                "only through a OneHotEncoder that starts the pipeline (after imputers, if "
                "any), alone or in a branch of a ColumnTransformer."
            ))
        if not block.fills:
            self._check_finite(values, block, what, None)
        return values

    def _check_finite(self, values, block, what, after):
        bad = ~np.isfinite(values).all(axis=0)
        if not bad.any():
            return
        k = int(np.flatnonzero(bad)[0])
        name = self._name(block.columns[k]) if after is None else self.columns[block.owner[k]]
        if after is None:
            raise ValueError(
                f"Column {name!r} of {what} contains NaN or infinity, and "
                f"{self._receiver(block)} receives it as it is; gradients need finite numbers. "
                "Impute missing values in the pipeline (a SimpleImputer before that step)."
            )
        raise ValueError(
            f"Column {name!r} of {what} still contains NaN or infinity after "
            f"s{_describe(*after)[1:]}; gradients need finite numbers."
        )

    def encode(self, X, what="X"):
        """``(E, V)``: the encoded rows and the first step's output ``v`` for raw rows ``X``."""
        F = X
        for name, step in self.front:
            F = self._apply(name, step, F, what)
        V = None
        if self.encoder is not None:
            V = _dense(self._apply(*self.encoder, F, what))
        E = []
        for block in self.blocks:
            if block.steps is None:
                E.append(V[:, block.positions])
                continue
            Z = self._numbers(F, block, what)
            for name, step in block.fills:
                Z = _dense(self._apply(name, step, Z, what))
            if block.fills:
                self._check_finite(Z, block, what, block.fills[-1])
            E.append(Z)
        E = np.hstack(E) if E else np.zeros((X.shape[0], 0))
        return E, (E if V is None else V)

    @staticmethod
    def _apply(name, step, Z, what):
        try:
            names = getattr(step, "feature_names_in_", None)
            if names is not None and not _is_frame(Z) and len(names) == Z.shape[1]:
                return _transform(step, Z)
            return step.transform(Z)
        except ValueError as exc:  # e.g. an unknown category with handle_unknown="error"
            raise ValueError(f"{_describe(name, step)} cannot transform the rows of {what}: "
                             f"{exc}") from exc

    def jacobian(self, E, n_v):
        """``M`` of shape (n_encoded, n_v): ``v = e M + c``, checked around the rows ``E``."""
        M = np.zeros((E.shape[1], n_v))
        start = 0
        for block in self.blocks:
            width = len(block.owner)
            rows = slice(start, start + width)
            if block.steps is None:
                M[rows, block.positions] = np.eye(width)
            else:
                _, A = _chain(block.steps, E[:, rows])
                M[rows, block.out] += np.eye(width, block.out.stop - block.out.start) \
                    if A is None else A
            start += width
        return M

    def to_network_input(self, V):
        """``(U, A)``: the network's input for first-step outputs ``V``, and ``d u / d v``."""
        return _chain(self.rest, V)

    def to_raw(self, values, kinds=("value", "flag", "category")):
        """Sum the encoded columns of ``values`` (those of ``kinds``) into their raw columns."""
        S = np.zeros((len(self.owner), len(self.columns)))
        keep = np.isin(self.kind, kinds)
        S[np.flatnonzero(keep), self.owner[keep]] = 1.0
        return values @ S

    def typical_row(self, X_train):
        """One raw row: the mean of each numeric column over its observed values, the most
        frequent category of the others (``SimpleImputer``'s ``"mean"`` and
        ``"most_frequent"`` statistics)."""
        numeric = sorted({int(j) for j in self.owner} - set(self.categories))
        means = []
        for j in numeric:
            column = X_train.iloc[:, j] if _is_frame(X_train) else np.asarray(X_train)[:, j]
            values = _as_floats(column, f"Column {self.columns[j]!r} of X_train is not "
                                        "numeric, and the pipeline treats it as numbers.")
            observed = values[~np.isnan(values)]
            means.append(observed.mean() if len(observed) else np.nan)
        others = [j for j in range(X_train.shape[1]) if j not in numeric]
        if _is_frame(X_train):
            table = X_train.iloc[:, others].to_numpy(dtype=object)
        else:
            table = np.asarray(X_train[:, others], dtype=object)
        modes = (SimpleImputer(strategy="most_frequent", keep_empty_features=True)
                 .fit(table).statistics_ if others else [])
        return one_row(X_train, numeric, means, others, modes,
                       object if not _is_frame(X_train) and X_train.dtype == object
                       else np.float64)


def one_row(X, numeric, values, others, levels, dtype):
    """One raw row like ``X``'s: ``values`` in the columns ``numeric``, ``levels`` in the
    columns ``others``; a one-row DataFrame with ``X``'s dtypes if ``X`` is one, else an
    array of ``dtype``."""
    if not _is_frame(X):
        row = np.empty((1, X.shape[1]), dtype=dtype)
        row[0, numeric], row[0, others] = values, levels
        return row
    import pandas as pd

    row = X.iloc[[0]].copy()
    for j, value in zip(numeric, values, strict=True):
        row.isetitem(j, np.array([value]))
    for j, level in zip(others, levels, strict=True):
        row.isetitem(j, pd.Series([level], index=row.index, dtype=X.dtypes.iloc[j]))
    return row
