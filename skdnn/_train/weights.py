"""The data side of a fit: its one random generator, the sample and class weights, and the
BLAS threads of training."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread: the perceptron's and TabNet's training.

    Their products are a batch times the features or a few dozen columns, too small to
    share; on a machine that other processes share, two OpenBLAS threads wait for each other
    and made such epochs several times slower. The MLPs' larger products keep BLAS's threads
    (benchmarks/README.md, "BLAS threads of training"; ``bench_threads.py``).
    """
    return _BLAS.limit(limits=1, user_api="blas")


def generator(random_state, state=None):
    """One numpy Generator per fit, seeded from ``random_state`` (None, int or RandomState);
    or, given the ``state`` a previous fit left (``bit_generator.state``), going on from it
    (``partial_fit``: the shuffles and dropout masks go on where the last call left them)."""
    if state is not None:
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        return rng
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def combined_sample_weight(sample_weight, X, y=None, class_weight=None):
    """Per-sample weights ``w_i = sample_weight_i * class_weight[y_i]``, or None for all ones.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The validated input; the weights take its dtype.
    y : ndarray of shape (n_samples,), default=None
        The samples' class labels; None when there are no class weights (a regressor).
    class_weight : dict, "balanced" or None, default=None
        As in scikit-learn's linear models; ``"balanced"`` uses the weighted class counts,
        ``sum(w) / (n_classes * sum of w over the class)``, so that weighting a sample by 2
        and repeating it twice give the same class weights.

    Returns
    -------
    ndarray of shape (n_samples,) or None

    Raises
    ------
    ValueError
        For negative, non-finite or all-zero sample weights, or a class weight that is not
        positive and finite.
    """
    if sample_weight is None and class_weight is None:
        return None
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    if class_weight is not None:
        classes, y_index = np.unique(y, return_inverse=True)
        # Classes whose samples all weigh 0 play no part (and would divide by 0 in "balanced").
        counted = slice(None) if sample_weight is None else sample_weight > 0
        present = np.unique(y_index[counted])
        weights = np.ones(len(classes))
        weights_present = compute_class_weight(
            class_weight,
            classes=classes[present],
            y=classes[y_index[counted]],
            sample_weight=None if sample_weight is None else sample_weight[counted],
        )
        weights[present] = weights_present
        if not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError(f"class_weight must give finite, non-negative weights; got {weights}.")
        per_sample = weights[y_index]
        sample_weight = per_sample if sample_weight is None else sample_weight * per_sample
    if not np.isfinite(sample_weight.sum()) or sample_weight.sum() <= 0:
        raise ValueError(
            "The sample weights (times the class weights) must have a positive, finite sum."
        )
    return sample_weight.astype(X.dtype, copy=False)
