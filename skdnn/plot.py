"""Plots in scikit-learn's Display style. matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


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

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The twin axes of the validation score, when there is one.
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        ``"training loss"``, ``"validation loss"``, ``"validation score"``, for those drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skdnn import MLPClassifierFromScratch
    >>> from skdnn.plot import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> est = MLPClassifierFromScratch(early_stopping=True, max_iter=30, random_state=0)
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
        """Draw the curves on ``ax`` (a new figure when None) and return ``self``."""
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
        """Plot the curves a fitted estimator recorded (``loss_curve_``,
        ``validation_loss_curve_``, ``validation_scores_``)."""
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
