"""Passes over all rows, a block of rows at a time: prediction, explanations, TabNet's
importance pass and the end-of-fit checks hold one block's intermediate arrays, not every
row's (DESIGN rule 7, bounded memory)."""

from __future__ import annotations

import numpy as np
from sklearn import get_config
from sklearn.utils import gen_batches

#: The most memory (MiB) that one block of rows' intermediate arrays gets, unless
#: scikit-learn's ``working_memory`` (``sklearn.set_config``) is smaller. Blocks of 64 MiB
#: predict as fast as one block of all rows, or faster (benchmarks/bench_predict.py).
BLOCK_MIB = 64


def in_row_blocks(function, n_samples, row_bytes, block_mib=BLOCK_MIB):
    """``function(slice(0, n_samples))``, computed a block of rows at a time.

    Parameters
    ----------
    function : callable
        Maps a slice of rows to an array, or a tuple of arrays, with one row per row of the
        slice; each row's result must not depend on the other rows (prediction mode).
    n_samples : int
        The number of rows.
    row_bytes : int
        The memory that ``function`` needs for one row's intermediate arrays.
    block_mib : float, default=BLOCK_MIB
        The memory (MiB) of one block, at most scikit-learn's ``working_memory``.

    Returns
    -------
    ndarray or tuple of ndarray
        What ``function`` returns for all rows at once, to float precision.
    """
    budget = min(get_config()["working_memory"], block_mib)
    n_rows = max(1, int(budget * 2**20 // max(row_bytes, 1)))
    if n_rows >= n_samples:
        return function(slice(0, n_samples))
    out = None
    for rows in gen_batches(n_samples, n_rows):
        part = function(rows)
        parts = part if isinstance(part, tuple) else (part,)
        if out is None:
            out = tuple(np.empty((n_samples, *p.shape[1:]), dtype=p.dtype) for p in parts)
        for whole, p in zip(out, parts, strict=True):
            whole[rows] = p
    return out if isinstance(part, tuple) else out[0]
