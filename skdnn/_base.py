"""Pieces of the scikit-learn contract shared by skdnn's estimators."""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight


def combined_sample_weight(sample_weight, X, y_index, classes, class_weight, dtype):
    """Per-sample weights ``w_i = sample_weight_i * class_weight[y_i]``, or None for all ones.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y_index : ndarray of shape (n_samples,) of int
        Index of each sample's class in ``classes``.
    classes : ndarray of shape (n_classes,)
    class_weight : dict, "balanced" or None
        As in scikit-learn's linear models; ``"balanced"`` uses the weighted class counts,
        ``sum(w) / (n_classes * sum of w over the class)``, so that weighting a sample by 2
        and repeating it twice give the same class weights.
    dtype : dtype of the returned weights

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
    return sample_weight.astype(dtype, copy=False)
