"""
==============================================================
Universal approximation: fitting a curve with width and depth
==============================================================

The universal approximation theorem says that one hidden layer of enough units can
approximate any continuous function on a bounded interval as closely as we like. This
example makes that concrete with :class:`skdnn.MLPRegressorFromScratch` on two 1-D
functions: a smooth one, ``sin(2 pi x)``, and a discontinuous one, steps (a square wave,
``sign(sin(1.5 pi x))``). The top row keeps one hidden layer and grows its *width*; the
bottom row keeps three units per layer and grows the *depth*.
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
from sklearn.exceptions import ConvergenceWarning

from skdnn import MLPRegressorFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Two functions to approximate
# ----------------------------
# 200 evenly spaced points on [-1, 1], no noise: the question is how well a network *can*
# represent the function, not how it copes with noise. The steps are the hard case: a
# network of continuous units can only draw a steep slope where a jump is.
x = np.linspace(-1, 1, 200)[:, None]
targets = {
    "sin(2 pi x)": np.sin(2 * np.pi * x).ravel(),
    "steps": np.sign(np.sin(1.5 * np.pi * x)).ravel(),
}

# %%
# Fit networks of growing width, then of growing depth
# ----------------------------------------------------
# Each network is a ``tanh`` MLP trained by L-BFGS (a small, smooth problem, where a
# quasi-Newton solver converges far sooner than Adam), with a small L2 penalty
# (``alpha=1e-3``) that keeps the weights, and so the slopes of the ``tanh`` units, finite.
# With one hidden layer, each unit adds one S-curve the output layer can weigh: 1 unit gives
# one S-curve, a few give a wave. With depth, layers compose their bends.
architectures = {
    "width": [(1,), (3,), (10,), (30,)],
    "depth": [(3,), (3, 3), (3, 3, 3), (3, 3, 3, 3)],
}
fits = {}
with warnings.catch_warnings():
    # A few of the small networks stop at max_iter: that is the lesson, not a fault.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for row, sizes_list in architectures.items():
        for name, y in targets.items():
            for sizes in sizes_list:
                model = MLPRegressorFromScratch(sizes, activation="tanh", solver="lbfgs",
                                                alpha=1e-3, max_iter=500, random_state=0)
                model.fit(x, y)
                fits[row, name, sizes] = model.predict(x), model.score(x, y)

# %%
# Plot
# ----
# Each panel shows the function (grey) and the networks' fits, with their R² on the
# points. What to read from it: the sine needs only three units in one layer (one unit draws
# a single S-curve, R² 0.15); the steps stop improving with width, between 0.95 and 0.97 from
# 3 to 30 units, since penalised ``tanh`` units only steepen towards a jump; three layers of
# three units reach 0.9999, because each layer sharpens the edges of the one below. Depth is
# not free, though: two layers land in a worse optimum than one (L-BFGS finds a local one).
fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
for i, (row, sizes_list) in enumerate(architectures.items()):
    for j, (name, y) in enumerate(targets.items()):
        ax = axes[i, j]
        ax.plot(x, y, color="0.6", lw=4, label=name)
        colors = plt.cm.viridis(np.linspace(0, 0.85, len(sizes_list)))
        for sizes, color in zip(sizes_list, colors, strict=True):
            prediction, r2 = fits[row, name, sizes]
            ax.plot(x, prediction, color=color, lw=1.5, label=f"{sizes}: R² {r2:.3f}")
        ax.set_title(f"{name}, growing {row}")
        ax.legend(fontsize=8, loc="lower right")
for ax in axes[-1]:
    ax.set_xlabel("x")
fig.suptitle("Universal approximation: one tanh layer of growing width, and growing depth")
fig.tight_layout()
fig.savefig(OUT / "regression.png", dpi=110)
print(f"saved {OUT / 'regression.png'}")
for (row, name, sizes), (_, r2) in fits.items():
    print(f"{row:>5}  {name:<12} {str(sizes):<14} R² = {r2:.4f}")
