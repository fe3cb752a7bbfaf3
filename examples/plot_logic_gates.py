"""
==========================================
Logic gates: what one perceptron can learn
==========================================

A perceptron computes ``step(w1 x1 + w2 x2 + b)``: it splits the plane with one straight
line. On the four points of ``{0, 1}^2`` that is enough for AND, OR and NAND, whose true and
false points a line can separate, but never for XOR, whose true points (0, 1) and (1, 0) sit on
opposite corners.

Two layers solve XOR. The classic construction composes gates: one hidden unit computes
``x1 AND NOT x2``, another ``NOT x1 AND x2``, and the output unit ORs them. A multi-layer
perceptron trained by backpropagation finds such a pair of lines by itself.
"""

# %%
# Setup
# -----
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import DecisionBoundaryDisplay

from skdnn import MLPClassifierFromScratch, PerceptronClassifier
from skdnn.nn import ACTIVATIONS

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}
step = ACTIVATIONS["step"].forward  # step(z) = 1 if z >= 0 else 0


def draw_points(ax, y, title):
    y = np.asarray(y)
    ax.scatter(*X[y == 1].T, s=120, c="tab:orange", edgecolor="k", label="1 (true)", zorder=3)
    ax.scatter(*X[y == 0].T, s=120, c="tab:blue", edgecolor="k", label="0 (false)", zorder=3)
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.set_aspect("equal")


def draw_line(ax, w, b, **style):
    """The line w1 x1 + w2 x2 + b = 0."""
    xs = np.array([-0.5, 1.5])
    if not np.any(w):  # no line: the unit is constant
        return
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **style)
    else:
        ax.axvline(-b / w[0], **style)


# %%
# One perceptron per gate
# -----------------------
# The lesson's rule: one sample at a time (``batch_size=1``, not averaged), with Gallant's
# pocket. AND and OR are learned exactly within a few epochs: an epoch without a mistake ends
# training. On XOR the rule never settles; when ``max_iter`` runs out it warns (a
# ``ConvergenceWarning``), and the pocket keeps the best line it saw, which gets 3 of the 4
# points right (no line can do better). The pocket takes a line only once its run of right
# answers outgrows the pocket's (Gallant's ratchet), so it needs enough epochs to meet one:
# 200 sufficed in every order tried, 50 missed in 3 of 30. It also needs ``tol=None``: with
# the default ``tol=1e-3`` the fit stops once the loss stops improving, before it meets such
# a line, without a warning (2 of 4 right in 23 of 30 orders).
fig, axes = plt.subplots(1, 5, figsize=(19, 5))
for ax, (gate, y) in zip(axes[:3], GATES.items(), strict=True):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf = PerceptronClassifier(batch_size=1, pocket=True, tol=None, max_iter=200)
        clf.fit(X, y)
    accuracy = clf.score(X, y)
    DecisionBoundaryDisplay.from_estimator(clf, X, response_method="predict", ax=ax,
                                           alpha=0.25, cmap="coolwarm", grid_resolution=200,
                                           xlabel="$x_1$", ylabel="$x_2$")
    draw_line(ax, clf.coef_[0], clf.intercept_[0], color="k", lw=2)
    note = ("max_iter ran out:\nthe pocket's line kept" if caught
            else f"{clf.n_iter_} epochs")
    draw_points(ax, y, f"perceptron on {gate}: {accuracy:.0%} right\n({note})")
    print(f"{gate}: perceptron accuracy {accuracy:.2f}, epochs {clf.n_iter_}, "
          f"warned: {bool(caught)}")
axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)

# %%
# XOR from gates: NOT, AND and OR in two layers of step units
# -----------------------------------------------------------
# With step units, AND(a, b) = step(a + b - 1.5), OR(a, b) = step(a + b - 0.5) and
# NOT a = 1 - a. So h1 = x1 AND NOT x2 = step(x1 - x2 - 0.5),
# h2 = NOT x1 AND x2 = step(-x1 + x2 - 0.5), and XOR = h1 OR h2 = step(h1 + h2 - 0.5).
# In matrix form: [4 x 2] . [2 x 2] -> [4 x 2] hidden, then . [2 x 1] -> [4 x 1] output.
W1, b1 = np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([-0.5, -0.5])
W2, b2 = np.array([[1.0], [1.0]]), np.array([-0.5])


def xor_by_gates(points):
    hidden = step(points @ W1 + b1, None, None)
    return step(hidden @ W2 + b2, None, None)[:, 0]


ax = axes[3]
grid = np.stack(np.meshgrid(np.linspace(-0.5, 1.5, 300), np.linspace(-0.5, 1.5, 300)), -1)
ax.contourf(grid[..., 0], grid[..., 1], xor_by_gates(grid.reshape(-1, 2)).reshape(300, 300),
            levels=[-0.5, 0.5, 1.5], cmap="coolwarm", alpha=0.25)
draw_line(ax, W1[:, 0], b1[0], color="tab:green", lw=2, label="$h_1$: $x_1$ AND NOT $x_2$")
draw_line(ax, W1[:, 1], b1[1], color="tab:purple", lw=2, label="$h_2$: NOT $x_1$ AND $x_2$")
assert np.array_equal(xor_by_gates(X), GATES["XOR"])
draw_points(ax, GATES["XOR"], "XOR = $h_1$ OR $h_2$\n(two layers of step units, by hand)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)

# %%
# XOR learned by backpropagation
# ------------------------------
# A network with one hidden layer of two sigmoid units, trained with L-BFGS, learns XOR
# exactly. Each hidden unit draws a line of its own (dashed: where its input is 0); the
# output combines the two half-planes. (Two units is the least that works, and from some
# random starts the training gets stuck in a local minimum; this start succeeds.)
mlp = MLPClassifierFromScratch(hidden_layer_sizes=(2,), activation="logistic", solver="lbfgs",
                               alpha=0.0, random_state=1).fit(X, GATES["XOR"])
ax = axes[4]
DecisionBoundaryDisplay.from_estimator(mlp, X, response_method="predict", ax=ax, alpha=0.25,
                                       cmap="coolwarm", grid_resolution=200)
for unit, color in zip(range(2), ["tab:green", "tab:purple"], strict=True):
    draw_line(ax, mlp.coefs_[0][:, unit], mlp.intercepts_[0][unit], color=color, lw=2, ls="--",
              label=f"hidden unit {unit + 1}")
draw_points(ax, GATES["XOR"], f"MLP (2 hidden units) on XOR: {mlp.score(X, GATES['XOR']):.0%}"
            "\nright, trained by backpropagation")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
print(f"XOR: MLP accuracy {mlp.score(X, GATES['XOR']):.2f}")

fig.tight_layout()
fig.savefig(OUT / "logic_gates.png", dpi=80)
print(f"saved {OUT / 'logic_gates.png'}")
