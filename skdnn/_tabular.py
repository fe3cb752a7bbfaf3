"""TabularMLPClassifier and TabularMLPRegressor: a neural network for tables, good by default.

The network is :class:`skdnn.nn.tabular.TabularNetwork` (RealMLP-TD's layers and TabM's
ensemble), seen through :class:`~skdnn.nn.tabular.MemberAverage` as one network; the
preprocessing is :class:`skdnn._tabular_prep.TabularPreprocessor`, fitted inside; training is
the one loop of :mod:`skdnn._train` with RealMLP-TD's optimiser
(:class:`skdnn.nn.optimizers.ScheduledAdamW`) and its dropout schedule. This module holds the
estimator contract::

    fit                 validate; fit the preprocessing; encode the targets (smoothed labels,
      _fit              a standardised target); the validation split; _TabularFit.fit_loop;
                        check_learned; the fitted attributes (only once training succeeded)
    predict(_proba)     preprocessing, then the members' averaged outputs, in blocks
"""

from __future__ import annotations

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
from sklearn.utils import check_array, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._blocks import in_row_blocks
from ._diagnostics import CLASSIFIER, REGRESSOR, check_learned, untrained_loss
from ._docs import DocLinkMixin, predicts
from ._tabular_prep import TabularPreprocessor, clip_to_range, standardise_target, target_range
from ._train import (
    CallbackSupportMixin,
    Data,
    EpochCallbacks,
    Fit,
    Interrupted,
    KeptInterrupt,
    StoppingRule,
    TrainingState,
    combined_sample_weight,
    generator,
    holds_out,
    interrupted_message,
    one_blas_thread,
    training_scores,
    unchanged_on_failure,
    validation_key,
    validation_split,
)
from ._warnings import warn
from .nn.layout import AffineOutput
from .nn.losses import prior_loss
from .nn.optimizers import ScheduledAdamW, flat_cos
from .nn.tabular import MemberAverage, TabularNetwork

#: What the methods take as ``X``.
_X_TYPES = "{array-like, DataFrame}"


_PARAMETERS = """    hidden_layer_sizes : array-like of int, default=(128, 128, 128)
        The width of each hidden layer.
    n_members : int, default=4
        Members of the ensemble (TabM's ``k``; TabM uses 32). The time of an epoch grows
        about linearly with it.
    ensemble : {"mini", "batch"}, default="mini"
        ``"mini"``: one adapter per member before the first layer (TabM-mini); ``"batch"``:
        BatchEnsemble adapters in every layer (TabM).
    numeric_embedding : {"pbld", "pl"} or None, default="pbld"
        The embedding of each numeric column: RealMLP's periodic one, the piecewise-linear
        one (TabM's), or none.
    activation : {"auto", "selu", "mish", "relu"}, default="auto"
        The hidden activation: "auto" is SELU for the classifier and Mish for the
        regressor, as in RealMLP-TD.
    parametric_activation : bool, default=False
        RealMLP's ``z + alpha (g(z) - z)``, one learned ``alpha`` per unit (starting at 1);
        off by default: it cost a quarter of the fit time and gained nothing on the
        benchmark (the user guide's ablation).
    scaling_layer : bool, default=True
        RealMLP's learned scale per input column, before the first layer.
    dropout : float, default=0.15
        The dropout rate of the first half of training, then lowered to 0 along a half
        cosine (RealMLP-TD's ``flat_cos``).
    learning_rate_init : float or "auto", default="auto"
        Adam's peak learning rate (its schedule is RealMLP's ``coslog4``: four cosine cycles
        on a log scale of time); "auto" is 0.04.
    weight_decay : float, default=0.02
        Decoupled weight decay of the weights (not the biases), lowered as ``dropout``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch. "auto": 256 (RealMLP-TD's), or fewer on a small table, so that
        an epoch takes at least 8 steps (``n_samples // 8``, at least 16).
    max_iter : int, default=64
        Epochs. The schedules span them; with a validation set the best epoch's weights are
        kept.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows (stratified for the classifier) and
        keep the weights of the epoch with the best validation accuracy (ties: the lower
        loss) or R². "auto": from 500 rows.
    validation_fraction : float, default=0.2
        The held-out fraction (RealMLP's).
    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        The categorical columns, as in ``HistGradientBoostingClassifier``: "from_dtype"
        takes a DataFrame's ``category``, text and boolean columns (and an array's text);
        or a boolean mask, indices or names; None or ``[]``: none.
    numeric : {"robust", "quantile"}, default="robust"
        The numeric columns' transform: RealMLP's robust scaling with a smooth clip, or
        normal quantiles.
"""

