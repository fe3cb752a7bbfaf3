r"""ConsensusClassifier: a classifier learned from several annotators' labels.

Each training row was labelled by some of ``m`` annotators; none is trusted blindly. Three
ways to turn their labels into a model, the ``method`` of :class:`ConsensusClassifier`:

* ``"majority"``: each row's most frequent label (ties split evenly), then the estimator;
* ``"dawid_skene"``: Dawid and Skene's EM (1979) on the labels alone, then the estimator on
  the posterior class probabilities;
* ``"joint"``: Raykar et al.'s EM (JMLR 2010), where the classifier's probabilities take the
  place of the class prior, so the features help decide what the annotators meant.

Notes
-----
Annotator ``j`` is a confusion matrix ``pi_j``: ``pi_j[k, l]`` is the probability that it
says ``l`` when the true class is ``k``. With ``N_ijl = 1`` when annotator ``j`` gave row
``i`` the label ``l``, and ``q_ik`` the probability of class ``k`` before the labels are
seen, the E-step is Bayes' rule,

.. math::

    T_{ik} \propto q_{ik} \prod_j \prod_l \pi_{j,kl}^{N_{ijl}},

and the M-step counts, weighted by the posteriors (and the sample weights ``w_i``), with a
pseudo-count ``a`` (:data:`PSEUDO_COUNT`) that keeps every entry positive:

.. math::

    \pi_{j,kl} = \frac{a + \sum_i w_i T_{ik} N_{ijl}}{K a + \sum_i w_i T_{ik} \sum_l N_{ijl}}.

Dawid-Skene takes ``q_ik = rho_k``, the class prior (the posteriors' weighted mean);
``"joint"`` takes ``q_ik = p_k(x_i)``, the classifier's probabilities, predicted out of fold
(see :class:`ConsensusClassifier`).

A classifier trained on soft targets ``T`` minimises ``sum_i w_i sum_k T_ik (-log p_k(x_i))``:
for any estimator, the rows repeated once per class, row ``(i, k)`` labelled ``k`` with
weight ``w_i T_ik``; skdnn's :class:`MLPClassifierFromScratch` takes ``T`` as its targets
directly, the same objective in ``K`` times less work.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import KFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._missing import is_pandas_na, is_scalar_nan
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_array,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from ._docs import DocLinkMixin, predicts
from ._mlp import MLPClassifierFromScratch
from ._train import generator
from ._warnings import warn

#: The pseudo-count added to every cell of a confusion matrix's counts (a Dirichlet prior):
#: it keeps every probability positive, so a label never seen from an annotator does not
#: rule a class out, and it moves the estimates by at most ``K a / n_j`` for an annotator
#: with ``n_j`` labels.
PSEUDO_COUNT = 0.01

#: The smallest target probability that row expansion (:func:`fit_soft_targets`, for
#: estimators other than skdnn's MLP) keeps as a weighted copy of its row. Leaving out a
#: smaller ``T_ik`` moves the row's term ``sum_k T_ik (-log p_k(x_i))`` of the objective
#: by about ``T_ik (-log p_k(x_i))``, and the fitted probabilities by about ``T_ik``. The
#: posteriors of EM have many such entries: on the digits of
#: ``benchmarks/bench_consensus.py``, 29% of Dawid-Skene's and 78% of ``"joint"``'s.
SOFT_TARGET_FLOOR = 1e-6


def _is_missing(value, missing_label):
    if value is None or is_pandas_na(value) or is_scalar_nan(value):
        return True
    if missing_label is None or is_scalar_nan(missing_label):
        return False
    return bool(value == missing_label)


class _Annotations:
    """The labels as codes: ``codes[i, j]`` is the index in ``classes`` of annotator ``j``'s
    label of row ``i``, or -1 where it gave none; ``onehot[i, j, l]`` is 1 for the label."""

    def __init__(self, Y, missing_label):
        if Y is None:
            raise ValueError("ConsensusClassifier requires y to be passed, but the target y is "
                             "None.")
        names = getattr(Y, "columns", None)
        values = np.asarray(Y, dtype=object)
        if values.ndim == 2 and values.shape[1] == 1:
            warn("A column-vector y was passed when a 1d array was expected: one annotator, "
                 "the same as a 1-D y.", DataConversionWarning)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise ValueError(f"Y must be 1-D (one annotator) or 2-D (n_samples, n_annotators); "
                             f"got {values.ndim} dimensions.")
        missing = np.frompyfunc(lambda v: _is_missing(v, missing_label), 1, 1)(values)
        missing = missing.astype(bool).reshape(values.shape)
        unlabelled = np.flatnonzero(missing.all(axis=1))
        if len(unlabelled):
            raise ValueError(f"{len(unlabelled)} row(s) have no label from any annotator (the "
                             f"first: row {unlabelled[0]}); drop them or have them labelled.")
        given = values[~missing]
        kinds = {isinstance(v, str) for v in given}
        if len(kinds) > 1:
            raise ValueError("The labels mix strings and numbers; give one kind only.")
        given = given.astype(str if kinds == {True} else np.float64 if any(
            isinstance(v, float | np.floating) for v in given) else np.int64)
        if given.dtype.kind == "f" and not np.isfinite(given).all():
            raise ValueError("Input y contains infinity: labels must be finite (NaN marks a "
                             "missing label).")
        check_classification_targets(given)
        self.classes, codes = np.unique(given, return_inverse=True)
        self.codes = np.full(values.shape, -1, dtype=np.intp)
        self.codes[~missing] = codes
        self.names = (np.asarray(names, dtype=object) if names is not None
                      else np.arange(values.shape[1]))
        n_classes = len(self.classes)
        self.onehot = np.zeros((*values.shape, n_classes))
        rows, annotators = np.nonzero(~missing)
        self.onehot[rows, annotators, self.codes[rows, annotators]] = 1.0


def majority_vote(onehot, sample_weight=None):
    """Each row's vote shares, with ties among the most frequent labels split evenly.

    Parameters
    ----------
    onehot : ndarray of shape (n_samples, n_annotators, n_classes)
        ``onehot[i, j, l]`` is 1 where annotator ``j`` gave row ``i`` the label ``l``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Not used: a row's vote does not depend on its weight. Accepted for symmetry with
        :func:`dawid_skene`.

    Returns
    -------
    T : ndarray of shape (n_samples, n_classes)
        ``1 / t`` for each of the ``t`` labels with the most votes, 0 elsewhere.
    """
    votes = onehot.sum(axis=1)
    top = votes == votes.max(axis=1, keepdims=True)
    return top / top.sum(axis=1, keepdims=True)


def confusion_matrices(T, onehot, sample_weight=None):
    """The M-step: each annotator's confusion matrix from the posteriors ``T``.

    Parameters
    ----------
    T : ndarray of shape (n_samples, n_classes)
        The posterior class probabilities of the rows.
    onehot : ndarray of shape (n_samples, n_annotators, n_classes)
        The labels, one-hot (all zeros where an annotator gave none).
    sample_weight : ndarray of shape (n_samples,), default=None
        The rows' weights ``w_i``.

    Returns
    -------
    confusion : ndarray of shape (n_annotators, n_classes, n_classes)
        ``confusion[j, k, l]``: the probability that annotator ``j`` says ``l`` when the
        true class is ``k`` (the module's Notes give the formula).
    """
    n_samples, n_annotators, n_classes = onehot.shape
    wT = T if sample_weight is None else T * sample_weight[:, None]
    # counts[j, k, l] = sum_i wT[i, k] onehot[i, j, l], as one matrix product (BLAS): the
    # same sum as an einsum, 30 times faster.
    counts = (wT.T @ onehot.reshape(n_samples, -1)).reshape(n_classes, n_annotators, -1)
    counts = counts.transpose(1, 0, 2) + PSEUDO_COUNT
    return counts / counts.sum(axis=2, keepdims=True)


def posteriors(log_prior, onehot, confusion):
    """The E-step: the posterior of each row's class given its labels (Bayes' rule).

    Parameters
    ----------
    log_prior : ndarray of shape (n_classes,) or (n_samples, n_classes)
        ``log q_ik``: the class prior, or each row's class probabilities before its labels
        are seen.
    onehot : ndarray of shape (n_samples, n_annotators, n_classes)
        The labels, one-hot.
    confusion : ndarray of shape (n_annotators, n_classes, n_classes)
        The annotators' confusion matrices.

    Returns
    -------
    T : ndarray of shape (n_samples, n_classes)
        ``T_ik`` proportional to ``q_ik prod_j pi_j[k, y_ij]``, normalised by log-sum-exp.
    """
    n_samples, n_annotators, n_classes = onehot.shape
    # sum_j sum_l onehot[i, j, l] log confusion[j, k, l], as one matrix product
    log_pi = np.log(confusion).transpose(0, 2, 1).reshape(n_annotators * n_classes, -1)
    log_T = log_prior + onehot.reshape(n_samples, -1) @ log_pi
    log_T -= log_T.max(axis=1, keepdims=True)
    T = np.exp(log_T)
    return T / T.sum(axis=1, keepdims=True)


def dawid_skene(onehot, sample_weight=None, *, log_prior=None, init=None, max_iter=100,
                tol=1e-5):
    """Dawid and Skene's EM: posteriors and confusion matrices from the labels alone.

    Parameters
    ----------
    onehot : ndarray of shape (n_samples, n_annotators, n_classes)
        The labels, one-hot.
    sample_weight : ndarray of shape (n_samples,), default=None
        The rows' weights in the M-step.
    log_prior : ndarray of shape (n_samples, n_classes), default=None
        Fixed per-row log-probabilities of the classes (``"joint"``: the classifier's). By
        default the class prior, re-estimated at each M-step, as Dawid and Skene do.
    init : ndarray of shape (n_samples, n_classes), default=None
        The starting posteriors; the majority vote by default.
    max_iter : int, default=100
        The most EM iterations.
    tol : float, default=1e-5
        Stop when no posterior moves by more than this in an iteration.

    Returns
    -------
    T : ndarray of shape (n_samples, n_classes)
        The posteriors.
    confusion : ndarray of shape (n_annotators, n_classes, n_classes)
        The confusion matrices of the last M-step.
    n_iter : int
        The iterations run.
    """
    T = majority_vote(onehot) if init is None else init
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        confusion = confusion_matrices(T, onehot, sample_weight)
        prior = log_prior
        if prior is None:
            prior = np.log(np.average(T, axis=0, weights=sample_weight) + 1e-300)
        T_new = posteriors(prior, onehot, confusion)
        change, T = np.abs(T_new - T).max(), T_new
        if change <= tol:
            break
    return T, confusion_matrices(T, onehot, sample_weight), n_iter


def _aligned_proba(estimator, X, classes):
    """``estimator.predict_proba(X)`` with one column per class of ``classes`` (0 for a
    class the estimator never saw)."""
    proba = estimator.predict_proba(X)
    out = np.zeros((proba.shape[0], len(classes)))
    out[:, np.searchsorted(classes, estimator.classes_)] = proba
    return out


def weight_keyword(estimator):
    """The keyword under which ``estimator.fit`` takes sample weights, or None if it cannot.

    * ``"sample_weight"`` when its ``fit`` has that parameter (the weights go to the
      estimator itself, whether metadata routing is on or off);
    * with metadata routing on (``sklearn.set_config(enable_metadata_routing=True)``),
      ``"sample_weight"`` when the estimator routes it to a step that requested it (a
      ``Pipeline`` whose last step was given ``.set_fit_request(sample_weight=True)``);
    * with routing off, ``"<step>__sample_weight"`` for a ``Pipeline`` whose last step takes
      weights (the Pipeline's own convention: ``pipe.fit(X, y,
      logisticregression__sample_weight=w)``), nested Pipelines included.

    Parameters
    ----------
    estimator : estimator
        An unfitted estimator.

    Returns
    -------
    keyword : str or None
        The keyword of ``fit`` that takes the weights, None when there is none.
    """
    if has_fit_parameter(estimator, "sample_weight"):
        return "sample_weight"
    if get_config()["enable_metadata_routing"]:
        routing = get_routing_for_object(estimator)
        return "sample_weight" if routing.consumes("fit", ("sample_weight",)) else None
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        inner = None if last in (None, "passthrough") else weight_keyword(last)
        return None if inner is None else f"{name}__{inner}"
    return None


def _no_weights_message(estimator, why, *, majority=False):
    """What to do when ``estimator`` cannot take the sample weights that ``why`` needs;
    ``majority`` adds that ``method="majority"`` needs none where no vote ties."""
    name = type(estimator).__name__
    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else None
    if last is not None and not has_fit_parameter(last, "sample_weight"):
        fix = (f"the Pipeline's last step ({type(last).__name__}) has no sample_weight in "
               "its fit: end the Pipeline with a classifier whose fit has one, such as "
               "LogisticRegression or MLPClassifierFromScratch")
    elif get_config()["enable_metadata_routing"]:
        fix = (f"metadata routing is on, and {name}.fit routes sample_weight to no step: "
               "request it on the classifier (and decline it on the other steps that take "
               "weights), e.g. make_pipeline(StandardScaler().set_fit_request("
               "sample_weight=False), LogisticRegression().set_fit_request("
               "sample_weight=True))")
    else:
        fix = (f"{name}.fit has no sample_weight parameter: use a classifier whose fit has "
               "one, such as LogisticRegression or MLPClassifierFromScratch")
    if majority:
        fix += (", or method='majority', which trains on the voted labels alone where no "
                "row's vote ties")
    return (f"ConsensusClassifier trains its estimator with sample weights because {why}, "
            f"but {fix}.")


def _fit_weighted(estimator, X, y, sample_weight):
    """``estimator.fit(X, y)`` with ``sample_weight`` (if not None) under the keyword of
    :func:`weight_keyword`."""
    if sample_weight is None:
        return estimator.fit(X, y)
    keyword = weight_keyword(estimator)
    if keyword is None:
        raise ValueError(_no_weights_message(
            estimator, "its targets are class probabilities or the rows are weighted"))
    return estimator.fit(X, y, **{keyword: sample_weight})


def fit_soft_targets(estimator, X, T, classes, sample_weight=None, *,
                     floor=SOFT_TARGET_FLOOR):
    r"""Fit ``estimator`` to the class probabilities ``T`` by minimising the expected log-loss.

    The objective is ``sum_i w_i sum_k T_ik (-log p_k(x_i))``: any classifier that takes
    ``sample_weight`` meets it on the rows repeated once per class, row ``(i, k)`` labelled
    ``classes[k]`` with weight ``w_i T_ik``. Copies of weight ``T_ik < floor`` are left out
    and the row's other ``T_ik`` scaled to sum to 1, so that a (near) one-hot row is one
    copy rather than ``K``: rows of weight 0 change no objective, and a weight below
    ``floor`` moves the fitted probabilities by about that much. Each class keeps its
    likeliest copy, so the estimator sees every class of positive ``T``. The weights reach
    the estimator under the keyword of :func:`weight_keyword` (``sample_weight``, or
    ``<step>__sample_weight`` for a ``Pipeline``); without weights to pass (one-hot ``T``,
    no ``sample_weight``) its ``fit`` is called with ``X`` and the labels alone.
    :class:`~skdnn.MLPClassifierFromScratch` (without ``class_weight``) takes ``T`` as its
    targets instead, all of it: the same objective, and the same fit, in ``K`` times less
    work.

    Parameters
    ----------
    estimator : classifier
        An unfitted classifier that takes sample weights (see :func:`weight_keyword`).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The training input, passed to the estimator as it is (its rows indexed with
        scikit-learn's ``_safe_indexing``).
    T : ndarray of shape (n_samples, n_classes)
        Non-negative rows that sum to 1.
    classes : ndarray of shape (n_classes,)
        The sorted labels of ``T``'s columns.
    sample_weight : ndarray of shape (n_samples,), default=None
        The rows' weights ``w_i``.
    floor : float, default=SOFT_TARGET_FLOOR
        The smallest ``T_ik`` kept as a copy of its row in the expansion
        (:data:`SOFT_TARGET_FLOOR`, 1e-6); 0 keeps every positive one.

    Returns
    -------
    estimator : classifier
        The fitted estimator.
    """
    hard = (T == 1).any(axis=1).all()
    if hard:  # labels, as they are: no expansion needed
        return _fit_weighted(estimator, X, classes[T.argmax(axis=1)], sample_weight)
    if isinstance(estimator, MLPClassifierFromScratch) and estimator.class_weight is None:
        return estimator._fit_soft_targets(X, T, classes, sample_weight=sample_weight)
    # A row keeps its weight: its largest T_ik >= 1 / K is never below the floor.
    kept = np.where(T >= min(floor, 1 / T.shape[1]), T, 0.0)
    # Each class keeps its likeliest copy, so the estimator sees every class that the full
    # expansion shows it (and a warm-started one the same classes from round to round).
    likeliest, columns = T.argmax(axis=0), np.arange(T.shape[1])
    kept[likeliest, columns] = T[likeliest, columns]
    kept /= kept.sum(axis=1, keepdims=True)
    rows, columns = np.nonzero(kept)
    weight = kept[rows, columns] * (1.0 if sample_weight is None else sample_weight[rows])
    return _fit_weighted(estimator, _safe_indexing(X, rows), classes[columns], weight)


class _Problem(NamedTuple):
    """What a fit's steps share: the validated input, the annotations, the row weights
    (or None) and the fit's one generator."""

    X: object
    labels: _Annotations
    sample_weight: object
    rng: np.random.Generator


class _Consensus(NamedTuple):
    """The EM's result: the posteriors ``T`` (n_samples, n_classes), the annotators'
    confusion matrices (n_annotators, n_classes, n_classes) and the EM iterations."""

    T: np.ndarray
    confusion: np.ndarray
    n_iter: int


class ConsensusClassifier(DocLinkMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    r"""A classifier learned from several annotators' labels, and what they tell of each other.

    ``fit(X, Y)`` takes one column of ``Y`` per annotator, with ``missing_label`` (or
    ``None``, NaN, ``pd.NA``) where an annotator did not label a row. It estimates each
    row's true class and each annotator's confusion matrix, then trains ``estimator`` on the
    posterior class probabilities (soft targets, exactly: see :func:`fit_soft_targets`).
    A 1-D ``y`` is one annotator: ordinary supervised learning, the estimator fitted on the
    labels.

    Parameters
    ----------
    estimator : classifier, default=None
        Any classifier with ``predict_proba`` that takes sample weights, a ``Pipeline``
        included: ``X`` reaches it as it is (a DataFrame with string columns, for a
        ``ColumnTransformer``), and the weights under the keyword of
        :func:`weight_keyword` (its ``fit``'s ``sample_weight``; with metadata routing
        on, the ``sample_weight`` that a Pipeline routes to the step that requested it;
        without, the Pipeline's ``<last step>__sample_weight``). An estimator without
        weights serves ``method="majority"`` when no row's vote ties and ``fit`` is given
        no ``sample_weight``; otherwise ``fit`` raises a ``ValueError`` that says what to
        do. Cloned; every ``random_state`` parameter left at None (a Pipeline's steps'
        too) is set from this estimator's ``random_state``. None means
        ``MLPClassifierFromScratch()``.
    method : {"joint", "dawid_skene", "majority"}, default="joint"
        How the true classes are estimated:

        - ``"majority"``: each row's most frequent label. A tie is split evenly: the row's
          target gives each of the tied labels the same probability.
        - ``"dawid_skene"``: Dawid and Skene's EM on the labels alone, started from the
          majority vote; the estimator is trained on its posteriors.
        - ``"joint"``: Raykar et al.'s EM, started from Dawid-Skene's posteriors. Each round
          trains the estimator on the posteriors and takes its probabilities as each row's
          prior in place of the class prior; EM on the confusions then runs with them
          fixed. The probabilities are predicted *out of fold* (``cv``): a network trained
          on all rows reproduces its own targets, its "prior" is the previous posterior, and
          EM stalls where it began. The fold estimators go on from round to round for
          ``fold_max_iter`` iterations each (see there), and the estimator is trained once
          more, on all rows, at the end. The default, and the defaults of ``n_rounds``,
          ``cv`` and ``fold_max_iter``, were chosen by measurement: ``docs/consensus.md``
          has the table.
    missing_label : float, int, str or None, default=np.nan
        The entry that marks a row an annotator did not label. ``None``, NaN and
        ``pd.NA`` always count as missing too.
    max_iter : int, default=100
        The most EM iterations (of Dawid-Skene, and of each round of ``"joint"``).
    tol : float, default=1e-5
        EM stops when no posterior moves by more than ``tol`` in an iteration; ``"joint"``
        stops its rounds when none moves by more than ``100 * tol`` in a round.
    n_rounds : int, default=6
        The most rounds of ``"joint"``: each fits the ``cv`` fold estimators on the
        posteriors, then runs EM with their probabilities.
    cv : int, cross-validation generator, iterable or None, default=2
        The folds of the out-of-fold probabilities of ``"joint"``, the same in every round:
        a number of shuffled folds (``KFold``, seeded by ``random_state``), a splitter, or
        an iterable of ``(train, test)`` index arrays whose test folds hold every row once.
        None predicts the rows with an estimator trained on all of them (Raykar et al.'s
        original).
    fold_max_iter : int or None, default=20
        The ``max_iter`` of each fold estimator in each round of ``"joint"``, where the
        estimator has ``warm_start`` and ``max_iter`` parameters (skdnn's and
        scikit-learn's MLPs, ``LogisticRegression``, ``SGDClassifier``): the fold
        estimators are kept from round to round, and each round goes on from the last
        one's weights (``warm_start=True``) for ``fold_max_iter`` more epochs (or solver
        iterations), on the new posteriors. Their ``ConvergenceWarning`` is silenced, as
        stopping early is the point. So ``n_rounds`` rounds cost about ``n_rounds *
        fold_max_iter`` epochs of each fold estimator in all, where fitting every round
        from scratch costs ``n_rounds`` whole fits. None, or an estimator without those
        parameters: each round fits new fold estimators, in full.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the estimators' ``random_state``.

    Attributes
    ----------
    estimator_ : classifier
        The estimator fitted on all rows' posteriors.
    classes_ : ndarray of shape (n_classes,)
        The labels given, sorted: the union over the annotators.
    consensus_proba_ : ndarray of shape (n_samples, n_classes)
        The posterior of each training row's true class (the estimator's targets).
    annotator_confusion_ : ndarray of shape (n_annotators, n_classes, n_classes)
        ``annotator_confusion_[j, k, l]``: the estimated probability that annotator ``j``
        gives the label ``classes_[l]`` to a row of true class ``classes_[k]``. Rows are the
        true class, columns the given label; each row sums to 1.
    annotator_accuracy_ : ndarray of shape (n_annotators,)
        The probability that each annotator is right on a random row:
        ``sum_k prior_k annotator_confusion_[j, k, k]``, the prior being the mean of
        ``consensus_proba_``.
    annotators_ : ndarray of shape (n_annotators,)
        The annotators' names: ``Y``'s column names when it is a DataFrame, else
        ``0, ..., n_annotators - 1``.
    class_prior_ : ndarray of shape (n_classes,)
        The (weighted) mean of ``consensus_proba_``.
    difficulty_ : ndarray of shape (n_samples,)
        How uncertain each row's class is, in [0, 1]: the entropy of its posterior divided
        by ``log(n_classes)``. For ``"majority"``, of its vote shares (the crowd's
        disagreement), as the tie-split targets say nothing of 2-to-1 votes.
    relabel_order_ : ndarray of shape (n_samples,)
        The training rows to send back for labelling first: by ``difficulty_``, hardest
        first, and among equally hard rows those with fewer labels first.
    n_labels_ : ndarray of shape (n_samples,)
        How many annotators labelled each row.
    n_iter_ : int
        EM iterations run (in all rounds); 1 for the majority vote (its one M-step).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string column names.

    See Also
    --------
    annotations_to_wide : Crowd-kit's long table of labels as the ``Y`` of ``fit``.
    simulate_annotations : Labels from annotators of known confusion matrices.

    Notes
    -----
    The module :mod:`skdnn._consensus` gives the E- and M-steps. Training on soft targets
    minimises the expected cross-entropy ``sum_i w_i sum_k T_ik (-log p_k(x_i))``, which for
    skdnn's MLP equals training on the rows expanded once per class, weighted by ``T_ik``.

    References
    ----------
    A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates
    using the EM algorithm", Applied Statistics 28(1), 1979.

    V. C. Raykar, S. Yu, L. H. Zhao, G. H. Valadez, C. Florin, L. Bogoni and L. Moy,
    "Learning from crowds", Journal of Machine Learning Research 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdnn import ConsensusClassifier
    >>> X = np.array([[-5.0], [-3.0], [-1.0], [1.0], [3.0], [5.0]])
    >>> Y = np.array([["a", "a", None], ["a", "b", "a"], ["a", "a", "b"],
    ...               ["b", "b", "a"], [None, "b", "b"], ["b", "b", "b"]], dtype=object)
    >>> clf = ConsensusClassifier(LogisticRegression(), method="dawid_skene").fit(X, Y)
    >>> clf.classes_
    array(['a', 'b'], dtype='<U1')
    >>> clf.predict([[-4.0], [4.0]])
    array(['a', 'b'], dtype='<U1')
    >>> clf.annotator_confusion_.shape
    (3, 2, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "method": [StrOptions({"majority", "dawid_skene", "joint"})],
        "missing_label": [Real, str, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object", None],
        "fold_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, method="joint", missing_label=np.nan, max_iter=100,
                 tol=1e-5, n_rounds=6, cv=2, fold_max_iter=20, random_state=None):
        self.estimator = estimator
        self.method = method
        self.missing_label = missing_label
        self.max_iter = max_iter
        self.tol = tol
        self.n_rounds = n_rounds
        self.cv = cv
        self.fold_max_iter = fold_max_iter
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)  # the estimator checks its own
    def fit(self, X, y, sample_weight=None):
        """Estimate the rows' true classes and the annotators' confusions, and train on them.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The training input, passed to the estimator as it is: only its feature names
            and count are recorded here, and the estimator checks the values.
        y : array-like or DataFrame of shape (n_samples, n_annotators) or (n_samples,)
            The annotations ``Y``: one column per annotator, of labels (numbers or strings),
            and ``missing_label``, ``None``, NaN or ``pd.NA`` where it gave none. Every row
            needs at least one label. A 1-D ``y`` is one annotator.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, in the EM's counts and in the estimator's fit (which must
            take weights, see ``estimator``).

        Returns
        -------
        self : ConsensusClassifier
            The fitted estimator.
        """
        X = self._check_X(X, reset=True)
        labels = _Annotations(y, self.missing_label)
        n_samples = _num_samples(X)
        if labels.codes.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {labels.codes.shape[0]}.")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        problem = _Problem(X, labels, sample_weight, generator(self.random_state))
        self._check_takes_weights(problem)
        consensus = self._consensus(problem)
        estimator = fit_soft_targets(self._new_estimator(problem.rng), X, consensus.T,
                                     labels.classes, sample_weight)
        self._commit(estimator, problem, consensus)
        return self

    def _check_X(self, X, reset):
        """``X`` as it is, for the estimator to check (a Pipeline may take strings, a
        DataFrame), once its feature names and count are recorded (``reset``) or checked.
        An array-like that is not a DataFrame must be 2-D, with rows: checked as
        scikit-learn's encoders do, in any dtype and with NaN, the checked copy unused."""
        if not (hasattr(X, "iloc") and getattr(X, "ndim", 0) == 2 or sp.issparse(X)):
            check_array(X, dtype=None, accept_sparse=True, ensure_all_finite=False,
                        estimator=self)
        return validate_data(self, X, skip_check_array=True, reset=reset)

    def _estimator(self):
        return MLPClassifierFromScratch() if self.estimator is None else self.estimator

    def _new_estimator(self, rng):
        estimator = clone(self._estimator())
        # Every random_state left at None, a Pipeline's steps' too (as scikit-learn's
        # ensembles do), in the order of the parameters' names.
        params = estimator.get_params(deep=True)
        estimator.set_params(**{
            key: int(rng.integers(np.iinfo(np.int32).max)) for key in sorted(params)
            if (key == "random_state" or key.endswith("__random_state"))
            and params[key] is None})
        return estimator

    def _check_takes_weights(self, problem):
        """Raise, before any fit, when the fit needs sample weights and the estimator
        cannot take them (:func:`weight_keyword`)."""
        estimator = self._estimator()
        if weight_keyword(estimator) is not None:
            return
        labels = problem.labels
        if problem.sample_weight is not None:
            why = "fit was given sample_weight"
        elif (self.method != "majority" and labels.onehot.shape[1] > 1
                and len(labels.classes) > 1):
            why = (f"method={self.method!r} trains it on each row's class probabilities "
                   "(the row repeated once per class, weighted by the class's probability)")
            raise ValueError(_no_weights_message(estimator, why, majority=True))
        else:
            tied = np.flatnonzero((majority_vote(labels.onehot) < 1).all(axis=1))
            if not len(tied):
                return
            why = (f"the majority vote ties on {len(tied)} row(s) (the first: row "
                   f"{tied[0]}), and a tied row's target is split evenly between its tied "
                   "labels")
        raise ValueError(_no_weights_message(estimator, why))

    def _consensus(self, problem):
        """The posteriors, confusions and EM iterations of ``self.method``."""
        onehot, sample_weight = problem.labels.onehot, problem.sample_weight
        if (self.method == "majority" or onehot.shape[1] == 1
                or len(problem.labels.classes) == 1):
            T = majority_vote(onehot)
            return _Consensus(T, confusion_matrices(T, onehot, sample_weight), 1)
        T, confusion, n_iter = dawid_skene(onehot, sample_weight, max_iter=self.max_iter,
                                           tol=self.tol)
        if self.method == "dawid_skene":
            return _Consensus(T, confusion, n_iter)
        folds = self._folds(problem.X, problem.rng)
        estimators = [None] * len(folds)
        for _ in range(self.n_rounds):
            proba = self._prior_proba(problem, T, folds, estimators)
            log_prior = np.log(np.clip(proba, 1e-12, None))
            T_new, confusion, n = dawid_skene(onehot, sample_weight, log_prior=log_prior,
                                              init=T, max_iter=self.max_iter, tol=self.tol)
            n_iter += n
            change, T = np.abs(T_new - T).max(), T_new
            if change <= 100 * self.tol:
                break
        return _Consensus(T, confusion, n_iter)

    def _folds(self, X, rng):
        """The ``(train, test)`` index pairs of the rounds, the same in every round (a
        continued estimator must never see its test rows): one pair of all rows each for
        ``cv=None``."""
        if self.cv is None:
            every_row = np.arange(_num_samples(X))
            return [(every_row, every_row)]
        seed = int(rng.integers(2**31 - 1))
        splitter = (KFold(self.cv, shuffle=True, random_state=seed)
                    if isinstance(self.cv, Integral) else check_cv(self.cv))
        folds = list(splitter.split(X))
        tested = np.zeros(_num_samples(X), dtype=int)
        for _, test in folds:
            tested[test] += 1
        if not (tested == 1).all():
            raise ValueError("cv must predict every row once: some rows are in no test fold "
                             "or in several.")
        return folds

    def _continues(self, estimator):
        """Whether the fold estimators go on from round to round: ``fold_max_iter`` set,
        and ``warm_start`` and ``max_iter`` among the estimator's parameters."""
        params = estimator.get_params(deep=False)
        return self.fold_max_iter is not None and {"warm_start", "max_iter"} <= set(params)

    def _prior_proba(self, problem, T, folds, estimators):
        """The class probabilities of the rows, each from the estimator of the fold that
        leaves it out; ``estimators`` (one per fold, None before the first round) keep
        the fold estimators, which continue from their weights where they can."""
        X, sample_weight, classes = problem.X, problem.sample_weight, problem.labels.classes
        proba = np.empty_like(T)
        for f, (train, test) in enumerate(folds):
            estimator = estimators[f]
            if estimator is None or not self._continues(estimator):
                estimator = estimators[f] = self._new_estimator(problem.rng)
            continues = self._continues(estimator)
            if continues:
                estimator.set_params(warm_start=True, max_iter=self.fold_max_iter)
            sw = None if sample_weight is None else sample_weight[train]
            with warnings.catch_warnings():
                if continues:  # a few epochs a round, by design: not a failure to converge
                    warnings.simplefilter("ignore", ConvergenceWarning)
                fit_soft_targets(estimator, _safe_indexing(X, train), T[train], classes, sw)
            proba[test] = _aligned_proba(estimator, _safe_indexing(X, test), classes)
        return proba

    def _commit(self, estimator, problem, consensus):
        labels, (T, confusion, n_iter) = problem.labels, consensus
        n_classes = len(labels.classes)
        prior = np.average(T, axis=0, weights=problem.sample_weight)
        shares = labels.onehot.sum(axis=1)
        shares /= shares.sum(axis=1, keepdims=True)
        spread = shares if self.method == "majority" else T
        entropy = -np.sum(spread * np.log(np.clip(spread, 1e-300, None)), axis=1)
        difficulty = entropy / np.log(n_classes) if n_classes > 1 else np.zeros(len(T))
        n_labels = (labels.codes >= 0).sum(axis=1)
        self.estimator_ = estimator
        self.classes_ = labels.classes
        self.consensus_proba_ = T
        self.annotator_confusion_ = confusion
        self.annotator_accuracy_ = np.einsum("k,jkk->j", prior, confusion)
        self.annotators_ = labels.names
        self.class_prior_ = prior
        self.difficulty_ = difficulty
        self.relabel_order_ = np.lexsort((n_labels, -difficulty))
        self.n_labels_ = n_labels
        self.n_iter_ = n_iter

    def __sklearn_is_fitted__(self):
        # A fit that failed after validating X has set n_features_in_, and is not fitted.
        return hasattr(self, "estimator_")

    @predicts("Probability estimates of the classes, from the fitted estimator.", """
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.""")
    def predict_proba(self, X):
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return _aligned_proba(self.estimator_, X, self.classes_)

    @predicts("Logarithm of :meth:`predict_proba`.", """
        log_proba : ndarray of shape (n_samples, n_classes)
            The natural logarithm of each class's probability (``-inf`` for a probability
            of exactly 0).""")
    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @predicts("Predict the class of each sample.", """
        y : ndarray of shape (n_samples,)
            The most probable class, one of ``classes_``.""")
    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X goes to the estimator as it is: it accepts what the estimator accepts.
        inner = get_tags(self._estimator()).input_tags
        tags.input_tags.sparse = inner.sparse
        tags.input_tags.allow_nan = inner.allow_nan
        tags.input_tags.string = inner.string
        tags.input_tags.categorical = inner.categorical
        return tags


def annotations_to_wide(long_table, *, task="task", worker="worker", label="label"):
    """Turn a long table of labels, one row per (task, worker, label), into ``fit``'s ``Y``.

    crowd-kit's aggregators take this long layout; :class:`ConsensusClassifier` takes the
    wide one of cleanlab and scikit-activeml, one column per annotator.

    Parameters
    ----------
    long_table : DataFrame
        One row per label given, with the columns named by ``task``, ``worker`` and
        ``label``. A (task, worker) pair may occur once only.
    task : str, default="task"
        The column naming the item labelled.
    worker : str, default="worker"
        The column naming the annotator.
    label : str, default="label"
        The column of the labels.

    Returns
    -------
    Y : DataFrame of shape (n_tasks, n_workers)
        Indexed by task (in order of first appearance), one column per worker (likewise),
        missing (NaN) where a worker did not label a task.

    Examples
    --------
    >>> import pandas as pd
    >>> from skdnn import annotations_to_wide
    >>> long = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["w1", "w2", "w1"],
    ...                      "label": ["cat", "dog", "dog"]})
    >>> annotations_to_wide(long)
         w1   w2
    t1  cat  dog
    t2  dog  NaN
    """
    import pandas as pd  # the input is a DataFrame: pandas is installed

    missing = [name for name in (task, worker, label) if name not in long_table.columns]
    if missing:
        raise ValueError(f"The long table has no column {missing[0]!r}; its columns are "
                         f"{list(long_table.columns)}.")
    pairs = long_table[[task, worker]]
    if pairs.duplicated().any():
        first = pairs[pairs.duplicated()].iloc[0]
        raise ValueError(f"Worker {first[worker]!r} labelled task {first[task]!r} more than "
                         "once; keep one label per (task, worker).")
    wide = long_table.pivot(index=task, columns=worker, values=label)
    wide = wide.reindex(index=pd.unique(long_table[task]), columns=pd.unique(long_table[worker]))
    wide.index.name = wide.columns.name = None
    return wide


def _check_confusion(confusion, classes):
    """``confusion`` as floats, of shape (n_annotators, K, K) for the ``K`` classes, its
    entries non-negative and its rows summing to 1; else a ValueError naming the rows."""
    confusion = np.asarray(confusion, dtype=np.float64)
    n_classes = len(classes)
    if confusion.ndim != 3 or confusion.shape[1:] != (n_classes, n_classes):
        raise ValueError(f"confusion must have shape (n_annotators, {n_classes}, {n_classes}): "
                         f"a matrix per annotator, with a row and a column for each of the "
                         f"{n_classes} classes of y; got shape {confusion.shape}.")
    invalid = np.argwhere(~(np.isfinite(confusion) & (confusion >= 0)))
    if len(invalid):
        j, k, label = invalid[0]
        raise ValueError(f"confusion holds probabilities, but confusion[{j}, {k}, {label}] "
                         f"is {confusion[j, k, label]}.")
    sums = confusion.sum(axis=2)
    wrong = np.argwhere(~np.isclose(sums, 1))
    if len(wrong):
        listed = ", ".join(f"confusion[{j}, {k}] (annotator {j}, true class "
                           f"{classes[k].item()!r}) sums to {sums[j, k]:.6g}" for j, k in wrong[:5])
        more = f", and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise ValueError(f"Each row of confusion must sum to 1 (the probabilities of the "
                         f"labels an annotator gives to a row of that true class): "
                         f"{listed}{more}.")
    return confusion


def simulate_annotations(y, confusion, *, coverage=1.0, random_state=None):
    """Draw labels of ``y`` from annotators of known confusion matrices (for experiments).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The true labels.
    confusion : array-like of shape (n_annotators, n_classes, n_classes)
        ``confusion[j, k, l]``: the probability that annotator ``j`` says the ``l``-th class
        of ``np.unique(y)`` when the true class is the ``k``-th; rows sum to 1.
    coverage : float or array-like of shape (n_annotators,), default=1.0
        The probability that each annotator labels a given row. A row that none labels is
        given to one annotator drawn in proportion to the coverages, so every row has a
        label.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_annotators)
        The labels (of ``y``'s dtype, as objects), ``None`` where an annotator gave none.

    Examples
    --------
    >>> import numpy as np
    >>> from skdnn import simulate_annotations
    >>> perfect, spammer = np.eye(2), np.full((2, 2), 0.5)
    >>> Y = simulate_annotations([0, 1, 1, 0], [perfect, spammer], random_state=0)
    >>> Y.shape, list(Y[:, 0])
    ((4, 2), [0, 1, 1, 0])
    """
    y = np.asarray(y)
    classes, true = np.unique(y, return_inverse=True)
    confusion = _check_confusion(confusion, classes)
    n_annotators = confusion.shape[0]
    coverage = np.broadcast_to(np.asarray(coverage, dtype=np.float64), (n_annotators,))
    rng = generator(random_state)
    # Inverse-CDF draws: the first label whose cumulative probability exceeds a uniform.
    cdf = np.cumsum(confusion[:, true, :], axis=2)  # (n_annotators, n_samples, n_classes)
    u = rng.random((n_annotators, len(y), 1))
    codes = np.minimum((cdf < u).sum(axis=2), len(classes) - 1).T
    given = rng.random((len(y), n_annotators)) < coverage
    nobody = np.flatnonzero(~given.any(axis=1))
    given[nobody, rng.choice(n_annotators, size=len(nobody), p=coverage / coverage.sum())] = True
    Y = classes[codes].astype(object)
    Y[~given] = None
    return Y
