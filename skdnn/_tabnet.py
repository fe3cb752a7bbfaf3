"""TabNetClassifier and TabNetRegressor: TabNet as scikit-learn estimators.

The network and its derivatives are :mod:`skdnn.nn.tabnet`; training is the one loop of
:mod:`skdnn._train` (the engine's Adam, pytorch-tabnet's gradient clipping). This module
holds the estimator contract: validation, categorical columns, targets, scores, the fitted
state and the explanations::

    fit / partial_fit       validate, encode categories and targets, build or continue the
      _fit                  network; Fit.fit_loop (skdnn._train); check_learned; _commit (the
                            fitted attributes, only once training succeeded: a failed fit
                            leaves the estimator as it was, unchanged_on_failure)
"""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_array, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ._blocks import in_row_blocks
from ._diagnostics import (
    CLASSIFIER,
    REGRESSOR,
    check_learned,
    divergence_cause,
    scale_advice,
    untrained_loss,
)
from ._docs import DocLinkMixin, predicts
from ._train import (
    CallbackSupportMixin,
    Data,
    EpochCallbacks,
    Fit,
    Interrupted,
    KeptInterrupt,
    StoppingRule,
    TrainingState,
    UnavailableError,
    combined_sample_weight,
    generator,
    holds_out,
    interrupted_message,
    one_blas_thread,
    partial_fit_available,
    training_scores,
    unchanged_on_failure,
    validation_key,
    validation_split,
)
from ._warnings import warn
from .nn import optimizers
from .nn.layout import AffineOutput
from .nn.losses import prior_loss
from .nn.tabnet import MASKS, TabNet

#: What the prediction methods take as ``X``: arrays and DataFrames, no sparse matrix.
_X_TYPES = "{array-like, DataFrame}"
#: The dtype kinds that ``categorical_features="from_dtype"`` embeds besides ``category``:
#: object and pandas' ``str`` / ``string`` ("O"), NumPy's and pandas' booleans ("b").
_CATEGORICAL_KINDS = frozenset("ObSU")
_NAN_ADVICE = (" Impute the numeric columns first, e.g. with sklearn.impute.SimpleImputer in "
               "a pipeline before this estimator.")


