"""
Scaling out on Dask
===================

Two ways to use more than one process, or more data than fits in memory, with skdnn:

1. a hyper-parameter search whose fits run on the workers of a Dask cluster, through
   joblib's Dask backend (scikit-learn's ``GridSearchCV`` needs no change);
2. out-of-core training: ``partial_fit`` over the blocks of a Dask array backed by a
   memory-mapped ``.npy`` file, epoch by epoch, with ``dask_ml.wrappers.Incremental``.

The script starts its own local cluster (2 worker processes) and needs
``pip install "dask[array]" distributed dask-ml``. It prints what it did and saves the
accuracy per epoch of the out-of-core model as ``scale_out_dask.png``.
"""

# %%
# Start a local cluster
# ---------------------
import os
import tempfile
import time
import warnings
from pathlib import Path

import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skdnn import MLPClassifierFromScratch


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    print(f"cluster with {len(client.scheduler_info()['workers'])} worker processes")

    # %%
    # A grid search on the cluster
    # ----------------------------
    # Each of the 3 x 4 = 12 fits is a task on a worker.
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=8, n_classes=3,
                               random_state=0)
    search = GridSearchCV(
        MLPClassifierFromScratch(max_iter=50, learning_rate_init=0.01, random_state=0),
        {"hidden_layer_sizes": [(16,), (64,)], "alpha": [1e-4, 1e-2]},
        cv=3,
    )
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    print(f"grid search on Dask: best {search.best_params_}, CV accuracy "
          f"{search.best_score_:.3f} ({time.perf_counter() - start:.1f} s)")

    # %%
    # Out-of-core training from a memory-mapped file
    # ----------------------------------------------
    # The features live in a ``.npy`` file on disk; ``np.load(mmap_mode="r")`` reads only
    # the pages a block needs. Each epoch is one pass of ``partial_fit`` over the blocks.
    with tempfile.TemporaryDirectory() as tmp:
        X_big, y_big = make_classification(n_samples=20000, n_features=20, n_informative=8,
                                           n_classes=3, random_state=1)
        path = Path(tmp) / "features.npy"
        np.save(path, X_big)
        X_mapped = np.load(path, mmap_mode="r")
        X_dask = da.from_array(X_mapped, chunks=(2500, -1))  # 8 blocks of 2,500 rows
        y_dask = da.from_array(y_big, chunks=2500)
        model = Incremental(MLPClassifierFromScratch(hidden_layer_sizes=(64,),
                                                     learning_rate_init=0.01, random_state=0),
                            scoring="accuracy")
        accuracies = []
        for epoch in range(5):
            model.partial_fit(X_dask, y_dask, classes=np.unique(y_big))
            accuracies.append(model.score(X_dask, y_dask))
            print(f"epoch {epoch + 1}: accuracy {accuracies[-1]:.3f} on "
                  f"{X_dask.numblocks[0]} blocks of {X_dask.chunks[0][0]} rows")

    client.close()
    cluster.close()

    # %%
    # The out-of-core model's accuracy, epoch by epoch
    # ------------------------------------------------
    out_dir = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).parent / "images")
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(accuracies) + 1), accuracies, marker="o")
    ax.set(xlabel="epoch (one partial_fit pass over 8 memory-mapped blocks)",
           ylabel="training accuracy", title="Out-of-core training with Dask")
    fig.tight_layout()
    fig.savefig(out_dir / "scale_out_dask.png", dpi=90)


if __name__ == "__main__":
    main()
