r"""How raw columns reach the network: the chain rule through a pipeline's preprocessing.

The gradient functions differentiate the network in its own input ``u``. This module carries
those derivatives back through the fitted steps before it, to the **raw columns** the user
passed, strings included.

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

**Categories.** A category has no derivative, but its one-hot indicator columns do. When the
pipeline starts with a ``OneHotEncoder``, or with a ``ColumnTransformer`` whose branches are
``OneHotEncoder`` (string or integer categories, any ``handle_unknown``), affine numeric
steps, ``"passthrough"`` or ``"drop"``, the first step's output ``v`` is an affine function of
the **encoded space** ``e``: the numeric raw columns, and the indicators of each categorical
column, which ``v`` contains as they are:

.. math::

    v = e_{\text{num}} J + \text{(the indicators, in their places)} + c .

The steps after it are affine too, so a straight path in ``e`` is a straight path in ``u``,
and integrated gradients are taken along it (from the encoded baseline to the encoded row).
The attribution of an indicator column is ``(e_x - e_b)_p \, \bar g_p``, with ``\bar g`` the
mean gradient in ``v``; the indicators of one raw column are summed into that column. The
sum over all raw columns is then the sum over ``e``, which completeness makes
``P(x) - P(baseline)``. Dropped columns get zero.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

#: Raw columns (indices) that enter the first step's output ``out`` (a slice) through ``steps``.
_Branch = namedtuple("_Branch", "name columns steps out")


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _flatten_steps(estimator, prefix=""):
    """``[(name, step), ...]`` of a possibly nested Pipeline, in order, without passthroughs."""
    if not isinstance(estimator, Pipeline):
        name = prefix.rstrip("_") or type(estimator).__name__
        return [] if estimator in (None, "passthrough") else [(name, estimator)]
    steps = []
    for name, step in estimator.steps:
        steps.extend(_flatten_steps(step, f"{prefix}{name}__"))
    return steps


def _describe(name, step):
    return f"Step {name!r} ({type(step).__name__})"


def _dense(out):
    return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64)


def _transform(step, Z):
    """``step.transform(Z)`` as a dense float64 array (feature names restored if it has them)."""
    names = getattr(step, "feature_names_in_", None)
    if names is not None and len(names) == Z.shape[1]:
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
            "to the raw input features. Gradient attributions work through OneHotEncoder "
            "and affine steps (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, PCA, "
            "TruncatedSVD, ...). To explain the network in its own inputs, call the function "
            "on pipeline[-1] with pipeline[:-1].transform(X)."
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
    """The fitted steps before the network: an encoding step, then affine steps.

    Parameters
    ----------
    steps : list of (str, transformer)
        The fitted steps before the network, flattened.
    columns : list of str
        Names of the raw columns, for messages.

    Attributes
    ----------
    encoder : (str, transformer) or None
        The first step when it is a ``OneHotEncoder`` or a ``ColumnTransformer``; its output
        ``v`` is then affine in the encoded space (see the module notes). Else None, and ``v``
        is the raw numeric input.
    branches : list of _Branch
        How numeric raw columns reach ``v``.
    indicators : dict of int to ndarray
        For each categorical raw column, the positions of its indicator columns in ``v``.
    rest : list of (str, transformer)
        The affine steps from ``v`` to the network's input.
    """

    def __init__(self, steps, columns):
        self.columns = columns
        self.encoder, self.branches, self.indicators, self.rest = None, [], {}, steps
        first = steps[0][1] if steps else None
        if isinstance(first, OneHotEncoder):
            self.encoder, self.rest = steps[0], steps[1:]
            self._add_indicators(first, range(len(columns)), 0)
        elif isinstance(first, ColumnTransformer):
            self.encoder, self.rest = steps[0], steps[1:]
            self._read_column_transformer(steps[0][0], first)
        else:  # numbers all the way: v is the raw input
            self.branches = [_Branch(None, np.arange(len(columns)), [], slice(0, len(columns)))]
        self.numeric = sorted({int(j) for branch in self.branches for j in branch.columns})

    def _add_indicators(self, encoder, columns, start):
        ends = start + np.cumsum(encoder._n_features_outs)
        for j, end, width in zip(columns, ends, encoder._n_features_outs, strict=True):
            self.indicators[int(j)] = np.arange(end - width, end)

    def _read_column_transformer(self, name, ct):
        for branch_name, step, _ in ct.transformers_:
            columns = np.asarray(ct._transformer_to_input_indices[branch_name], dtype=np.intp)
            if step == "drop" or len(columns) == 0:
                continue
            out = ct.output_indices_[branch_name]
            if isinstance(step, OneHotEncoder):
                self._add_indicators(step, columns, out.start)
            else:
                self.branches.append(_Branch(f"{name}__{branch_name}", columns,
                                             _flatten_steps(step, f"{name}__{branch_name}__"),
                                             out))

    # -- raw rows --------------------------------------------------------------------------------
    def numbers(self, X, what="X"):
        """The numeric raw columns of ``X`` as float64 (0 in the others): clear errors first."""
        values = np.zeros(X.shape, dtype=np.float64)
        for j in self.numeric:
            column = X.iloc[:, j] if _is_frame(X) else X[:, j]
            try:
                values[:, j] = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Column {self.columns[j]!r} of {what} is not numeric, and "
                    f"{self._receiver(j)} treats it as numbers. Gradients reach categories "
                    "only through a OneHotEncoder that starts the pipeline, alone or as a "
                    "branch of a ColumnTransformer."
                ) from None
            if not np.isfinite(values[:, j]).all():
                raise ValueError(
                    f"Column {self.columns[j]!r} of {what} contains NaN or infinity; gradients "
                    "need finite numbers."
                )
        return values

    def _receiver(self, j):
        """The step that first receives numeric raw column ``j``, for messages."""
        for branch in self.branches:
            if j in branch.columns and branch.steps:
                return "s" + _describe(*branch.steps[0])[1:]
            if j in branch.columns and branch.name is not None:
                return f"the passthrough {branch.name!r}"
        return "s" + _describe(*self.rest[0])[1:] if self.rest else "the network"

    def encode(self, X, numbers):
        """The first step's output ``v`` for raw rows ``X`` (``numbers``: their numeric part)."""
        if self.encoder is None:
            return numbers
        name, step = self.encoder
        try:
            return _dense(step.transform(X))
        except ValueError as exc:  # e.g. an unknown category with handle_unknown="error"
            raise ValueError(f"{_describe(name, step)} cannot encode the rows: {exc}") from exc

    def jacobian(self, numbers, n_v):
        """``J`` of shape (n_features, n_v): ``d v / d x`` for the numeric raw columns, else 0.

        ``numbers`` are the rows (numeric part) around which each branch's affinity is checked.
        """
        J = np.zeros((numbers.shape[1], n_v))
        for branch in self.branches:
            _, A = _chain(branch.steps, numbers[:, branch.columns])
            width = branch.out.stop - branch.out.start
            A = np.eye(len(branch.columns), width) if A is None else A
            J[branch.columns, branch.out] += A
        return J

    def to_network_input(self, V):
        """``(U, A)``: the network's input for first-step outputs ``V``, and ``d u / d v``."""
        return _chain(self.rest, V)

    def typical_row(self, X_train):
        """One raw row: the mean of each numeric column, the most frequent category of the
        others (``SimpleImputer``'s ``"mean"`` and ``"most_frequent"`` statistics)."""
        numbers = self.numbers(X_train, "X_train")
        means = numbers[:, self.numeric].mean(axis=0)
        others = [j for j in range(X_train.shape[1]) if j not in self.numeric]
        if _is_frame(X_train):
            table = X_train.iloc[:, others].to_numpy(dtype=object)
        else:
            table = np.asarray(X_train[:, others], dtype=object)
        modes = SimpleImputer(strategy="most_frequent").fit(table).statistics_ if others else []
        if not _is_frame(X_train):
            row = np.array(X_train[:1], dtype=object if X_train.dtype == object else np.float64)
            row[0, self.numeric], row[0, others] = means, modes
            return row
        import pandas as pd

        row = X_train.iloc[[0]].copy()
        for j, mean in zip(self.numeric, means, strict=True):
            row.isetitem(j, np.array([mean]))
        for j, mode in zip(others, modes, strict=True):
            row.isetitem(j, pd.Series([mode], index=row.index, dtype=X_train.dtypes.iloc[j]))
        return row