def _is_missing(value):
    """None, NaN, or pandas' NA / NaT: a value that is a category of its own."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA, which has no truth value
        return True


def _column_values(X, j):
    """Column ``j`` of an array or DataFrame, as a 1-D object array of Python values."""
    column = X.iloc[:, j] if hasattr(X, "iloc") else np.asarray(X)[:, j]
    return np.asarray(column, dtype=object)


class _BaseTabNet(DocLinkMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of skdnn's TabNet estimators (not for direct use).

    See :class:`~skdnn.TabNetClassifier` and :class:`~skdnn.TabNetRegressor`.
    """

    _parameter_constraints: dict = {
        "n_d": [Interval(Integral, 1, None, closed="left")],
        "n_a": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 1, None, closed="left")],
        "n_independent": [Interval(Integral, 0, None, closed="left")],
        "n_shared": [Interval(Integral, 0, None, closed="left")],
        "lambda_sparse": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "mask_type": [StrOptions(set(MASKS))],
        "virtual_batch_size": [Interval(Integral, 1, None, closed="left"),
                               StrOptions({"auto"})],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "cat_emb_dim": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_value": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    #: With ``early_stopping="auto"``, the fewest samples that turn it on.
    _AUTO_EARLY_STOPPING = 500
    #: ``batch_size="auto"``: about this many Adam steps an epoch, within these bounds.
    _AUTO_STEPS, _AUTO_BATCH = 32, (64, 1024)
    #: ``virtual_batch_size="auto"``: the ghost batch, at most this many rows.
    _AUTO_GHOST = 128
    #: ``n_iter_no_change="auto"``: this many epochs, and at least this many Adam steps.
    _AUTO_PATIENCE = (10, 160)

    def __init__(self, *, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 lambda_sparse=1e-3, momentum=0.02, mask_type="sparsemax",
                 virtual_batch_size="auto", categorical_features="from_dtype",
                 cat_emb_dim=1, batch_size="auto", learning_rate_init=0.02, max_iter=200,
                 early_stopping="auto", validation_fraction=0.1, n_iter_no_change="auto",
                 tol=1e-4, clip_value=1.0, random_state=None, verbose=False,
                 warm_start=False):
        self.n_d = n_d
        self.n_a = n_a
        self.n_steps = n_steps
        self.gamma = gamma
        self.n_independent = n_independent
        self.n_shared = n_shared
        self.lambda_sparse = lambda_sparse
        self.momentum = momentum
        self.mask_type = mask_type
        self.virtual_batch_size = virtual_batch_size
        self.categorical_features = categorical_features
        self.cat_emb_dim = cat_emb_dim
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.clip_value = clip_value
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # -- what each estimator supplies ------------------------------------------------------
    def _encode_targets(self, y, reset, classes=None):
        """``(y, Y, out_activation)``: targets as given and encoded for the output layer."""
        raise NotImplementedError

    def _score_outputs(self, outputs, y, sample_weight):
        raise NotImplementedError

    def _validation_key(self, score, loss):
        """How early stopping ranks an epoch: :func:`skdnn._train.validation_key`."""
        return validation_key(score, loss, classifier=is_classifier(self))

    def _prior_score(self, X, y, sample_weight):
        """The training score of the best constant prediction (a Dummy estimator's)."""
        dummy = DummyClassifier(strategy="prior") if is_classifier(self) else DummyRegressor()
        return dummy.fit(X, y, sample_weight).score(X, y, sample_weight)

    def _stratify(self, y):
        return None

    def _sample_weight(self, sample_weight, X, y):
        return combined_sample_weight(sample_weight, X)

    # -- input -----------------------------------------------------------------------------
    def _categorical_mask(self, X):
        """A boolean mask of the categorical columns of ``X`` (fit time)."""
        n_features = X.shape[1]
        spec = self.categorical_features
        if spec is None:
            return np.zeros(n_features, dtype=bool)
        if isinstance(spec, str):  # "from_dtype"
            dtypes = getattr(X, "dtypes", None)
            if dtypes is None:
                return np.zeros(n_features, dtype=bool)
            # category, str / string / object (kind "O") and bool / boolean (kind "b")
            return np.array([getattr(d, "kind", None) in _CATEGORICAL_KINDS
                             or getattr(d, "name", "") == "category" for d in dtypes],
                            dtype=bool)
        if len(spec) == 0:  # [] or (): no categorical column, as for HistGradientBoosting
            return np.zeros(n_features, dtype=bool)
        spec = np.asarray(spec)
        if spec.dtype.kind in "US" or spec.dtype == object:
            names = getattr(X, "columns", None)
            if names is None:
                raise ValueError("categorical_features names columns, but X has no column "
                                 "names; pass a DataFrame or give indices or a mask.")
            names = np.asarray(names, dtype=object)
            unknown = sorted(set(spec.tolist()) - set(names.tolist()))
            if unknown:
                raise ValueError(f"categorical_features names columns that X lacks: "
                                 f"{unknown}.")
            return np.isin(names, spec)
        if spec.dtype == bool:
            if spec.shape != (n_features,):
                raise ValueError(f"categorical_features as a mask must have {n_features} "
                                 f"entries, one per column; got shape {spec.shape}.")
            return spec.copy()
        if spec.dtype.kind not in "iu" or spec.ndim != 1:
            raise ValueError("categorical_features must be 'from_dtype', None, a boolean "
                             "mask, indices or feature names.")
        if np.any((spec < -n_features) | (spec >= n_features)):
            raise ValueError(f"categorical_features has indices out of range for "
                             f"{n_features} columns: {spec.tolist()}.")
        mask = np.zeros(n_features, dtype=bool)
        mask[spec] = True
        return mask

    def _check_X(self, X, reset):
        """The input as a float array, category codes in the categorical columns."""
        try:
            if reset:
                has_shape = hasattr(X, "shape") and len(X.shape) == 2
                mask = self._categorical_mask(X) if has_shape else None
                self._cat_idxs = [] if mask is None else np.flatnonzero(mask).tolist()
            if not self._cat_idxs:
                return validate_data(self, X, dtype=(np.float64, np.float32), reset=reset)
            return self._check_mixed(X, reset)
        except ValueError as error:
            if "NaN" in str(error):
                raise ValueError(str(error) + _NAN_ADVICE) from error
            if "convert" in str(error) and hasattr(X, "shape") and len(X.shape) == 2:
                column = self._non_numeric_column(X)
                if column is not None:
                    raise ValueError(self._non_numeric_message(X, *column)) from error
            raise

    def _non_numeric_column(self, X):
        """``(j, value)``: the first column outside the categorical ones with a value that is
        not a number, or None."""
        for j in range(X.shape[1]):
            if j in self._cat_idxs:
                continue
            for value in _column_values(X, j).tolist():
                try:
                    float(value)
                except (TypeError, ValueError):
                    return j, value
        return None

    def _non_numeric_message(self, X, j, value):
        names = getattr(X, "columns", None)
        name = repr(names[j]) if names is not None else str(j)
        where = "" if names is None else (
            f" (its dtype is {X.dtypes.iloc[j]}; a DataFrame's str, object, bool and category "
            "columns are categorical under categorical_features='from_dtype')")
        return (f"Column {name} of X holds {value!r}, which is not a number, and the column is "
                f"not categorical{where}. Declare it categorical, e.g. "
                f"categorical_features=[{name}], or encode it before this estimator.")

    def _check_mixed(self, X, reset):
        validate_data(self, X, skip_check_array=True, reset=reset)
        n_features = X.shape[1]
        numeric = np.setdiff1d(np.arange(n_features), self._cat_idxs)
        block = X.iloc[:, numeric] if hasattr(X, "iloc") else np.asarray(X)[:, numeric]
        values = check_array(block, dtype=(np.float64, np.float32), ensure_min_features=0,
                             input_name="X")
        out = np.empty((values.shape[0], n_features), dtype=values.dtype)
        out[:, numeric] = values
        if reset:
            self._categories = []
        for position, j in enumerate(self._cat_idxs):
            column = _column_values(X, j)
            if reset:
                self._categories.append(self._learn_categories(column))
            out[:, j] = self._codes(column, self._categories[position])
        return out

    @staticmethod
    def _learn_categories(column):
        """The column's categories, sorted, and whether a missing value was seen."""
        seen = {v for v in column.tolist() if not _is_missing(v)}
        try:
            values = sorted(seen)
        except TypeError:  # mixed types: sort by type name, then by text
            values = sorted(seen, key=lambda v: (type(v).__name__, str(v)))
        missing = any(_is_missing(v) for v in column.tolist())
        return {"values": values, "has_missing": bool(missing)}

    @staticmethod
    def _codes(column, categories):
        """Codes ``0 .. K - 1`` for the known categories, ``K`` for a missing value seen in
        training, and the last code for anything else (the unknown embedding)."""
        values = categories["values"]
        lookup = {v: i for i, v in enumerate(values)}
        missing = len(values) if categories["has_missing"] else None
        unknown = len(values) + categories["has_missing"]
        codes = np.empty(len(column), dtype=np.float64)
        for i, v in enumerate(column.tolist()):
            if _is_missing(v):
                codes[i] = unknown if missing is None else missing
            else:
                try:
                    codes[i] = lookup.get(v, unknown)
                except TypeError:  # unhashable: not a category seen in training
                    codes[i] = unknown
        return codes

    # -- the network ------------------------------------------------------------------------
    def _network(self, n_outputs, virtual_batch_size, out_activation, dtype):
        if self.n_shared + self.n_independent == 0:
            raise ValueError("n_shared and n_independent cannot both be 0: each feature "
                             "transformer needs at least one GLU layer.")
        cat_dims = [len(c["values"]) + c["has_missing"] + 1
                    for c in getattr(self, "_categories", [])] if self._cat_idxs else []
        return TabNet(self.n_features_in_, n_outputs, n_d=self.n_d, n_a=self.n_a,
                      n_steps=self.n_steps, gamma=self.gamma,
                      n_independent=self.n_independent, n_shared=self.n_shared,
                      virtual_batch_size=virtual_batch_size, momentum=self.momentum,
                      mask_type=self.mask_type, cat_idxs=self._cat_idxs, cat_dims=cat_dims,
                      cat_emb_dim=self.cat_emb_dim, out_activation=out_activation,
                      lambda_sparse=self.lambda_sparse, dtype=dtype)

    def _fitted_network(self, dtype):
        """The fitted network in ``dtype``, its running statistics set, and its parameters."""
        network = self._network(self.n_outputs_, self._virtual_batch_size,
                                self.out_activation_, dtype)
        network.buffers = self._stats.astype(dtype)
        return network, self._theta.astype(dtype)

    def as_engine(self, dtype=np.float64):
        """The fitted model as the engine's network and its flat parameters.

        What :mod:`skdnn.explain` differentiates: ``network.forward(theta, X)`` gives the
        logits (for the regressor, the predictions) of the encoded input (categorical
        columns as codes), and ``network.backward`` their gradients.

        Parameters
        ----------
        dtype : numpy dtype, default=numpy.float64
            The dtype of the network's passes and parameters.

        Returns
        -------
        network : skdnn.nn.layout.Model
            The fitted :class:`~skdnn.nn.tabnet.TabNet`, its running statistics set.
        theta : ndarray of shape (network.size,)
            A new vector: the fitted parameters.
        """
        check_is_fitted(self)
        return self._fitted_network(dtype)

    def _sizes(self, n_samples):
        """``(batch_size, virtual_batch_size, n_iter_no_change)`` of a fit on ``n_samples``
        rows, with each ``"auto"`` resolved (the rule is in ``docs/tabnet.md``)."""
        batch_size = self.batch_size
        if batch_size == "auto":
            low, high = self._AUTO_BATCH
            batch_size = min(high, max(low, n_samples // self._AUTO_STEPS))
        batch_size = min(batch_size, n_samples)
        ghost = self.virtual_batch_size
        if ghost == "auto":
            ghost = min(self._AUTO_GHOST, batch_size)
        patience = self.n_iter_no_change
        if patience == "auto":
            epochs, steps = self._AUTO_PATIENCE
            patience = max(epochs, math.ceil(steps / math.ceil(n_samples / batch_size)))
        return batch_size, ghost, patience

    # -- training ----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit TabNet to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The training input. Categorical columns (see ``categorical_features``) may hold
            any hashable values; the others must be numeric, without NaN.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier), or real-valued targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss and the sparsity regulariser.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        A Ctrl-C (KeyboardInterrupt) stops training at the end of the current mini-batch;
        the weights trained so far (with early stopping, the best validated ones) become
        the fitted model, a ``UserWarning`` says at which epoch, and the KeyboardInterrupt
        is raised again.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y, sample_weight)

    def _check_solver(self):
        """Whether ``partial_fit`` is available: not with ``early_stopping=True`` (one batch
        at a time has no held-out set to watch; ``"auto"`` trains it without)."""
        if self.early_stopping is True:
            raise UnavailableError("partial_fit does not support early_stopping=True.")
        return True

    def _partial_fit(self, X, y, sample_weight, classes=None):
        with unchanged_on_failure(self):
            return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, incremental=False, classes=None):
        continuing = hasattr(self, "_theta") and (self.warm_start or incremental)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        X_raw = X
        X = self._check_X(X, reset=not continuing)
        y, Y, out_activation = self._encode_targets(y, reset=not continuing, classes=classes)
        check_consistent_length(X, y)
        if Y.dtype != bool:
            Y = Y.astype(X.dtype)
        callbacks = EpochCallbacks(self, (X_raw, y, sample_weight),
                                   1 if incremental else self.max_iter)
        data = Data(X, Y, self._sample_weight(sample_weight, X, y), y)
        rng = generator(self.random_state,
                        getattr(self, "_rng_state", None) if incremental and continuing
                        else None)
        batch_size, virtual_batch_size, patience = self._sizes(X.shape[0])
        network = self._network(Y.shape[1], virtual_batch_size, out_activation, X.dtype)
        if continuing:
            theta, network.buffers = self._theta.astype(X.dtype), self._stats.astype(X.dtype)
            record = TrainingState.of(self)
            if not incremental:  # only partial_fit resumes Adam
                record.optimizer_state = None
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                theta = network.init(rng, X)
            if not np.isfinite(network.buffers).all():  # the inputs' variance overflows
                raise ValueError("The input's variance overflows. " + scale_advice(X))
            record = TrainingState()
        early_stopping = not incremental and holds_out(self.early_stopping, X.shape[0],
                                                       self._AUTO_EARLY_STOPPING)
        train, val = (validation_split(data, self.validation_fraction, rng, self._stratify(y))
                      if early_stopping else (data, None))
        record.watch(early_stopping)
        adam = optimizers.Adam(learning_rate_init=self.learning_rate_init)
        fit = Fit(network, theta, train, val, record, rng, callbacks, adam,
                  adam.resume(copy.deepcopy(record.optimizer_state), theta),
                  StoppingRule(self.tol, self._best_key), score=self._score_outputs,
                  rank=self._validation_key,
                  fitted=lambda theta: self._fitted_attributes(network, theta),
                  divergence=lambda epoch, loss: ValueError(
                      f"Training diverged in epoch {epoch}: the loss became {loss:.3g}. "
                      + divergence_cause(train.X, self.learning_rate_init)),
                  max_epochs=self.max_iter, batch_size=batch_size, patience=patience,
                  tol=self.tol, clip_value=self.clip_value, incremental=incremental,
                  verbose=self.verbose)
        n_epochs_before = len(record.loss_curve)
        # One BLAS thread: the products are a batch by a few dozen columns, too small to
        # share, and waiting threads cost more than they save.
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                fit.fit_loop()
            except Interrupted as interrupted:
                record.rng_state = rng.bit_generator.state
                self._commit(network, interrupted.theta, record, X)
                callbacks.end_fit()
                warn(interrupted_message(interrupted, best=early_stopping), UserWarning)
                raise KeptInterrupt from None
            check_learned(
                record.loss_curve[0 if incremental else n_epochs_before:],
                prior_loss(Y, out_activation, data.sample_weight), X,
                None if incremental else lambda: training_scores(
                    network, theta, data, self._score_outputs, self._prior_score),
                terms=CLASSIFIER if is_classifier(self) else REGRESSOR,
                learning_rate=self.learning_rate_init,
                start=untrained_loss(Y, out_activation, data.sample_weight),
                sample_weight=data.sample_weight)
            record.rng_state = rng.bit_generator.state
            self._commit(network, theta, record, X)
        callbacks.end_fit()
        return self

    def _best_key(self, record):
        """The stopping rule's key of the record's best epoch."""
        if record.validation_scores is None:
            return (record.best_loss,)
        return self._validation_key(record.best_validation_score, record.best_validation_loss)

    # -- the fitted state --------------------------------------------------------------------
    def _fitted_attributes(self, network, theta):
        """The attributes of a model stopped at ``theta``."""
        return {"_theta": theta, "_stats": network.buffers, "n_outputs_": network.n_outputs,
                "out_activation_": network.out_activation,
                "_virtual_batch_size": network.virtual_batch_size}

    def _commit(self, network, theta, record, X):
        theta, stats = theta.copy(), network.buffers.copy()
        P = network.layout.views(theta)
        for j in network.cat_idxs:
            # The unknown category's embedding (the last row, never trained) is the mean of
            # the column's trained embeddings, weighted by how often each was seen.
            table = P[f"emb{j}"]
            counts = np.bincount(X[:, j].astype(np.intp), minlength=table.shape[0])[:-1]
            table[-1] = counts @ table[:-1] / max(counts.sum(), 1)
        network.buffers = stats
        attributes = {**self._fitted_attributes(network, theta), **record.attributes()}
        for name, value in attributes.items():
            setattr(self, name, value)
        total = in_row_blocks(lambda rows: network.explain(theta, X[rows])[0], X.shape[0],
                              network.row_bytes).sum(axis=0)
        self.feature_importances_ = total / total.sum() if total.sum() > 0 else (
            np.full(total.shape, 1.0 / total.size))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_theta")

    def __setstate__(self, state):
        # A model pickled before the "auto" sizes (skdnn at 289a6d2 and earlier) holds its
        # integer virtual_batch_size only as the parameter, and a regressor from then learned
        # its target as it was: an identity scaling.
        if "_theta" in state and "_virtual_batch_size" not in state:
            state["_virtual_batch_size"] = state["virtual_batch_size"]
            if isinstance(self, RegressorMixin):
                state["_y_mean"] = np.zeros(state["n_outputs_"])
                state["_y_scale"] = np.ones(state["n_outputs_"])
        super().__setstate__(state)

    # -- prediction and explanations ---------------------------------------------------------
    def _outputs(self, X):
        X = self._check_X(X, reset=False)
        network, theta = self._fitted_network(X.dtype)
        return in_row_blocks(lambda rows: network.outputs(theta, X[rows]), X.shape[0],
                             network.row_bytes)

    def explain(self, X, normalize=False):
        """Each row's feature importances and each step's attention mask.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to explain.
        normalize : bool, default=False
            Divide each row's importances by their sum, so that they sum to 1.

        Returns
        -------
        importances : ndarray or DataFrame of shape (n_samples, n_features)
            The aggregate mask, pytorch-tabnet's ``M_explain``: ``sum_s M_s *
            sum(ReLU(d_s))``, the masks weighted by how much each step contributes to the
            decision. An embedded categorical column's entries are summed back into its raw
            column. A DataFrame ``X`` gives a DataFrame, with ``X``'s index and columns.
        masks : dict of int to ndarray or DataFrame of shape (n_samples, n_features)
            Step ``s``'s mask ``M_s`` under key ``s``: each row sums to 1, with exact zeros
            for the features the step ignores (DataFrames for a DataFrame ``X``).
        """
        check_is_fitted(self)
        X_checked = self._check_X(X, reset=False)
        network, theta = self._fitted_network(X_checked.dtype)

        def importances_and_masks(rows):
            importances, masks = network.explain(theta, X_checked[rows])
            return importances, *masks

        importances, *masks = in_row_blocks(importances_and_masks, X_checked.shape[0],
                                            network.row_bytes)
        if normalize:
            row = importances.sum(axis=1, keepdims=True)
            importances = np.divide(importances, row, out=np.zeros_like(importances),
                                    where=row > 0)
        masks = dict(enumerate(masks))
        if hasattr(X, "iloc"):
            import pandas as pd

            def frame(a):
                return pd.DataFrame(a, index=X.index, columns=X.columns)

            return frame(importances), {s: frame(M) for s, M in masks.items()}
        return importances, masks


