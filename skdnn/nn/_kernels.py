"""The engine's speed tricks, in one place: scratch arrays reused from one mini-batch to the
next, the mini-batches themselves, sums as products with ones, blocked element-wise updates,
and sparse products a block of columns at a time.

The networks' ``forward`` and ``backward`` call these and otherwise read as their equations;
:mod:`skdnn.nn.reference` is the same maths without any of them.

Training runs the same computation on thousands of batches of the same shape. Allocating the
activations, deltas and batch copies afresh each time costs more than the element-wise math on
them for small networks, so the engine asks a :class:`Workspace` for them instead: it allocates
each array once and hands out views of it afterwards.

A batch of ``m`` rows uses the first ``m`` rows of an array allocated for the largest batch.
Rows of a C-contiguous array are contiguous, so the view is as good as a fresh array (BLAS and
NumPy's vectorised loops see no difference) and the last, smaller batch of an epoch needs no
allocation either.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

#: Entries of a long vector processed at a time by :func:`blocks`: a block and its scratch
#: stay in the processor's cache through a whole sequence of element-wise operations.
BLOCK = 1 << 16


@functools.lru_cache(maxsize=64)  # asked for the same sizes on every training step
def blocks(size):
    """Consecutive slices of at most :data:`BLOCK` entries that cover ``range(size)``."""
    return tuple(slice(start, min(start + BLOCK, size)) for start in range(0, size, BLOCK))


class Workspace:
    """Arrays kept by name and handed out again, allocated on first use.

    Parameters
    ----------
    dtype : numpy dtype
        The dtype of every array.

    Examples
    --------
    >>> ws = Workspace(np.float32)
    >>> a = ws.array(("z", 0), (256, 64))
    >>> b = ws.array(("z", 0), (100, 64))  # the first 100 rows of the same memory
    >>> np.shares_memory(a, b), b.shape, b.dtype
    (True, (100, 64), dtype('float32'))
    """

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._arrays = {}
        self._views = {}  # (key, shape, dtype) -> the view last handed out for it

    def array(self, key, shape, dtype=None):
        """A C-contiguous array of ``shape``, the leading rows of the one kept under ``key``.

        Its content is whatever the previous user left there. A request for more rows than
        the kept array has, or for other trailing dimensions or another dtype, replaces it.
        """
        request = (key, tuple(shape), dtype)
        view = self._views.get(request)  # training asks for the same views batch after batch
        if view is not None:
            return view
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        kept = self._arrays.get(key)
        if (kept is None or kept.shape[0] < shape[0] or kept.shape[1:] != tuple(shape[1:])
                or kept.dtype != dtype):
            kept = self._arrays[key] = np.empty(shape, dtype=dtype)
            self._views.clear()  # views of a replaced array must not be handed out again
        view = self._views[request] = kept[: shape[0]]
        return view


def minibatches(arrays, batch_size, order=None, workspace=None):
    """Yield the rows of several arrays in consecutive batches of ``batch_size``.

    Parameters
    ----------
    arrays : sequence of {ndarray, sparse matrix, None}
        Arrays with the same number of rows (``None`` entries are passed through as ``None``).
    batch_size : int
    order : ndarray of shape (n_samples,) of int or None
        A permutation of the rows (shuffling). ``None`` keeps the stored order, and the batches
        are then views, with no copy at all.
    workspace : Workspace or None
        Where the shuffled batches of dense arrays are gathered (``np.take(..., out=)``), so no
        batch allocates. ``None`` allocates each batch. A sparse matrix is always indexed
        anew, as its batches differ in their number of non-zeros.

    Yields
    ------
    list
        One batch of each array, in the order of ``arrays``. The batches live in
        ``workspace``'s memory: each is overwritten by the next.
    """
    n_samples = next(a for a in arrays if a is not None).shape[0]
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        if order is None:
            yield [None if a is None else a[start:stop] for a in arrays]
            continue
        rows = order[start:stop]
        batch = []
        for position, a in enumerate(arrays):
            if a is None or sp.issparse(a) or workspace is None:
                batch.append(None if a is None else a[rows])
            else:
                out = workspace.array(("batch", position), (len(rows), *a.shape[1:]), a.dtype)
                # mode="clip" skips the bounds check that would make np.take buffer its
                # output (the rows of a permutation are all in range).
                batch.append(a.take(rows, axis=0, out=out, mode="clip"))
        yield batch


def row_sums(a):
    """``a.sum(axis=1)`` of a 2-D array, as a product with ones: NumPy reduces short rows
    slowly, BLAS does not."""
    return a @ np.ones(a.shape[1], dtype=a.dtype)


def column_sums(a):
    """``a.sum(axis=0)``, of a 2-D array or of each ``(rows, columns)`` block of a 3-D one,
    as a product with ones (see :func:`row_sums`)."""
    if a.ndim == 2:
        return np.ones(a.shape[0], dtype=a.dtype) @ a
    return np.matmul(np.ones((a.shape[0], 1, a.shape[1]), dtype=a.dtype), a)


# -- sparse masks ------------------------------------------------------------------------------


def add_scaled(out, a, scale, scratch):
    """``out += scale * a`` for long vectors, a block at a time: no temporary as large as
    ``a`` (``scratch`` holds one block)."""
    for block in blocks(a.size):
        out[block] += np.multiply(a[block], scale, out=scratch[: block.stop - block.start])


def sparse_dot(A, B, out):
    """``out = A @ B`` for a sparse matrix ``A`` and a dense ``B``, a block of columns at a time.

    SciPy's product walks the non-zeros of ``A`` and, for each, reads a whole row of ``B``
    and updates a whole row of the result, in random order. For a wide input (20,000 tf-idf
    columns) ``B`` or the result is tens of megabytes, and those rows come from main memory.
    On a block of a few columns, both fit in the processor's cache, which is several times
    faster, and no temporary as large as ``out`` is needed. Each block copies its columns of
    ``B``, which pays only when ``A`` has more non-zeros than ``B`` has rows (not for one row).
    """
    step = max(1, (1 << 19) // max(B.shape[0], out.shape[0]))  # <= 2**19 entries per block
    if A.nnz <= B.shape[0]:
        step = B.shape[1]
    for start in range(0, B.shape[1], step):
        out[:, start : start + step] = A @ B[:, start : start + step]
    return out
