"""
=========================================
Width versus depth: accuracy and fit time
=========================================

``hidden_layer_sizes=(w,) * d`` builds a network of ``d`` hidden layers (its *depth*) of
``w`` units each (its *width*). This example trains a grid of such networks on a noisy,
non-linear two-class problem (two interleaving half moons) and shows, as heat maps, the test
accuracy and the time each fit took.
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skdnn import MLPClassifierFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# The data: two moons with noise
# ------------------------------
# No straight line separates the classes, so a network needs hidden units to bend its
# decision boundary. With ``noise=0.25`` the classes overlap a little: even the best
# possible classifier stays somewhat below 100 % accuracy.
X, y = make_moons(n_samples=800, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

# %%
# Train the grid
# --------------
# Every network trains for the same 100 epochs of Adam (``n_iter_no_change=max_iter``
# switches off the stopping rule), so the fit time measures the cost of the architecture,
# not how soon a run happened to stop. The accuracy is the mean over three random
# initialisations, the time their median. 100 epochs do not always reach convergence; we
# silence that warning on purpose.
#
# The timing runs with one BLAS thread (``threadpool_limits``, from a package scikit-learn
# installs). Matrices this small gain nothing from several threads, and on a busy machine
# the threads wait for each other, which would make the times measure the machine's load
# rather than the network's size.
widths = [2, 4, 8, 16, 32, 64, 128]
depths = [1, 2, 3, 4, 6]
seeds = [0, 1, 2]
accuracy = np.zeros((len(depths), len(widths)))
fit_time = np.zeros_like(accuracy)
with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for i, depth in enumerate(depths):
        for j, width in enumerate(widths):
            scores, times = [], []
            for seed in seeds:
                clf = MLPClassifierFromScratch(
                    (width,) * depth, learning_rate_init=0.01, max_iter=100,
                    n_iter_no_change=100, random_state=seed,
                )
                start = time.perf_counter()
                clf.fit(X_train, y_train)
                times.append(time.perf_counter() - start)
                scores.append(clf.score(X_test, y_test))
            accuracy[i, j] = np.mean(scores)
            fit_time[i, j] = np.median(times)

# %%
# Plot the two heat maps
# ----------------------
# What to read from them:
#
# * **Too narrow fails, however deep.** With 2 or 4 units per layer, stacking layers does
#   not help and often hurts: a ReLU unit whose inputs all fall in its dead zone passes on
#   nothing, and in a narrow layer a single dead unit loses a large share of the signal.
# * **Beyond a modest size, accuracy plateaus** near the limit the noise allows: one hidden
#   layer of 64 units is as good here as four layers of 128.
# * **Cost grows with width and depth.** A layer of ``w`` inputs and ``w`` outputs costs
#   about ``w * w`` multiply-adds per sample, so the time rises quickly along both axes
#   while the accuracy no longer does. Prefer the smallest network on the plateau.
fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(12, 4.2))
panels = [
    (ax_acc, accuracy, "viridis", "test accuracy (mean of 3 seeds)", "{:.2f}"),
    (ax_time, 1000 * fit_time, "magma_r", "fit time in ms (median of 3 seeds)", "{:.0f}"),
]
for ax, values, cmap, title, fmt in panels:
    image = ax.imshow(values, cmap=cmap, aspect="auto", origin="lower")
    fig.colorbar(image, ax=ax)
    middle = (values.max() + values.min()) / 2
    for (i, j), value in np.ndenumerate(values):
        dark = (value < middle) == (cmap == "viridis")
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                color="white" if dark else "black")
    ax.set_xticks(range(len(widths)), labels=widths)
    ax.set_yticks(range(len(depths)), labels=depths)
    ax.set_xlabel("width (units per hidden layer)")
    ax.set_ylabel("depth (hidden layers)")
    ax.set_title(title)
fig.suptitle("MLPClassifierFromScratch on make_moons(noise=0.25): 400 train / 400 test samples, "
             "100 epochs")
fig.tight_layout()
fig.savefig(OUT / "width_vs_depth.png", dpi=90)
print(f"saved {OUT / 'width_vs_depth.png'}")