_PARAMETERS = """\
    n_d : int, default=8
        Width of each step's decision output ``d_s`` (pytorch-tabnet's ``n_d``).
    n_a : int, default=8
        Width of each step's attention output, which the next step's mask is computed from.
    n_steps : int, default=3
        Decision steps, each with its own mask.
    gamma : float, default=1.3
        Relaxation of the prior, at least 1: a feature used with mask ``M`` keeps a prior of
        ``gamma - M`` for the next steps; 1 forbids reusing a feature, larger values allow it.
    n_independent : int, default=2
        GLU layers of each step's feature transformer of its own.
    n_shared : int, default=2
        GLU layers whose weights all steps share (each step keeps its own batch norm).
    lambda_sparse : float, default=1e-3
        Weight of the masks' mean entropy added to the loss; larger gives sparser masks.
    momentum : float, default=0.02
        Momentum of the ghost batch norms' running statistics, used at prediction.
    mask_type : {"sparsemax", "entmax"}, default="sparsemax"
        The function that turns attention scores into a mask: sparsemax, or the smoother
        1.5-entmax; both give rows that sum to 1 with exact zeros.
    virtual_batch_size : int or "auto", default="auto"
        Rows per chunk of ghost batch norm: each batch is normalised chunk by chunk.
        ``"auto"`` is ``min(128, batch_size)`` (pytorch-tabnet's 128, which a smaller batch
        cannot fill).
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
default="from_dtype"
        The categorical columns, as in ``HistGradientBoostingClassifier``: ``"from_dtype"``
        takes a DataFrame's ``category``, text (``str``, ``string``, ``object``) and
        boolean columns (which ``HistGradientBoostingClassifier`` does not; an array has no
        dtypes per column, so none); or a boolean mask, column indices or feature names; an
        empty list or None means none. Each category is embedded in ``cat_emb_dim`` learned
        numbers; a
        missing value is a category of its own, and a category unseen in training maps to
        a shared "unknown" embedding (the training categories' embeddings averaged by their
        frequency), never an error.
    cat_emb_dim : int, default=1
        Width of every categorical column's embedding.
    batch_size : int or "auto", default="auto"
        Rows per Adam step (at most the number of training rows). ``"auto"`` is
        ``min(1024, max(64, n_samples // 32))`` for the ``n_samples`` rows given to
        :meth:`fit`: about 32 steps an epoch, batches of 64 below 2,048 rows, and
        pytorch-tabnet's 1024 from 32,768 rows on (chosen by measurement on real tables,
        ``benchmarks/bench_tabnet_tables.py`` in ``docs/tabnet.md``; 1024 gave a 2,000-row
        table 2 steps an epoch).
    learning_rate_init : float, default=0.02
        Adam's step size (pytorch-tabnet's default).
    max_iter : int, default=200
        The most epochs: a ceiling. Default fits stopped by themselves after 16 to 157 epochs
        on the five tables of ``benchmarks/bench_tabnet_tables.py`` (Hdma, Housing, diamonds,
        digits, a wide synthetic set; three splits each).
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the data (stratified for a classifier), stop when
        its loss (the log-loss of a classifier, the R^2 of a regressor) has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of the best epoch.
        ``"auto"`` turns it on for 500 training rows or more; below that a validation set is
        too small to rank epochs, and training stops on the training loss.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping.
    n_iter_no_change : int or "auto", default="auto"
        Epochs without improvement before stopping (pytorch-tabnet's ``patience``).
        ``"auto"`` waits 10 epochs and at least 160 Adam steps: 10 epochs with the automatic
        batch size from 961 rows on, more when an epoch has fewer than 16 steps (18 epochs
        for 546 rows; 80 for 2,000 rows at ``batch_size=1024``).
    tol : float, default=1e-4
        The least improvement that counts.
    clip_value : float or None, default=1.0
        The largest norm of the gradient (pytorch-tabnet's ``clip_value``); a longer one is
        scaled down to it. None does not clip.
    random_state : int, RandomState instance or None, default=None
        Seeds the one generator of a fit: initial weights, shuffling, the validation split.
    verbose : bool, default=False
        Print the loss after each epoch, the validation score, and why training stopped.
    warm_start : bool, default=False
        Continue from the fitted network (a new Adam state) instead of starting anew.
"""

