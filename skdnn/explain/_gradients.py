"""Exact gradient attributions of an MLP, chained through its pipeline to the raw features.

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

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._mlp import MLPClassifierFromScratch
from ..nn.network import Params, Trace
from ._lime import _check_count, _is_frame

__all__ = ["input_gradients", "integrated_gradients"]


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
