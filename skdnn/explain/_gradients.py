r"""Exact gradient attributions of an MLP, chained through its pipeline to the raw features.

Notes
-----
**Gradient of the output.** The network maps an input ``u`` to logits ``z`` and the output
layer maps ``z`` to probabilities. The backward pass of :class:`skdnn.nn.Network` turns any
``delta = dP/dz`` into ``dP/du``; this module only supplies ``delta`` for ``P = P(t | u)``:

.. math::

    \text{softmax: } \frac{\partial p_t}{\partial z_k} = p_t (\delta_{tk} - p_k), \qquad
    \text{sigmoid: } \frac{\partial \sigma(z_t)}{\partial z_t} = \sigma(z_t)\,\sigma(-z_t).

A binary classifier has a single sigmoid unit for ``P(classes_[1])``, so
``P(classes_[0]) = 1 - sigma(z)`` has the negated derivative; a multilabel classifier has one
sigmoid per label. The derivatives are taken of the exact softmax / sigmoid (``predict_proba``
clips probabilities to ``[eps, 1 - eps]``, which changes them by at most machine epsilon).
A regressor's output is its prediction: the identity, ``P = z_t`` and ``delta = e_t``, or
with the Poisson loss the exponential, ``P = exp(z_t)`` and ``delta = exp(z_t) e_t``.

**Through the pipeline.** ``_pipeline.py`` carries ``dP/du`` back to the raw columns through
the steps before the network (imputers, one-hot encoded categories and affine steps, see its
notes).

**Tabular MLPs.** ``TabularMLPClassifier`` and ``TabularMLPRegressor`` preprocess their raw
columns themselves, and embed a categorical column of many levels as a learned vector. Their
path runs in the network's *embedded input* (:meth:`skdnn.nn.tabular.TabularNetwork.embed`):
the preprocessed columns (scaled numbers, missing-value indicators, one-hot columns), with
each code column replaced by its embedding vector, where every entry has a gradient. Each
entry comes from one raw column (the preprocessing's ``groups_``), whose attribution is the
sum of its entries'.

**Integrated gradients** (Sundararajan, Taly and Yan, 2017) attribute ``P(t | x) - P(t | b)``
to the features along the straight path from a baseline ``b`` to ``x``:

.. math::

    \mathrm{IG}_j(x) = (x_j - b_j) \int_0^1
        \frac{\partial P(t \mid b + \alpha (x - b))}{\partial x_j} \, d\alpha,
    \qquad \sum_j \mathrm{IG}_j(x) = P(t \mid x) - P(t \mid b)

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
about ten times less accurate than their sum. The pipeline maps the straight path in the
encoded raw columns onto a straight path in the network's input, so the path is evaluated
there directly.
"""

from __future__ import annotations

from collections import Counter
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._blocks import in_row_blocks
from .._tabular_prep import _is_missing
from .._warnings import warn
from ..nn.layout import AffineOutput
from ._pipeline import Preprocessing, _flatten_steps, _is_frame, one_row

__all__ = ["input_gradients", "integrated_gradients"]



class _Passes:
    """A fitted network's prediction-mode passes, through the engine's interface
    (:class:`skdnn.nn.layout.Model`): the logits, and the gradient of ``P`` down to the
    input, in float64."""

    def __init__(self, estimator):
        # float64 throughout: gradients of a float32 model are still computed exactly.
        self.network, self.theta = estimator.as_engine(dtype=np.float64)
        # A row's forward pass, then its deltas.
        self.row_bytes = 2 * self.network.row_bytes

    def logits(self, U):
        return self.network.forward(self.theta, U)[0]

    def logits_with_backward(self, U):
        """The logits, and a function from ``delta = dP/dz`` to ``dP/dU``."""
        z, trace = self.network.forward(self.theta, U)
        return z, lambda delta: self.network.backward(self.theta, trace, delta,
                                                      input_gradient=True)[1]