_ATTRIBUTES = """\
    feature_importances_ : ndarray of shape (`n_features_in_`,)
        The aggregate mask (:meth:`explain`) summed over the training rows and normalised to
        sum to 1 (works with ``SelectFromModel``).
    loss_curve_ : list of float
        The training objective (loss plus sparsity term) after each epoch.
    validation_scores_ : list of float or None
        The validation score after each epoch, with early stopping.
    validation_loss_curve_ : list of float or None
        The validation loss after each epoch, with early stopping: the classifier's early
        stopping ranks the epochs by it.
    best_validation_score_ : float or None
        The score of the kept weights, with early stopping.
    best_validation_loss_ : float or None
        The validation loss of the kept weights, with early stopping.
    best_loss_ : float or None
        The lowest training objective, without early stopping.
    n_iter_ : int
        Epochs run.
    n_outputs_ : int
        Units of the output layer.
    out_activation_ : str
        The output layer (:mod:`skdnn.nn.losses`).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
"""

_NOTES = """\
    Notes
    -----
    The network is :class:`skdnn.nn.tabnet.TabNet`, forward and backward by hand in NumPy:
    an initial batch norm, a feature transformer of GLU layers (``n_shared`` shared by the
    steps, ``n_independent`` per step, residual sums scaled by ``sqrt(0.5)``, ghost batch
    norm), and per step an attentive transformer (a linear map of the previous step's
    attention output, ghost batch norm, times the prior, then sparsemax or 1.5-entmax), the
    prior update ``P <- P (gamma - M)``, and the decision ``sum_s ReLU(d_s)`` through a final
    linear layer. The initialisation, the layout and the clipped Adam training are
    pytorch-tabnet's. All parameters are one flat vector trained by the engine's Adam.

    References
    ----------
    Arik, S. O. and Pfister, T. "TabNet: Attentive Interpretable Tabular Learning", AAAI
    2021.
"""


