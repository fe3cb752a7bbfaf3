"""
=====================================
Activation functions and their slopes
=====================================

A hidden unit computes ``a = g(z)`` from its pre-activation ``z = a_prev @ W + b``. Training
by backpropagation multiplies the error signal by ``g'(z)`` at every layer, so the shape of
the *derivative* matters as much as the shape of ``g`` itself.

This example draws every activation in skdnn's registry, ``skdnn.nn.ACTIVATIONS``, together
with its derivative. It loops over the registry, so an activation added to it appears here
without touching this script.
"""

# %%
# Where the figure goes
# ---------------------
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skdnn.nn import ACTIVATIONS
from skdnn.nn.activations import PRELU_INIT, activation_param

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Evaluate each entry of the registry
# -----------------------------------
# Every entry has ``forward(z, param, out)`` and ``derivative(z, a, param)``. ``z`` is a
# matrix of shape ``(n_samples, n_units)``; here one column of 801 points. ``param`` is
# the activation's parameter: the fixed slope of ``leaky_relu`` (0.01), PReLU's learned
# per-unit slopes (their starting value, 0.25, for our single unit), ``None`` otherwise.
z = np.linspace(-4, 4, 801).reshape(-1, 1)
curves = {}
for name, act in ACTIVATIONS.items():
    param = activation_param(name, slopes=np.full(1, PRELU_INIT))
    a = act.forward(z.copy(), param, None)
    # A derivative may be a scalar (identity) or boolean (ReLU): make it a float array.
    da = np.broadcast_to(np.asarray(act.derivative(z, a, param), dtype=float), z.shape)
    curves[name] = (a.ravel(), da.ravel(), param)

# %%
# Plot g(z) and g'(z) side by side
# --------------------------------
# Two things to look for:
#
# * the **logistic** (sigmoid) derivative is never larger than 0.25, reached at ``z = 0``.
#   A gradient passing back through ten sigmoid layers is scaled by at most
#   ``0.25 ** 10 ~ 1e-6``: the *vanishing gradient* (see ``plot_vanishing_gradients.py``);
# * **ReLU** has a derivative of exactly 0 for ``z <= 0``. A unit whose inputs all land
#   there gets no gradient at all and stops learning (a "dead" unit). Leaky ReLU, PReLU,
#   ELU and GELU keep a small slope there.
#
# The step function of the perceptron has derivative 0 everywhere (except at 0, where it is
# undefined): gradient descent cannot train it, which is why the perceptron has its own rule.
ncols = 3
nrows = -(-len(curves) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(11, 3.0 * nrows), sharex=True)
for ax, (name, (a, da, param)) in zip(axes.ravel(), curves.items(), strict=False):
    zz = z.ravel()
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.plot(zz, a, lw=2, label="g(z)")
    ax.plot(zz, da, lw=2, ls="--", label="g'(z)")
    title = name
    if isinstance(param, np.ndarray):  # learned per unit: draw its starting value
        title += f"  (learned slope, starts at {param[0]:g})"
    elif param is not None:
        title += f"  (slope {param:g} for z < 0)"
    if not ACTIVATIONS[name].trainable:
        title += "  (not trainable)"
    ax.set_title(title)
    ax.set_ylim(-1.5, 4.1)
    ax.grid(alpha=0.3)
    if name == "logistic":
        ax.plot([0], [0.25], "o", color="C3")
        ax.annotate("max g'(z) = 0.25", xy=(0, 0.25), xytext=(0.6, 1.6), color="C3",
                    arrowprops=dict(arrowstyle="->", color="C3"))
    if name == "relu":
        ax.axvspan(zz[0], 0, color="C3", alpha=0.12)
        ax.text(-3.8, 2.2, "dead zone:\ng'(z) = 0 for z <= 0", color="C3")
for index, ax in enumerate(axes.ravel()):
    if index >= len(curves):
        ax.set_visible(False)
    elif index + ncols >= len(curves):  # the lowest plot of its column
        ax.set_xlabel("z (pre-activation)")
        ax.xaxis.set_tick_params(labelbottom=True)
axes[0, 0].legend(loc="upper left")
fig.suptitle("Every activation in skdnn.nn.ACTIVATIONS and its derivative")
fig.tight_layout()
fig.savefig(OUT / "activations.png", dpi=90)
print(f"saved {OUT / 'activations.png'}")