class _EmbeddedPasses(_Passes):
    """A tabular MLP's passes from its **embedded input** ``U``: the preprocessed columns,
    with each embedded categorical column's code replaced by its embedding vector
    (:meth:`skdnn.nn.tabular.TabularNetwork.embed`), where every column has a gradient."""

    def __init__(self, estimator):
        super().__init__(estimator)
        self.scale, self.offset = 1.0, 0.0
        if isinstance(self.network, AffineOutput):  # the regressor's: in the target's units
            self.scale, self.offset = self.network.scale, self.network.offset
            self.network = self.network.network

    def embed(self, Xt):
        return self.network.embed(self.theta, Xt)

    def logits(self, U):
        return self.network.forward_embedded(self.theta, U)[0] * self.scale + self.offset

    def logits_with_backward(self, U):
        z, trace = self.network.forward_embedded(self.theta, U)
        return z * self.scale + self.offset, lambda delta: self.network.backward(
            self.theta, trace, delta * self.scale, input_gradient=True)[1]


class _Differentiable:
    """A skdnn MLP, possibly at the end of a pipeline, ready to differentiate.

    ``P`` is a class probability (``predict_proba``'s column) for a classifier and the
    prediction (one output column) for a regressor.
    """

    def __init__(self, estimator, caller):
        steps = _flatten_steps(estimator)
        mlp = steps[-1][1] if steps else estimator
        if not hasattr(mlp, "as_engine"):  # the networks of skdnn's engine
            raise ValueError(
                f"{caller} needs an MLPClassifierFromScratch, MLPRegressorFromScratch, "
                "TabNetClassifier or TabNetRegressor, or a Pipeline ending in one "
                f"whose earlier steps it can differentiate; got {type(mlp).__name__}. For "
                "other models, use explain_lime."
            )
        for _, step in steps:
            check_is_fitted(step)
        self.estimator, self.mlp, self.steps = estimator, mlp, steps[:-1]
        self.passes = _Passes(mlp)
        # A tabular MLP (its network embeds its input): explained from its own raw columns.
        # (TabNet's network embeds its categorical codes too, but has no embedded input.)
        self.tabular = hasattr(self.passes.network, "forward_embedded")
        if self.tabular and self.steps:
            raise ValueError(
                f"{caller} explains a {type(mlp).__name__} in its own raw columns (it "
                "preprocesses them itself), not after other steps: pass the estimator "
                "alone, fitted on the raw columns.")
        if self.tabular:
            self.passes = _EmbeddedPasses(mlp)
        cat_idxs = getattr(self.passes.network, "cat_idxs", [])
        if cat_idxs:
            # The columns by name where the network was fitted on a DataFrame.
            names = getattr(mlp, "feature_names_in_", None)
            listed = ", ".join(f"column {j}" if names is None else repr(str(names[j]))
                               for j in cat_idxs)
            raise ValueError(
                f"{caller} needs numeric inputs, but this {type(mlp).__name__} embeds "
                f"its categorical columns ({listed}), whose codes have no gradient. Use "
                "its explain() method or explain_lime.")
        if mlp.out_activation_ in ("softmax", "identity", "exp"):  # the last two: regressors
            self.kind = mlp.out_activation_
        else:
            self.kind = "binary" if mlp.n_outputs_ == 1 else "multilabel"

    def validate(self, X, what="X"):
        """``X`` checked against the estimator (columns, names); strings are kept.

        A DataFrame stays a DataFrame, so that a ColumnTransformer finds its columns by name.
        Builds :attr:`preprocessing` on the first call.
        """
        if not _is_frame(X):
            X = check_array(X, dtype=None, ensure_all_finite=False, input_name=what)
        validate_data(self.estimator, X, reset=False, skip_check_array=True)
        if not hasattr(self, "preprocessing"):
            names = getattr(self.estimator, "feature_names_in_", None)
            names = [f"x{j}" for j in range(X.shape[1])] if names is None else list(names)
            self.preprocessing = Preprocessing(self.steps, names)
        return X

    def baseline(self, baseline, X, X_train):
        """Raw baseline rows, one per row of ``X``: given, typical of ``X_train``, or zero."""
        pre, n_samples = self.preprocessing, X.shape[0]
        if baseline is None and self.tabular:
            X_train = None if X_train is None else self.validate(X_train, "X_train")
            B = _typical_tabular_row(self.mlp.preprocessor_, X, X_train)
        elif baseline is None and X_train is not None:
            B = pre.typical_row(self.validate(X_train, "X_train"))
        elif baseline is None:
            if pre.categories:
                raise ValueError(
                    "The pipeline one-hot encodes categories, which have no zero: give "
                    "integrated_gradients a baseline (a raw row) or X_train (for its typical "
                    "row)."
                )
            B = np.zeros((1, X.shape[1]))
        else:
            B = baseline
            if hasattr(B, "to_frame") and not _is_frame(B):  # a pandas Series: one row
                B = B.to_frame().T
            if not _is_frame(B):
                B = np.atleast_2d(np.asarray(B, dtype=object if _is_frame(X) else None))
            if B.ndim != 2 or B.shape[1] != X.shape[1]:
                raise ValueError(f"baseline has {B.shape[-1]} features, but X has {X.shape[1]}.")
            if _is_frame(X) and not _is_frame(B):
                import pandas as pd

                B = pd.DataFrame(B, columns=X.columns)
            B = self.validate(B, "baseline")
        if B.shape[0] not in (1, n_samples):
            raise ValueError(
                f"baseline must be one row or one per row of X ({n_samples}); got {B.shape[0]}."
            )
        rows = np.zeros(n_samples, dtype=np.intp) if B.shape[0] == 1 else np.arange(n_samples)
        return B.iloc[rows] if _is_frame(B) else B[rows]

    def targets(self, target, U):
        """Output column of every row: the given class label(s), else the most probable class
        (for a regressor: the given output index, else output 0)."""
        n_samples = U.shape[0]
        regression = self.kind in ("identity", "exp")
        if target is None:
            if regression:
                return np.zeros(n_samples, dtype=np.intp)
            z = in_row_blocks(lambda rows: self.passes.logits(U[rows]), n_samples,
                              self.passes.row_bytes)
            if self.kind == "binary":
                return (z[:, 0] > 0).astype(np.intp)
            return np.argmax(z, axis=1)
        classes = np.arange(self.mlp.n_outputs_) if regression else self.mlp.classes_
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
            what = "an output index of the regressor" if regression else "a class of the estimator"
            raise ValueError(f"target {unknown[0]!r} is not {what}; they are {classes}.") from None

    def probability(self, U, t):
        """``P(t_i | u_i)`` for every row (exact softmax / sigmoid, unclipped; or prediction),
        a block of rows at a time."""
        return in_row_blocks(lambda rows: self._probability(U[rows], t[rows]), U.shape[0],
                             self.passes.row_bytes)

    def _probability(self, U, t):
        z = self.passes.logits(U)
        rows = np.arange(z.shape[0])
        if self.kind == "softmax":
            return softmax(z, axis=1)[rows, t]
        if self.kind == "binary":
            return expit(np.where(t == 1, z[:, 0], -z[:, 0]))
        if self.kind == "identity":
            return z[rows, t]
        if self.kind == "exp":
            return np.exp(z[rows, t])
        return expit(z[rows, t])

    def gradient(self, U, t):
        """``d P(t_i | u_i) / d u_i`` for every row, shape (n_samples, n_inputs), a block of
        rows at a time."""
        return in_row_blocks(lambda rows: self._gradient(U[rows], t[rows]), U.shape[0],
                             self.passes.row_bytes)

    def _gradient(self, U, t):
        z, backward = self.passes.logits_with_backward(U)
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
            delta = np.zeros_like(z)
            z_t = z[rows, t]
            if self.kind == "identity":
                delta[rows, t] = 1.0
            elif self.kind == "exp":
                delta[rows, t] = np.exp(z_t)
            else:
                delta[rows, t] = expit(z_t) * expit(-z_t)
        return backward(delta)

    @staticmethod
    def named(values, X):
        """``values`` as a DataFrame with ``X``'s columns and index when ``X`` is one."""
        if not _is_frame(X):
            return values
        import pandas as pd

        return pd.DataFrame(values, columns=X.columns, index=X.index)


