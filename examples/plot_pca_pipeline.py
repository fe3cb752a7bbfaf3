"""
==================================================
Tuning a StandardScaler -> PCA -> MLP pipeline
==================================================

:class:`~skdnn.MLPClassifierFromScratch` is a scikit-learn estimator, so it fits in a
:class:`~sklearn.pipeline.Pipeline` and is tuned with
:class:`~sklearn.model_selection.GridSearchCV` like any other. This example searches, on the
digits, over two things at once: how many principal components the network sees
(``pca__n_components``) and how large the network is
(``mlpclassifierfromscratch__hidden_layer_sizes``). It shows the cross-validated accuracy
of every pair as a heat map, and the decision regions of the best network in the plane of
the first two components.
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# The pipeline
# ------------
# Standardise the 64 pixel values, project them on the leading principal components, and
# classify with a small network. ``make_pipeline`` names each step after its class in lower
# case, which is where the ``pca__`` and ``mlpclassifierfromscratch__`` prefixes of the grid
# come from. A test set is kept aside; the grid search only sees the training part.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
pipeline = make_pipeline(
    StandardScaler(),
    PCA(random_state=0),
    MLPClassifierFromScratch(learning_rate_init=0.01, max_iter=100, random_state=0),
)
param_grid = {
    "pca__n_components": [2, 5, 10, 20, 40],
    "mlpclassifierfromscratch__hidden_layer_sizes": [(8,), (32,), (64, 64)],
}

# %%
# The search
# ----------
# 5 x 3 = 15 pipelines, each fitted on 3 folds: 45 fits (run on two processes,
# ``n_jobs=2``), then one refit of the best on the whole training set. Some small networks
# stop at ``max_iter`` before meeting the stopping rule; we silence that warning, the
# accuracy says how well they did.
search = GridSearchCV(pipeline, param_grid, cv=3, n_jobs=2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
print(f"best parameters: {search.best_params_}")
print(f"cross-validated accuracy {search.best_score_:.3f}, "
      f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
# The decision regions of the best network, in two dimensions
# -----------------------------------------------------------
# A decision boundary can only be drawn in a plane. The best pipeline uses more than two
# components, so for this picture we **refit** it with ``n_components=2`` and the best
# ``hidden_layer_sizes``: scaler and PCA map the digits to the plane of the first two
# components, and the network, trained on those two numbers alone, colours the plane with
# its prediction. Its accuracy is far below the best pipeline's: two components keep only a
# fraction of the information, which is exactly what the heat map's first column says.
sizes = search.best_params_["mlpclassifierfromscratch__hidden_layer_sizes"]
project = make_pipeline(StandardScaler(), PCA(n_components=2, random_state=0)).fit(X_train)
Z_train, Z_test = project.transform(X_train), project.transform(X_test)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    plane_clf = MLPClassifierFromScratch(
        sizes, learning_rate_init=0.01, max_iter=100, random_state=0
    ).fit(Z_train, y_train)

# %%
# Plot
# ----
# Left, the mean cross-validated accuracy of each pair: it climbs steeply up to about 20
# components and then levels off, and the smallest network stays behind however many
# components it gets. Right, the regions of the 2-component network, with the test digits on top.
results = search.cv_results_
components = param_grid["pca__n_components"]
networks = param_grid["mlpclassifierfromscratch__hidden_layer_sizes"]
scores = np.zeros((len(networks), len(components)))
for params, score in zip(results["params"], results["mean_test_score"], strict=True):
    i = networks.index(params["mlpclassifierfromscratch__hidden_layer_sizes"])
    j = components.index(params["pca__n_components"])
    scores[i, j] = score

fig, (ax_grid, ax_plane) = plt.subplots(1, 2, figsize=(13, 5.2),
                                        gridspec_kw={"width_ratios": [1, 1.15]})
image = ax_grid.imshow(scores, cmap="viridis", aspect="auto", origin="lower")
fig.colorbar(image, ax=ax_grid, label="mean CV accuracy (3 folds)")
for (i, j), value in np.ndenumerate(scores):
    ax_grid.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                 color="white" if value < scores.mean() else "black")
best = (networks.index(sizes), components.index(search.best_params_["pca__n_components"]))
ax_grid.add_patch(plt.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, lw=3,
                                ec="red"))
ax_grid.set_xticks(range(len(components)), labels=components)
ax_grid.set_yticks(range(len(networks)), labels=[str(n) for n in networks])
ax_grid.set_xlabel("pca__n_components")
ax_grid.set_ylabel("hidden_layer_sizes")
ax_grid.set_title("GridSearchCV over StandardScaler -> PCA -> MLP\n(red: best pair)")

cmap = plt.get_cmap("tab10")  # ten colours, one per digit, the same in regions and points
DecisionBoundaryDisplay.from_estimator(
    plane_clf, np.vstack([Z_train, Z_test]), response_method="predict",
    multiclass_colors=list(cmap.colors), alpha=0.35, ax=ax_plane,
    grid_resolution=200, xlabel="first principal component",
    ylabel="second principal component",
)
points = ax_plane.scatter(Z_test[:, 0], Z_test[:, 1], c=y_test, cmap=cmap, s=12,
                          edgecolor="k", linewidth=0.3, vmin=-0.5, vmax=9.5)
fig.colorbar(points, ax=ax_plane, ticks=range(10), label="digit (test samples)")
ax_plane.set_title(f"refit on 2 components, hidden_layer_sizes={sizes}\n"
                   f"test accuracy {plane_clf.score(Z_test, y_test):.2f} "
                   f"(best pipeline: {search.score(X_test, y_test):.2f})")
fig.tight_layout()
fig.savefig(OUT / "pca_pipeline.png", dpi=90)
print(f"saved {OUT / 'pca_pipeline.png'}")