_COMMON_PARAMETERS = """    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split, the shuffles and dropout.
    verbose : bool, default=False
        Print the loss (and validation score) of each epoch.
"""

_ATTRIBUTES = """    preprocessor_ : TabularPreprocessor
        The fitted preprocessing: ``preprocessor_.transform(X)`` is the network's input
        (what :meth:`as_engine`'s network takes); its attributes say how each column was
        encoded.
    n_features_in_ : int
        Columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        The column names of a DataFrame whose names are all strings.
    loss_curve_ : list of float
        The training loss (averaged over the members) of each epoch.
    validation_scores_ : list of float or None
        Each epoch's validation accuracy or R², with early stopping.
    best_validation_score_ : float or None
        The kept epoch's.
    n_iter_ : int
        Epochs run.
    n_outputs_ : int
        Output units: one per class, or per target.
"""


def _docstring(summary, parameters, attributes, see_also, examples):
    return (f"{summary}\n\n    Parameters\n    ----------\n{_PARAMETERS}{parameters}"
            f"{_COMMON_PARAMETERS}\n    Attributes\n    ----------\n{attributes}{_ATTRIBUTES}\n"
            f"    See Also\n    --------\n{see_also}\n    Examples\n    --------\n{examples}\n    ")


class _TabularFit(Fit):
    """The one loop's :class:`~skdnn._train.Fit`, with RealMLP-TD's dropout schedule: the
    rate ``dropout * flat_cos(epoch / max_epochs)`` in each epoch."""

    dropout: float = 0.0

    def run_epoch(self):
        self.network.network.dropout = self.dropout * flat_cos(
            self.record.n_iter / self.max_epochs)
        return super().run_epoch()