_SEE_ALSO = """\
    See Also
    --------
    skdnn.MLPClassifierFromScratch : A multi-layer perceptron classifier.
    skdnn.MLPRegressorFromScratch : A multi-layer perceptron regressor.
    skdnn.explain.integrated_gradients : Attributions through TabNet's backward pass.
"""


def _docstring(summary, extra_parameters, extra_attributes, examples):
    return (f"{summary}\n\n    Parameters\n    ----------\n{_PARAMETERS}{extra_parameters}\n"
            f"    Attributes\n    ----------\n{extra_attributes}{_ATTRIBUTES}\n{_SEE_ALSO}\n"
            f"{_NOTES}\n    Examples\n    --------\n{examples}\n    ")


class TabNetClassifier(ClassifierMixin, _BaseTabNet):
    __doc__ = _docstring(
        """TabNet classifier: attentive, sparse feature selection for tabular data.

    A neural network that reads each row in ``n_steps`` steps, each attending to a few
    features through a sparse mask, which makes its decisions explainable
    (:meth:`explain`, ``feature_importances_``). It minimises the cross-entropy of a
    softmax output (multiclass) or a sigmoid output (binary) plus ``lambda_sparse`` times
    the masks' mean entropy.""",
        """    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights.
""",
        """    classes_ : ndarray of shape (n_classes,)
        The class labels.
""",
        """    >>> from sklearn.datasets import load_breast_cancer
    >>> from skdnn import TabNetClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = TabNetClassifier(n_steps=2, batch_size=256, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.feature_importances_.shape, round(float(clf.feature_importances_.sum()), 6)
    ((30,), 1.0)""",
    )

    _parameter_constraints: dict = {
        **_BaseTabNet._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 lambda_sparse=1e-3, momentum=0.02, mask_type="sparsemax",
                 virtual_batch_size="auto", categorical_features="from_dtype",
                 cat_emb_dim=1, batch_size="auto", learning_rate_init=0.02, max_iter=200,
                 early_stopping="auto", validation_fraction=0.1, n_iter_no_change="auto",
                 tol=1e-4, clip_value=1.0, random_state=None, verbose=False,
                 warm_start=False, class_weight=None):
        super().__init__(
            n_d=n_d, n_a=n_a, n_steps=n_steps, gamma=gamma, n_independent=n_independent,
            n_shared=n_shared, lambda_sparse=lambda_sparse, momentum=momentum,
            mask_type=mask_type, virtual_batch_size=virtual_batch_size,
            categorical_features=categorical_features, cat_emb_dim=cat_emb_dim,
            batch_size=batch_size, learning_rate_init=learning_rate_init, max_iter=max_iter,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, clip_value=clip_value,
            random_state=random_state, verbose=verbose, warm_start=warm_start)
        self.class_weight = class_weight

    def _encode_targets(self, y, reset, classes=None):
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"),
                         warn=True)
        check_classification_targets(y)
        if reset or not hasattr(self, "classes_"):
            self.classes_ = LabelBinarizer().fit(y if classes is None else classes).classes_
        if len(np.setdiff1d(y, self.classes_)):
            raise ValueError(f"y holds classes that are not in {self.classes_}, the classes "
                             "of the first fit (or of partial_fit's classes).")
        # LabelBinarizer's encoding (a column per class; for two, the second's; for one, a
        # column of False), by comparison: a boolean y whose True is not stored as 1 (pandas
        # 2's xor of two boolean Series stores 254) defeats its sorted search in scikit-learn
        # 1.7, which encoded every row as the first class, and the fit learned nothing.
        classes = self.classes_
        Y = (y[:, None] == (classes if len(classes) > 2 else classes[1:]) if len(classes) > 1
             else np.zeros((len(y), 1), dtype=bool))
        out_activation = "softmax" if len(self.classes_) > 2 else "logistic"
        return y, Y, out_activation

    def _sample_weight(self, sample_weight, X, y):
        return combined_sample_weight(sample_weight, X, y, self.class_weight)

    def _stratify(self, y):
        return y

    @partial_fit_available
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch over ``(X, y)``, going on from the previous call.

        The weights, Adam's state and the random stream go on from where the previous call
        (or fit) left them.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The training input, as for :meth:`fit`.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : TabNetClassifier
            The estimator, one epoch further.
        """
        if not hasattr(self, "_theta") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._partial_fit(X, y, sample_weight, classes)

    def _labels(self, proba):
        if len(self.classes_) == 1:
            return np.full(proba.shape[0], self.classes_[0])
        if proba.shape[1] == 1:
            return self.classes_[(proba[:, 0] > 0.5).astype(int)]
        return self.classes_[proba.argmax(axis=1)]

    def _score_outputs(self, outputs, y, sample_weight):
        return accuracy_score(y, self._labels(outputs), sample_weight=sample_weight)

    @predicts("Probability of each class.", accepts=_X_TYPES, returns="""
        proba : ndarray of shape (n_samples, n_classes)
            In the order of ``classes_``, in the dtype of the input (float32 or float64).""")
    def predict_proba(self, X):
        check_is_fitted(self)
        proba = self._outputs(X)
        if len(self.classes_) == 1:
            return np.ones((proba.shape[0], 1), dtype=proba.dtype)
        if proba.shape[1] == 1:
            return np.hstack([1 - proba, proba])
        return proba

    @predicts("Logarithm of :meth:`predict_proba`.", accepts=_X_TYPES, returns="""
        log_proba : ndarray of shape (n_samples, n_classes)
            The natural logarithm of each class's probability.""")
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    @predicts("The most probable class of each row.", accepts=_X_TYPES, returns="""
        y : ndarray of shape (n_samples,)
            One of ``classes_`` per row.""")
    def predict(self, X):
        check_is_fitted(self)
        return self._labels(self._outputs(X))


