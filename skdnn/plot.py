"""Plots in scikit-learn's Display style. matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_regressor
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

__all__ = ["AttributionDisplay", "LossCurveDisplay"]


class LossCurveDisplay:
    """Training loss per epoch and, with early stopping, validation loss and score.

    Build it with :meth:`from_estimator`; the constructor takes the curves themselves.

    Parameters
    ----------
    loss_curve : list of float
        Training objective per epoch (``loss_curve_``).
    validation_loss_curve : list of float or None
        Validation log-loss per epoch (``validation_loss_curve_``).
    validation_scores : list of float or None
        Validation accuracy per epoch (``validation_scores_``), drawn on a second y axis.
    estimator_name : str or None
        Name of the estimator, the default title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The twin axes of the validation score, when there is one.
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        ``"training loss"``, ``"validation loss"``, ``"validation score"``, for those drawn.

    See Also
    --------
    AttributionDisplay : The attributions of one prediction.
    sklearn.model_selection.LearningCurveDisplay : Scores against the training set's size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.plot import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> est = MLPClassifierFromScratch(early_stopping=True, random_state=0)
    >>> display = LossCurveDisplay.from_estimator(est.fit(X, y))
    >>> sorted(display.lines_)
    ['training loss', 'validation loss', 'validation score']
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, validation_scores=None,
                 estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, title=None):
        """Draw the curves on ``ax`` (a new figure when None).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw the losses; the validation score gets a twin y axis.
        title : str, default=None
            The title; the estimator's name by default.

        Returns
        -------
        self : LossCurveDisplay
            The display, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        check_matplotlib_support("LossCurveDisplay.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        epochs = range(1, len(self.loss_curve) + 1)
        self.lines_ = {"training loss": ax.plot(epochs, self.loss_curve, label="training loss")[0]}
        if self.validation_loss_curve is not None:
            self.lines_["validation loss"] = ax.plot(
                epochs, self.validation_loss_curve, label="validation loss")[0]
        ax.set_xlabel("epoch")
        ax.set_ylabel("log-loss")
        self.score_ax_ = None
        if self.validation_scores is not None:
            self.score_ax_ = ax.twinx()
            self.lines_["validation score"] = self.score_ax_.plot(
                epochs, self.validation_scores, color="tab:green", linestyle="--",
                label="validation score")[0]
            self.score_ax_.set_ylabel("validation accuracy")
        ax.legend(handles=list(self.lines_.values()), loc="best")
        ax.set_title(title if title is not None else (self.estimator_name or ""))
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, ax=None, *, title=None):
        """Plot the curves a fitted estimator recorded.

        They are ``loss_curve_``, and with early stopping ``validation_loss_curve_`` and
        ``validation_scores_``.

        Parameters
        ----------
        estimator : fitted estimator
            An MLP of skdnn, or any estimator with a ``loss_curve_``.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        title : str, default=None
            The title; the estimator's name by default.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        if getattr(estimator, "loss_curve_", None) is None:
            raise ValueError(f"{type(estimator).__name__} has no loss_curve_ to plot.")
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, title=title)


