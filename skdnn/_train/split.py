"""The early-stopping split, one for every network."""

from __future__ import annotations

import functools
import types

import numpy as np
from sklearn.model_selection import train_test_split

from .loop import Data


def validation_split(data, fraction, rng, stratify=None):
    """``(train, validation)``, each a :class:`~skdnn._train.loop.Data`.

    ``ceil(fraction * n)`` rows are held out, at least 2, and one per class when stratifying
    by ``stratify`` (labels, or any array ``train_test_split`` takes). Stratifying raises
    scikit-learn's ValueError for a class of a single member, which cannot be on both sides.
    """
    n_samples = data.X.shape[0]
    n_val = max(int(np.ceil(fraction * n_samples)), 2)
    if stratify is not None:
        n_val = max(n_val, len(np.unique(data.y)))
    if n_samples - n_val < 2:
        raise ValueError(
            f"The validation set is too small: {n_samples} samples cannot be split into a "
            f"training set and a validation set of {n_val}. Increase the size of your "
            "dataset, or set early_stopping=False."
        )
    seed = int(rng.integers(np.iinfo(np.int32).max))
    arrays = [data.X, data.Y, data.y] + ([] if data.sample_weight is None
                                         else [data.sample_weight])
    parts = train_test_split(*arrays, test_size=n_val, random_state=seed, stratify=stratify)
    if data.sample_weight is None:
        parts += [None, None]
    train, val = parts[0::2], parts[1::2]
    return Data(train[0], train[1], train[3], train[2]), Data(val[0], val[1], val[3], val[2])


def holds_out(early_stopping, n_samples, threshold=500):
    """Whether a fit holds out a validation set: ``early_stopping`` True or False, or
    ``"auto"``: from ``threshold`` rows (TabNet's and the tabular MLPs' default)."""
    if early_stopping == "auto":
        return n_samples >= threshold
    return bool(early_stopping)


class UnavailableError(AttributeError, ValueError):
    """A method that these parameters make unavailable, and an invalid combination."""


class partial_fit_available:
    """Decorator of ``partial_fit``: like scikit-learn's ``available_if``, the method exists
    only when ``estimator._check_solver()`` passes, but the check's own error propagates (so
    that the one for early stopping, which one batch at a time cannot hold a validation set
    out of, is a ValueError as well as an AttributeError, and ``hasattr`` is False)."""

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self.method
        try:
            estimator._check_solver()
        except UnavailableError:
            raise
        except AttributeError as cause:  # worded as available_if words it
            raise AttributeError(f"This {type(estimator).__name__!r} has no attribute "
                                 f"{self.method.__name__!r}") from cause
        return types.MethodType(self.method, estimator)