class TabNetRegressor(RegressorMixin, _BaseTabNet):
    __doc__ = _docstring(
        """TabNet regressor: attentive, sparse feature selection for tabular data.

    A neural network that reads each row in ``n_steps`` steps, each attending to a few
    features through a sparse mask, which makes its predictions explainable
    (:meth:`explain`, ``feature_importances_``). It minimises half the squared error
    (averaged over the outputs; one or several targets) plus ``lambda_sparse`` times the
    masks' mean entropy.

    Unlike the MLPs, it standardises the target itself: the network learns
    ``(y - mean) / std`` of the training targets (each column; a constant one keeps scale
    1, sample weights aside), and :meth:`predict` maps its outputs back, as
    ``TransformedTargetRegressor(transformer=StandardScaler())`` would. A price of 1e5
    needs no scaler; ``loss_curve_`` is on the standardised scale.""",
        "",
        "",
        """    >>> from sklearn.datasets import make_friedman1
    >>> from skdnn import TabNetRegressor
    >>> X, y = make_friedman1(n_samples=1000, n_features=10, random_state=0)
    >>> reg = TabNetRegressor(random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8  # 0.93 at NumPy 2.x (0.80 with batches of 1024)
    True
    >>> top_3 = reg.feature_importances_.argsort()[::-1][:3]
    >>> set(top_3.tolist()) <= {0, 1, 2, 3, 4}  # the columns y depends on
    True""",
    )

    @partial_fit_available
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch over ``(X, y)``, going on from the previous call.

        The weights, Adam's state and the random stream go on from where the previous call
        (or fit) left them; the target's mean and spread are the first call's.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The training input, as for :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; ``None`` weighs them all 1.

        Returns
        -------
        self : TabNetRegressor
            The estimator, one epoch further.
        """
        return self._partial_fit(X, y, sample_weight)

    def _encode_targets(self, y, reset, classes=None):
        y = check_array(y, ensure_2d=False, dtype=(np.float64, np.float32), input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
        if reset or not hasattr(self, "_y_mean"):
            # The network learns the standardised target (as StandardScaler would make it):
            # a target of 1e5 would otherwise need the last layer's weights to grow by five
            # orders of magnitude at Adam's steps of 0.02. A constant column keeps scale 1.
            with np.errstate(over="ignore", invalid="ignore"):
                self._y_mean = Y.mean(axis=0)
                scale = Y.std(axis=0)
            if not (np.isfinite(self._y_mean).all() and np.isfinite(scale).all()):
                raise ValueError("The target's mean or spread overflows float64: rescale y.")
            self._y_scale = np.where(scale > 10 * np.finfo(np.float64).eps
                                     * np.maximum(np.abs(self._y_mean), 1), scale, 1.0)
        return y, (Y - self._y_mean) / self._y_scale, "identity"

    def _unstandardise(self, outputs):
        """Outputs of the network in the target's units, in the outputs' dtype."""
        return (outputs * self._y_scale + self._y_mean).astype(outputs.dtype, copy=False)

    def _score_outputs(self, outputs, y, sample_weight):
        if not np.isfinite(outputs).all():
            return np.nan
        return r2_score(y, self._predictions(self._unstandardise(outputs)),
                        sample_weight=sample_weight)

    def as_engine(self, dtype=np.float64):
        """The fitted model as the engine's network and its flat parameters.

        The network learned the standardised target; the one returned predicts in the
        target's units (:class:`skdnn.nn.layout.AffineOutput` around the TabNet).

        Parameters
        ----------
        dtype : numpy dtype, default=numpy.float64
            The dtype of the network's passes and parameters.

        Returns
        -------
        network : skdnn.nn.layout.AffineOutput
            The fitted network, its outputs scaled back to the target's units.
        theta : ndarray of shape (network.size,)
            A new vector: the fitted parameters.
        """
        network, theta = super().as_engine(dtype)
        # The network learned the standardised target: its outputs, scaled back.
        return AffineOutput(network, self._y_scale, self._y_mean), theta

    @staticmethod
    def _predictions(outputs):
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    @predicts("Predicted targets.", accepts=_X_TYPES, returns="""
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per target (a 1-d array for one target), in the input's dtype.""")
    def predict(self, X):
        check_is_fitted(self)
        return self._predictions(self._unstandardise(self._outputs(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