#: Deepest panel halving of the adaptive quadrature: panels no shorter than 2**-30 of the path.
_IG_MAX_DEPTH = 30
#: Most panels of one row at one depth. A gradient that does not integrate to the change in
#: ``P`` (a model whose backward pass is not the derivative of its forward pass) misses
#: completeness on every half of every panel, and halving all of them would double the work
#: at each of the 30 depths; the cap bounds a row to under ``2 * 1024 * n_steps`` gradient
#: evaluations, far above the few thousand that a two-layer ReLU network on the digits needs.
_IG_MAX_PANELS = 1024
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
        split &= 2 * pending[row] <= _IG_MAX_PANELS
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
        warn(f"Integrated gradients of {(spent > tol).sum()} rows miss completeness by up to "
             f"{spent.max():.2g} > tol={tol:g} with the path cut into up to "
             f"{_IG_MAX_PANELS} panels or {_IG_MAX_DEPTH} halvings deep: check that the "
             "model's gradient is the derivative of its output.", ConvergenceWarning)
    return total


def _typical_tabular_row(prep, X, X_train):
    """A tabular MLP's default baseline, one raw row like ``X``'s: each numeric column's
    training median (from the fitted preprocessing ``prep``; its preprocessed value is 0) and
    each categorical column's most frequent level in ``X_train`` (ties: the first in sorted
    order)."""
    numeric, categorical = prep.numeric_columns_, prep.categorical_columns_
    if prep.numeric == "robust":
        medians = list(prep.center_)
    else:
        medians = [np.interp(0.5, prep.references_, prep.quantiles_[:, k])
                   for k in range(len(numeric))]
    if categorical and X_train is None:
        names = getattr(prep, "feature_names_in_", None)
        listed = [f"x{j}" if names is None else str(names[j]) for j in categorical]
        raise ValueError(
            f"The columns {listed} are categorical, which have no median: give "
            "integrated_gradients a baseline (a raw row) or X_train (for the most frequent "
            "level of each; the numeric columns take their training medians).")
    modes = []
    for c, j in enumerate(categorical):
        column = X_train.iloc[:, j] if _is_frame(X_train) else np.asarray(X_train)[:, j]
        values = np.asarray(column, dtype=object)
        counts = Counter(values[~_is_missing(values)].tolist())
        modes.append(max(prep.categories_[c], key=lambda level: counts.get(level, 0)))
    return one_row(X, numeric, medians, categorical, modes,
                   object if categorical else np.float64)