class AttributionDisplay:
    r"""One prediction's attributions as signed horizontal bars, the largest on top.

    Build it with :meth:`from_estimator` (computes and draws) or :meth:`from_explanation` (draws
    a LIME explanation or a row of attributions you already have); the constructor takes the
    numbers themselves.

    The title says what the numbers add up to. For integrated gradients it is the change of
    the explained output from the baseline to the row, ``P(x) - P(baseline)`` (completeness,
    summed over *all* features even when fewer are drawn). LIME's weights add up to nothing
    in particular, so its title gives the local fit's R² instead: how much of the model's
    variation around the row the linear surrogate captures (a low R² says: rely on
    :func:`skdnn.explain.explanation_stability` more than on one explanation).

    Parameters
    ----------
    attributions : array-like of shape (n_features,)
        Signed contribution of each feature (or LIME rule).
    feature_names : list of str
        One name per attribution (for LIME: its rules, such as ``"age > 40"``).
    method : {"integrated_gradients", "lime", "attributions"}
        How the numbers were made; sets the title and the axis label.
    target_name : str or None, default=None
        What is explained: the class name, or None for a regressor's prediction.
    output : float or None, default=None
        The explained output at the row, ``P(target | x)`` or the prediction.
    baseline_output : float or None, default=None
        The same at the baseline (integrated gradients).
    score : float or None, default=None
        LIME's local fit R².

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : matplotlib BarContainer
        The bars drawn, from the bottom up: the largest attribution is the last, on top.

    See Also
    --------
    skdnn.explain.integrated_gradients : Exact attributions of an MLP of skdnn.
    skdnn.explain.explain_lime : LIME's attributions of any model.
    LossCurveDisplay : The training curves of a fit.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.plot import AttributionDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierFromScratch((8,), activation="tanh", solver="lbfgs",
    ...                                random_state=0).fit(X, y)
    >>> display = AttributionDisplay.from_estimator(clf, X, X[:1])
    >>> display.ax_.get_title().splitlines()[0]
    'Integrated gradients of P(0)'
    """

    def __init__(self, *, attributions, feature_names, method, target_name=None, output=None,
                 baseline_output=None, score=None):
        self.attributions = attributions
        self.feature_names = feature_names
        self.method = method
        self.target_name = target_name
        self.output = output
        self.baseline_output = baseline_output
        self.score = score

    def _title(self, n_drawn):
        values = np.asarray(self.attributions, dtype=np.float64)
        what = "the prediction" if self.target_name is None else f"P({self.target_name})"
        out = "f" if self.target_name is None else "P"
        drawn = f"{n_drawn} largest of {len(values)}; " if n_drawn < len(values) else ""
        if self.method == "lime":
            fit = "" if self.score is None else f"local fit R² = {self.score:.2f}"
            return f"LIME weights for {what}\n{drawn}{fit}"
        head = f"Integrated gradients of {what}"
        if self.method != "integrated_gradients":
            head = "Attributions" if self.target_name is None else f"Attributions of {what}"
        total = f"sum {values.sum():+.3f}"
        if self.output is not None and self.baseline_output is not None:
            total += (f" = {out}(x) {self.output:.3f} - {out}(baseline) "
                      f"{self.baseline_output:.3f}")
        return f"{head}\n{drawn}{total}"

    def plot(self, ax=None, *, max_features=10, title=None):
        """Draw the ``max_features`` largest attributions on ``ax`` (a new figure when None).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        max_features : int, default=10
            Bars drawn: the attributions largest in absolute value.
        title : str, default=None
            Replaces the title that states what the numbers add up to.

        Returns
        -------
        self : AttributionDisplay
            The display, with ``ax_``, ``figure_`` and ``bars_`` set.
        """
        check_matplotlib_support("AttributionDisplay.plot")
        import matplotlib.pyplot as plt

        values = np.asarray(self.attributions, dtype=np.float64).ravel()
        names = [str(name) for name in self.feature_names]
        if len(names) != len(values):
            raise ValueError(f"{len(names)} feature names for {len(values)} attributions.")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.4 * min(max_features, len(values)) + 1.5))
        order = np.argsort(-np.abs(values), kind="stable")[:max_features][::-1]
        self.bars_ = ax.barh([names[j] for j in order], values[order],
                             color=["C2" if values[j] > 0 else "C3" for j in order])
        ax.axvline(0, color="0.5", lw=0.8)
        ax.grid(axis="x", alpha=0.3)
        unit = "the prediction" if self.target_name is None else "probability"
        ax.set_xlabel(f"LIME weight ({unit})" if self.method == "lime"
                      else f"attribution ({unit})")
        ax.set_title(self._title(len(order)) if title is None else title)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X_train, x, *, method="integrated_gradients", target=None,
                       target_name=None, baseline=None, max_features=10, ax=None, title=None,
                       **kwargs):
        """Explain one row of a fitted model and draw it.

        Parameters
        ----------
        estimator : fitted estimator or Pipeline
            For ``"integrated_gradients"``, an MLP of skdnn (or a pipeline ending in one, see
            :func:`skdnn.explain.integrated_gradients`); for ``"lime"``, any classifier with
            ``predict_proba`` or any regressor.
        X_train : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data: LIME samples from it, and integrated gradients take its typical
            row (means, most frequent categories) as the default baseline.
        x : {array-like, DataFrame} of shape (1, n_features)
            The row to explain.
        method : {"integrated_gradients", "lime"}, default="integrated_gradients"
        target : class label or None, default=None
            The class whose probability is explained; None is the predicted class.
        target_name : str or None, default=None
            The class's name in the title; its label by default.
        baseline : raw row or None, default=None
            Integrated gradients' baseline (see above for None). Not used by LIME.
        max_features : int, default=10
            Bars drawn, as in :meth:`plot`.
        ax : matplotlib Axes, default=None
            Where to draw, as in :meth:`plot`.
        title : str, default=None
            The title, as in :meth:`plot`.
        **kwargs
            Passed to :func:`skdnn.explain.integrated_gradients` (``n_steps``, ``tol``) or
            :func:`skdnn.explain.explain_lime` (``num_samples``, ``random_state``, ...).

        Returns
        -------
        display : AttributionDisplay
        """
        from .explain import explain_lime, integrated_gradients
        from .explain._gradients import _baseline_rows

        if method not in ("integrated_gradients", "lime"):
            raise ValueError(
                f"method must be 'integrated_gradients' or 'lime'; got {method!r}."
            )
        check_is_fitted(estimator)
        if hasattr(x, "ndim") and x.ndim == 1 or not hasattr(x, "shape"):
            x = np.asarray(x)[None, :] if not hasattr(x, "to_frame") else x.to_frame().T
        regressor = is_regressor(estimator)
        column = 0
        if not regressor:
            label = estimator.predict(x)[0] if target is None else target
            column = list(estimator.classes_).index(label)
        if method == "lime":
            if not regressor:
                kwargs.setdefault("labels", (column,))
                if target_name is not None:
                    names = [str(label) for label in estimator.classes_]
                    names[column] = target_name
                    kwargs.setdefault("class_names", names)
            exp = explain_lime(estimator, X_train, x, num_features=max_features, **kwargs)
            return cls.from_explanation(exp, max_features=max_features, ax=ax, title=title)

        def output(rows):
            if regressor:
                return np.asarray(estimator.predict(rows), dtype=np.float64).reshape(-1)[column]
            return estimator.predict_proba(rows)[0, column]

        target = None if regressor else estimator.classes_[column]
        attributions = integrated_gradients(estimator, x, baseline=baseline, target=target,
                                            X_train=X_train, **kwargs)
        names = list(getattr(attributions, "columns", [])) or _feature_names(estimator, x)
        display = cls(
            attributions=np.asarray(attributions)[0], feature_names=names,
            method="integrated_gradients",
            target_name=None if regressor else str(target if target_name is None else target_name),
            output=output(x), baseline_output=output(_baseline_rows(estimator, x, baseline,
                                                                   X_train)[:1]),
        )
        return display.plot(ax=ax, max_features=max_features, title=title)

    @classmethod
    def from_explanation(cls, explanation, *, feature_names=None, label=None, max_features=10,
                         ax=None, title=None):
        """Draw a LIME explanation, or one row of attributions you already computed.

        Parameters
        ----------
        explanation : lime Explanation, pandas Series or one-row DataFrame, or array-like
            From :func:`skdnn.explain.explain_lime`, or one row of
            :func:`skdnn.explain.integrated_gradients` (its names are used).
        feature_names : list of str, default=None
            Names of an array's attributions; ``x0, x1, ...`` by default.
        label : int, default=None
            The class column of a LIME explanation; its first explained class by default
            (the predicted class, as ``explanation.as_list()`` describes).
        max_features : int, default=10
            Bars drawn, as in :meth:`plot`.
        ax : matplotlib Axes, default=None
            Where to draw, as in :meth:`plot`.
        title : str, default=None
            The title, as in :meth:`plot`.

        Returns
        -------
        display : AttributionDisplay

        Raises
        ------
        TypeError
            If ``explanation`` is none of those (``None``, a string, a dict, ...).
        ValueError
            If it is empty, more than one row, or holds NaN or infinity.
        """
        if hasattr(explanation, "as_list") and hasattr(explanation, "local_exp"):
            regression = explanation.mode == "regression"
            first = 1 if regression else explanation.available_labels()[0]
            label = first if label is None or regression else label
            rules = explanation.as_list(label=label)
            display = cls(
                attributions=[weight for _, weight in rules],
                feature_names=[rule for rule, _ in rules], method="lime",
                target_name=None if regression else str(explanation.class_names[label]),
                score=float(explanation.score) if label == first else None,
            )
            return display.plot(ax=ax, max_features=max_features, title=title)
        what = ("from_explanation needs a LIME explanation (from skdnn.explain.explain_lime) or "
                "one row of attributions (a row of skdnn.explain.integrated_gradients: a "
                "Series, a one-row DataFrame or an array of numbers)")
        if explanation is None or isinstance(explanation, str | bytes | dict):
            raise TypeError(f"{what}; got {type(explanation).__name__}.")
        if hasattr(explanation, "iloc") and getattr(explanation, "ndim", 1) == 2:
            if explanation.shape[0] != 1:
                raise ValueError(f"{what}; got a DataFrame of {explanation.shape[0]} rows.")
            explanation = explanation.iloc[0]
        if feature_names is None and hasattr(explanation, "iloc"):  # a Series: its names
            feature_names = list(explanation.index)
        try:
            values = np.asarray(explanation, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what}; got {type(explanation).__name__}.") from None
        if values.size == 0 or values.ndim > 2 or values.ndim == 2 and values.shape[0] != 1:
            raise ValueError(f"{what}; got an array of shape {values.shape}.")
        values = values.ravel()
        if not np.isfinite(values).all():
            raise ValueError("The attributions to draw contain NaN or infinity.")
        feature_names = feature_names or [f"x{j}" for j in range(len(values))]
        display = cls(attributions=values, feature_names=[str(f) for f in feature_names],
                      method="attributions")
        return display.plot(ax=ax, max_features=max_features, title=title)


def _feature_names(estimator, x):
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{j}" for j in range(x.shape[1])]