class _BaseTabularMLP(DocLinkMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of the tabular MLPs (not for direct use)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "ensemble": [StrOptions({"mini", "batch"})],
        "numeric_embedding": [StrOptions({"pbld", "pl"}), None],
        "activation": [StrOptions({"auto", "selu", "mish", "relu"})],
        "parametric_activation": ["boolean"],
        "scaling_layer": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"),
                               StrOptions({"auto"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "numeric": [StrOptions({"robust", "quantile"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: With ``early_stopping="auto"``, the fewest rows that hold out a validation set.
    _AUTO_EARLY_STOPPING = 500
    #: The learning rates of ``learning_rate_init="auto"`` (RealMLP-TD's).
    _AUTO_LEARNING_RATE = 0.04
    #: ``batch_size="auto"``: at most this many rows, and at least this many batches an
    #: epoch (a small table still takes 8 steps an epoch), within these bounds.
    _AUTO_BATCH, _AUTO_STEPS, _SMALLEST_BATCH = 256, 8, 16

    def __init__(self, *, hidden_layer_sizes=(128, 128, 128), n_members=4, ensemble="mini",
                 numeric_embedding="pbld", activation="auto", parametric_activation=False,
                 scaling_layer=True, dropout=0.15,
                 learning_rate_init="auto", weight_decay=0.02, batch_size="auto", max_iter=64,
                 early_stopping="auto", validation_fraction=0.2,
                 categorical_features="from_dtype", numeric="robust", random_state=None,
                 verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_members = n_members
        self.ensemble = ensemble
        self.numeric_embedding = numeric_embedding
        self.activation = activation
        self.parametric_activation = parametric_activation
        self.scaling_layer = scaling_layer
        self.dropout = dropout
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.categorical_features = categorical_features
        self.numeric = numeric
        self.random_state = random_state
        self.verbose = verbose

    # -- what each estimator supplies ------------------------------------------------------
    def _encode_targets(self, y, sample_weight):
        """``(y, Y, out_activation)``: the targets as given and as the network learns them."""
        raise NotImplementedError

    def _score_outputs(self, outputs, y, sample_weight):
        raise NotImplementedError

    def _sample_weight(self, sample_weight, X, y):
        return combined_sample_weight(sample_weight, X)

    def _stratify(self, y):
        return None

    def _smoothed(self, Y):
        """The training targets the network learns (the classifier smooths its labels)."""
        return Y

    # -- the network -------------------------------------------------------------------------
    def _hidden(self):
        hidden = np.asarray(self.hidden_layer_sizes).ravel()
        if hidden.size == 0 or not np.issubdtype(hidden.dtype, np.integer) or (hidden < 1).any():
            raise ValueError("hidden_layer_sizes must be a non-empty sequence of positive "
                             f"integers; got {self.hidden_layer_sizes!r}.")
        return tuple(int(h) for h in hidden)

    def _activation(self):
        if self.activation != "auto":
            return self.activation
        return "selu" if is_classifier(self) else "mish"  # RealMLP-TD's

    def _network(self, prep, n_outputs, out_activation, dtype=np.float32):
        return MemberAverage(TabularNetwork(
            prep.n_numeric_out_, prep.embedding_cardinalities_, n_outputs, out_activation,
            hidden=self._hidden(), k=self.n_members, ensemble=self.ensemble,
            n_continuous=len(prep.numeric_columns_), num_embedding=self.numeric_embedding,
            activation=self._activation(), parametric_activation=self.parametric_activation,
            scaling_layer=self.scaling_layer, dropout=0.0, dtype=dtype))

    def _fitted_network(self, dtype=np.float64):
        """The fitted network and its parameters in ``dtype``: predictions are computed in
        float64, so that each row's does not depend on the rows beside it (float32 matrix
        products round differently in blocks of different sizes)."""
        network = self._network(self.preprocessor_, self.n_outputs_, self.out_activation_,
                                dtype)
        network.buffers = self._buffers.astype(dtype)
        return network, self._theta.astype(dtype)

    def _batch_size(self, n_samples):
        """The batch size of a fit on ``n_samples`` training rows."""
        if self.batch_size != "auto":
            return min(self.batch_size, n_samples)
        return min(n_samples, self._AUTO_BATCH,
                   max(self._SMALLEST_BATCH, n_samples // self._AUTO_STEPS))

    def _learning_rate(self):
        if self.learning_rate_init == "auto":
            return self._AUTO_LEARNING_RATE
        return self.learning_rate_init

    # -- training ----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the preprocessing and the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Numbers, booleans, text and categories, with missing values anywhere; see
            ``categorical_features``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier), or real-valued targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss, the scores and the target's scaling.

        Returns
        -------
        self : TabularMLPClassifier or TabularMLPRegressor
            Fitted.

        Notes
        -----
        A Ctrl-C keeps the weights of the best epoch so far, as in every network of skdnn
        (the user guide's "Training control"), and raises the KeyboardInterrupt again.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        X_raw = X
        prep = TabularPreprocessor(categorical_features=self.categorical_features,
                                   numeric=self.numeric, dtype=np.float32)
        Xt = prep.fit_transform(X)
        y = self._check_y(y)
        check_consistent_length(Xt, y)
        if Xt.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to learn from; "
                             f"got n_samples = {Xt.shape[0]}.")
        self.n_features_in_ = prep.n_features_in_
        if hasattr(prep, "feature_names_in_"):
            self.feature_names_in_ = prep.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        weights = self._sample_weight(sample_weight, Xt, y)
        y, Y, out_activation = self._encode_targets(y, weights)
        data = Data(Xt, Y.astype(np.float32), weights, y)
        rng = generator(self.random_state)
        network = self._network(prep, Y.shape[1], out_activation)
        early_stopping = holds_out(self.early_stopping, Xt.shape[0],
                                   self._AUTO_EARLY_STOPPING)
        train, val = (validation_split(data, self.validation_fraction, rng, self._stratify(y))
                      if early_stopping else (data, None))
        train = train._replace(Y=self._smoothed(train.Y))
        with np.errstate(over="ignore", invalid="ignore"):
            theta = network.init(rng, train.X)
        record = TrainingState()
        record.watch(early_stopping)
        batch_size = self._batch_size(train.X.shape[0])
        max_iter = self.max_iter
        steps = max_iter * math.ceil(train.X.shape[0] / batch_size)
        inner = network.network
        decay = np.zeros_like(theta)
        views = inner.layout.views(decay)
        for name in views:  # weight decay on the weights, as RealMLP: not on biases
            if not name.startswith(("b", "pbld.c", "pl.b")):
                views[name][...] = self.weight_decay
        optimizer = ScheduledAdamW(learning_rate_init=self._learning_rate(), total_steps=steps,
                                   factors=inner.lr_factor_vector(), decay=decay)
        callbacks = EpochCallbacks(self, (X_raw, y, sample_weight), max_iter)
        fit = _TabularFit(
            network, theta, train, val, record, rng, callbacks, optimizer,
            optimizer.new_state(theta), StoppingRule(0.0, self._best_key),
            score=self._score_outputs, rank=self._validation_key,
            fitted=lambda theta: self._fitted_attributes(prep, network, theta),
            divergence=lambda epoch, loss: ValueError(
                f"Training diverged in epoch {epoch}: the loss became {loss:.3g}. Lower "
                "learning_rate_init."),
            max_epochs=max_iter, batch_size=batch_size, patience=max_iter,
            verbose=self.verbose, max_epochs_warning=False)
        fit.dropout = self.dropout
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                fit.fit_loop()
            except Interrupted as interrupted:
                self._commit(prep, network, interrupted.theta, record)
                callbacks.end_fit()
                warn(interrupted_message(interrupted, best=early_stopping), UserWarning)
                raise KeptInterrupt from None
            finally:
                inner.dropout = 0.0
            check_learned(
                record.loss_curve, prior_loss(self._smoothed(Y), out_activation, weights), Xt,
                lambda: training_scores(network, theta, data, self._score_outputs,
                                        self._prior_score,
                                        block_mib=batch_size * network.row_bytes / 2**20),
                terms=CLASSIFIER if is_classifier(self) else REGRESSOR,
                learning_rate=self._learning_rate(),
                start=untrained_loss(Y, out_activation, weights), sample_weight=weights)
            self._commit(prep, network, theta, record)
        callbacks.end_fit()
        return self

    def _validation_key(self, score, loss):
        return validation_key(score, loss, classifier=is_classifier(self))

    def _best_key(self, record):
        if record.validation_scores is None:
            return (record.best_loss,)
        return self._validation_key(record.best_validation_score, record.best_validation_loss)

    def _prior_score(self, X, y, sample_weight):
        dummy = DummyClassifier(strategy="prior") if is_classifier(self) else DummyRegressor()
        return dummy.fit(X, y, sample_weight).score(X, y, sample_weight)

    # -- the fitted state --------------------------------------------------------------------
    def _fitted_attributes(self, prep, network, theta):
        return {"preprocessor_": prep, "_theta": theta, "_buffers": network.buffers,
                "n_outputs_": network.n_outputs, "out_activation_": network.out_activation}

    def _commit(self, prep, network, theta, record):
        attributes = {**self._fitted_attributes(prep, network, theta.copy()),
                      **record.attributes()}
        attributes["_buffers"] = network.buffers.copy()
        for name, value in attributes.items():
            setattr(self, name, value)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_theta")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -- prediction --------------------------------------------------------------------------
    def _transform(self, X):
        """The preprocessed input the network takes."""
        check_is_fitted(self)
        return self.preprocessor_.transform(X)

    def _outputs(self, X):
        Xt = self._transform(X)
        network, theta = self._fitted_network()
        return in_row_blocks(lambda rows: network.outputs(theta, Xt[rows]), Xt.shape[0],
                             network.row_bytes)

    def as_engine(self, dtype=np.float64):
        """The fitted model as the engine's network and its flat parameters.

        ``network.forward(theta, Xt)`` gives the logits of the members' averaged
        probabilities (the regressor: its predictions) of the preprocessed input
        ``Xt = self.preprocessor_.transform(X)``; ``network.backward`` their gradients. What
        :mod:`skdnn.explain` differentiates.

        Parameters
        ----------
        dtype : numpy dtype, default=numpy.float64
            The dtype of the network's passes and parameters (it trained in float32).

        Returns
        -------
        network : skdnn.nn.layout.Model
            :class:`~skdnn.nn.tabular.MemberAverage` around the fitted network.
        theta : ndarray of shape (network.size,)
            A new vector: the fitted parameters.
        """
        check_is_fitted(self)
        network, theta = self._fitted_network(dtype)
        return network, theta.copy()


class TabularMLPClassifier(ClassifierMixin, _BaseTabularMLP):
    __doc__ = _docstring(
        """A neural network classifier for tables, good at its defaults.

    RealMLP-TD's recipe with TabM's ensemble, in NumPy. It takes a DataFrame (or an array)
    with numbers, booleans, text, categories and missing values, and fits its preprocessing
    inside: robust scaling with a smooth clip, missing
    indicators, one-hot columns for few levels and learned embeddings for many. The network
    embeds each numeric column (RealMLP's PBLD embedding), scales its inputs, and trains
    ``n_members`` MLPs that share their weights (TabM-mini) on the mean of their losses; the
    prediction averages their probabilities. See the user guide's "Tabular MLP" page for
    the recipe, its sources and the benchmark that kept each ingredient.""",
        """    label_smoothing : float, default=0.1
        The training targets are ``(1 - eps) onehot + eps / n_classes`` (RealMLP-TD's).
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights.
""",
        """    classes_ : ndarray of shape (n_classes,)
        The class labels.
""",
        """    TabularMLPRegressor : The regressor.
    MLPClassifierFromScratch : The drop-in for scikit-learn's MLP.
    sklearn.ensemble.HistGradientBoostingClassifier : Gradient-boosted trees.
""",
        """    >>> import numpy as np
    >>> from skdnn import TabularMLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.normal(size=(300, 2)), rng.choice(["a", "b", "c"], 300)].astype(object)
    >>> X[::7, 0] = np.nan                           # missing values are fine
    >>> y = (X[:, 1].astype(float) > 0) ^ (X[:, 2] == "a")
    >>> clf = TabularMLPClassifier(random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True""")

    _parameter_constraints: dict = {
        **_BaseTabularMLP._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, hidden_layer_sizes=(128, 128, 128), n_members=4, ensemble="mini",
                 numeric_embedding="pbld", activation="auto", parametric_activation=False,
                 scaling_layer=True, dropout=0.15,
                 learning_rate_init="auto", weight_decay=0.02, batch_size="auto", max_iter=64,
                 early_stopping="auto", validation_fraction=0.2,
                 categorical_features="from_dtype", numeric="robust", label_smoothing=0.1,
                 class_weight=None, random_state=None, verbose=False):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, n_members=n_members, ensemble=ensemble,
            numeric_embedding=numeric_embedding, activation=activation,
            parametric_activation=parametric_activation, scaling_layer=scaling_layer,
            dropout=dropout,
            learning_rate_init=learning_rate_init, weight_decay=weight_decay,
            batch_size=batch_size, max_iter=max_iter, early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            categorical_features=categorical_features, numeric=numeric,
            random_state=random_state, verbose=verbose)
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    def _check_y(self, y):
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"),
                         warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} takes one label per row; got a target "
                             f"of type {type_of_target(y)!r}.")
        return y

    def _encode_targets(self, y, sample_weight):
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes; y holds one "
                             f"class ({classes[0]!r}), so there is nothing to learn.")
        self.classes_ = classes
        Y = np.zeros((len(y), len(classes)), dtype=np.float32)
        Y[np.arange(len(y)), y_index] = 1
        return y, Y, "softmax"

    def _smoothed(self, Y):
        eps = self.label_smoothing
        return (1 - eps) * Y + eps / Y.shape[1] if eps else Y

    def _sample_weight(self, sample_weight, X, y):
        return combined_sample_weight(sample_weight, X, y, self.class_weight)

    def _stratify(self, y):
        return y

    def _score_outputs(self, outputs, y, sample_weight):
        return accuracy_score(y, self.classes_[outputs.argmax(axis=1)],
                              sample_weight=sample_weight)

    @predicts("Probability of each class: the members' probabilities averaged.",
              accepts=_X_TYPES, returns="""
        proba : ndarray of shape (n_samples, n_classes)
            In the order of ``classes_``.""")
    def predict_proba(self, X):
        return self._outputs(X)

    @predicts("Logarithm of :meth:`predict_proba`.", accepts=_X_TYPES, returns="""
        log_proba : ndarray of shape (n_samples, n_classes)
            The natural logarithm of each class's probability.""")
    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @predicts("The most probable class of each row.", accepts=_X_TYPES, returns="""
        y : ndarray of shape (n_samples,)
            One of ``classes_`` per row.""")
    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class TabularMLPRegressor(RegressorMixin, _BaseTabularMLP):
    __doc__ = _docstring(
        """A neural network regressor for tables, good at its defaults.

    RealMLP-TD's recipe with TabM's ensemble, in NumPy. It takes a DataFrame (or an array)
    with numbers, booleans, text, categories and missing values, and fits its preprocessing
    inside (see :class:`TabularMLPClassifier`). The
    network learns the standardised target ``(y - mean) / std`` (any scale of ``y`` works
    unchanged) and its predictions are clipped to the training target's range, as
    RealMLP-TD does.""",
        "",
        "",
        """    TabularMLPClassifier : The classifier.
    MLPRegressorFromScratch : The drop-in for scikit-learn's MLP.
    sklearn.ensemble.HistGradientBoostingRegressor : Gradient-boosted trees.
""",
        """    >>> import numpy as np
    >>> from skdnn import TabularMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = 1e5 * (X[:, 0] ** 2 + X[:, 1])           # a price-like target
    >>> reg = TabularMLPRegressor(random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True""")

    def _check_y(self, y):
        try:
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        except ValueError as error:
            if "convert" not in str(error):
                raise
            raise ValueError(f"{type(self).__name__} needs a numeric target; y holds values "
                             f"that are not numbers ({error}). For class labels use "
                             "TabularMLPClassifier.") from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return y

    def _encode_targets(self, y, sample_weight):
        self._y_mean, self._y_scale = (np.atleast_1d(v) for v in standardise_target(
            y, sample_weight))
        self._y_low, self._y_high = (np.atleast_1d(v) for v in target_range(y))
        Y = (y.reshape(len(y), -1) - self._y_mean) / self._y_scale
        return y, Y, "identity"

    def _predictions(self, outputs):
        values = clip_to_range(outputs.astype(np.float64) * self._y_scale + self._y_mean,
                               self._y_low, self._y_high)
        return values.ravel() if values.shape[1] == 1 else values

    def _score_outputs(self, outputs, y, sample_weight):
        if not np.isfinite(outputs).all():
            return np.nan
        return r2_score(y, self._predictions(outputs), sample_weight=sample_weight)

    def as_engine(self, dtype=np.float64):
        """The fitted model as the engine's network and its flat parameters.

        The network learned the standardised target; the one returned predicts in the
        target's units (before the clip to its range).

        Parameters
        ----------
        dtype : numpy dtype, default=numpy.float64
            The dtype of the network's passes and parameters.

        Returns
        -------
        network : skdnn.nn.layout.AffineOutput
            The members' averaged predictions, scaled back to the target's units.
        theta : ndarray of shape (network.size,)
            A new vector: the fitted parameters.
        """
        network, theta = super().as_engine(dtype)
        return AffineOutput(network, self._y_scale.astype(dtype),
                            self._y_mean.astype(dtype)), theta

    @predicts("Predicted targets, within the training target's range.", accepts=_X_TYPES,
              returns="""
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per target (a 1-d array for one target).""")
    def predict(self, X):
        return self._predictions(self._outputs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