def _tabular_integrated_gradients(model, X, B, target, n_steps, tol):
    """Integrated gradients of a tabular MLP in its raw columns.

    The path runs in the network's embedded input ``U`` (:class:`_EmbeddedPasses`), from the
    baseline's to the row's: the preprocessed numbers (scaled values, missing-value
    indicators, one-hot columns) and each embedded category's embedding vector. Every entry
    of ``U`` comes from one raw column (``groups_``), so summing ``(u_x - u_b) * mean
    gradient`` per raw column keeps completeness.
    """
    prep, passes = model.mlp.preprocessor_, model.passes
    n_samples = X.shape[0]
    Xt = prep.transform(X)
    try:
        Bt = prep.transform(B)
    except ValueError as exc:
        raise ValueError(f"The baseline cannot be preprocessed: {exc}") from exc
    U = passes.embed(np.vstack([Xt, Bt]).astype(np.float64))
    U_x, U_b = U[:n_samples], U[n_samples:]
    t = model.targets(target, U_x)
    step = U_x - U_b
    mean_gradient = _integrate_gradients(model, U_b, step, t, n_steps, tol)
    widths = np.ones(prep.groups_.size, dtype=np.intp)
    widths[prep.n_numeric_out_:] = passes.network.embedding_dim  # a code: its embedding
    owner = np.repeat(prep.groups_, widths)
    S = np.zeros((owner.size, X.shape[1]))
    S[np.arange(owner.size), owner] = 1.0
    return model.named((step * mean_gradient) @ S, X)


def _baseline_rows(estimator, X, baseline=None, X_train=None):
    """The raw baseline rows that :func:`integrated_gradients` uses for these arguments."""
    model = _Differentiable(estimator, "integrated_gradients")
    return model.baseline(baseline, model.validate(X), X_train)


def _through_pipeline(model, X, baseline=None):
    """Raw rows (and baselines) to network inputs: what both public functions share.

    Returns ``E`` (the encoded rows, stacked with the baselines' if any), ``M`` with
    ``v = e M + c``, ``U`` (network inputs) and ``A = du/dv`` (None for the identity).
    """
    pre = model.preprocessing
    rows = [X] if baseline is None else [X, baseline]
    encoded = [pre.encode(R, what) for R, what in zip(rows, ["X", "baseline"], strict=False)]
    E = np.vstack([e for e, _ in encoded])
    V = np.vstack([v for _, v in encoded])
    M = pre.jacobian(E, V.shape[1])
    U, A = pre.to_network_input(V)
    return E, M, U, A


_GRADIENT_CONSTRAINTS = {
    "estimator": [HasMethods("predict")],
    "X": ["array-like"],
    "target": "no_validation",
}


@validate_params(_GRADIENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def input_gradients(estimator, X, *, target=None):
    """Exact gradients ``d P(target | x) / d x`` of a fitted MLP, in the raw input features.

    Parameters
    ----------
    estimator : MLPClassifierFromScratch, MLPRegressorFromScratch or Pipeline
        Fitted; a Pipeline must end in the MLP and have only imputers (``SimpleImputer``,
        ``KNNImputer``, first) and affine steps before it (``StandardScaler``,
        ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``, ``PCA``, ``TruncatedSVD``,
        ``ColumnTransformer`` of those, ``"passthrough"``, ``"drop"``). The chain rule
        through them gives gradients in the pipeline's raw inputs.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        Rows at which to differentiate. A missing value (NaN) that the pipeline imputes is
        differentiated at the value it is imputed with.
    target : class label, array-like of shape (n_samples,) of labels, or None, default=None
        Whose probability to differentiate; ``None`` takes each row's most probable class
        (for multilabel models, its most probable label). For a regressor, the output
        column (``None``: the first): its prediction is differentiated.

    Returns
    -------
    gradients : ndarray or DataFrame of shape (n_samples, n_features)
        ``gradients[i, j] = d P(target_i | x_i) / d x_ij``; a DataFrame with ``X``'s columns
        and index when ``X`` is one. A column that a step drops has gradient 0.

    Raises
    ------
    ValueError
        For an estimator that is not (a pipeline ending in) ``MLPClassifierFromScratch``, a
        step that is not affine (named in the message), one-hot encoded categories (they
        have no derivative: :func:`integrated_gradients` attributes them), a tabular MLP
        (likewise: its categories and missing values have none), mismatched data
        or unknown targets.
    sklearn.exceptions.NotFittedError
        If the estimator or a step is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.explain import input_gradients
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> clf = MLPClassifierFromScratch((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> input_gradients(clf, X.iloc[:2], target=0).shape
    (2, 4)
    """
    model = _Differentiable(estimator, "input_gradients")
    if model.tabular:
        raise ValueError(
            f"input_gradients needs raw columns with a derivative, and a "
            f"{type(model.mlp).__name__} encodes categories and missing values, which have "
            "none. integrated_gradients explains it in its raw columns.")
    X = model.validate(X)
    _, M, U, A = _through_pipeline(model, X)
    pre = model.preprocessing
    categories = [pre.columns[j] for j in pre.categories]
    if categories:
        raise ValueError(
            f"The columns {categories} are one-hot encoded categories, which have no "
            "derivative. integrated_gradients attributes a change of category to them."
        )
    gradient_u = model.gradient(U, model.targets(target, U))
    gradient_v = gradient_u if A is None else gradient_u @ A.T
    # A missing-value flag is constant in the raw value: it adds nothing to the derivative.
    return model.named(pre.to_raw(gradient_v @ M.T, kinds=("value",)), X)


@validate_params(
    {
        **_GRADIENT_CONSTRAINTS,
        "baseline": ["array-like", None],
        "X_train": ["array-like", None],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def integrated_gradients(estimator, X, *, baseline=None, target=None, X_train=None, n_steps=64,
                         tol=1e-4):
    """Integrated gradients of ``P(target | x)`` for a fitted MLP, in the raw input features.

    ``attributions[i, j] = (x_ij - b_ij) * mean over the path of dP/dx_j``, integrated along the
    straight line from the baseline ``b`` to ``x_i`` by adaptive Gauss-Legendre quadrature (see
    the module notes). A one-hot encoded column's attribution is the sum of its indicators'
    (the path runs through the encoded space). They satisfy completeness:
    ``attributions.sum(axis=1)`` equals ``P(target | x) - P(target | baseline)`` to within
    ``tol`` per row.

    Parameters
    ----------
    estimator : MLPClassifierFromScratch, MLPRegressorFromScratch or Pipeline
        Fitted; a Pipeline ends in the MLP. Before it: imputers (``SimpleImputer`` with any
        strategy, ``KNNImputer``, ``MissingIndicator``), then a ``OneHotEncoder``, or a
        ``ColumnTransformer`` whose branches are ``OneHotEncoder`` (string or integer
        categories), affine steps, ``"passthrough"`` and ``"drop"``, each possibly after
        imputers; then affine steps (``StandardScaler``, ``MinMaxScaler``,
        ``MaxAbsScaler``, ``RobustScaler``, ``PCA``, ...). Any other step is named in a
        ``ValueError``. Or a ``TabularMLPClassifier`` or ``TabularMLPRegressor`` (alone),
        explained in its raw columns: the path runs in its network's input, the
        preprocessed columns with each embedded category replaced by its embedding vector,
        and each raw column gets the sum of its entries (its scaled value and missing-value
        indicator, its one-hot columns, or its embedding).
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        Raw rows, strings included for one-hot encoded columns, and missing values (NaN)
        where the pipeline imputes them (anywhere for a tabular MLP). The path runs in the
        imputed, encoded space: a missing value counts as what it is imputed with (a
        missing category imputed as a constant is a category of its own), and a
        missing-value flag's share goes to its column.
    baseline : {array-like, DataFrame, Series} of shape (n_features,) or (n_rows, n_features), \
default=None
        The reference input, as raw row(s): one row for all of ``X``, or one per row. ``None``
        is the typical row of ``X_train`` when that is given (the mean of each numeric
        column's observed values, the most frequent category of each categorical one), else
        the zero vector (not available when the pipeline one-hot encodes categories). For a
        tabular MLP, ``None`` is each numeric column's training median (stored in the
        fitted model) and each categorical column's most frequent level in ``X_train``
        (which it then needs).
    target : class label, array-like of shape (n_samples,) of labels, or None, default=None
        ``None`` takes each row's most probable class at ``x``. For a regressor, the output
        column (``None``: the first); the attributions then add up to
        ``prediction(x) - prediction(baseline)`` (for ``TabularMLPRegressor``, before its
        clip to the training target's range).
    X_train : {array-like, DataFrame} of shape (n_train, n_features), default=None
        Training data, used only for the default baseline.
    n_steps : int, default=64
        Nodes of the Gauss-Legendre rule on each panel of the path (each one gradient
        evaluation). Panels are halved until ``tol`` is met, so ``n_steps`` sets the cost of a
        smooth path, not the accuracy.
    tol : float, default=1e-4
        Largest completeness gap ``|sum_j attributions[i, j] - (P(target | x_i) -
        P(target | b_i))|`` accepted per row.

    Returns
    -------
    attributions : ndarray or DataFrame of shape (n_samples, n_features)
        A DataFrame with ``X``'s columns, in order, and its index when ``X`` is one. Dropped
        columns get 0.

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
    >>> attributions = integrated_gradients(clf, X[:1], X_train=X, target=0)
    >>> baseline = X.mean(axis=0, keepdims=True)  # the typical row of numeric data
    >>> gap = clf.predict_proba(X[:1])[0, 0] - clf.predict_proba(baseline)[0, 0]
    >>> bool(abs(attributions.sum() - gap) <= 1e-4)  # completeness, to within tol
    True
    """
    model = _Differentiable(estimator, "integrated_gradients")
    X = model.validate(X)
    n_samples = X.shape[0]
    B = model.baseline(baseline, X, X_train)
    if model.tabular:
        return _tabular_integrated_gradients(model, X, B, target, n_steps, float(tol))
    E, M, U, A = _through_pipeline(model, X, B)
    U_x, U_b = U[:n_samples], U[n_samples:]
    t = model.targets(target, U_x)
    mean_gradient = _integrate_gradients(model, U_b, U_x - U_b, t, n_steps, float(tol))
    gradient_v = mean_gradient if A is None else mean_gradient @ A.T
    encoded = (E[:n_samples] - E[n_samples:]) * (gradient_v @ M.T)
    return model.named(model.preprocessing.to_raw(encoded), X)
