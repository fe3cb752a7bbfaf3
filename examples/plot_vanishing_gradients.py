"""
=====================================
Vanishing gradients in a deep network
=====================================

Backpropagation sends the error signal from the output back to the first layer, and at every
hidden layer multiplies it by the activation's derivative ``g'(z)`` (and by the layer's
weights). The logistic sigmoid's derivative is at most 0.25, so after eight sigmoid layers
little of the signal is left: the first layers get tiny gradients and learn slowly. ReLU's
derivative is 1 for active units, so the signal passes through them undiminished; PReLU
also keeps a (learned) slope for negative inputs.

This example measures it with skdnn's own backward pass, :meth:`skdnn.nn.Network.loss_and_gradient`,
on a network of 8 hidden layers: the mean absolute gradient ``mean |dL/dW_l|`` of each weight
layer, at initialisation and after a few epochs of training.
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
import warnings
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer, StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn.nn import Network
from skdnn.nn.init import glorot_uniform

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Data and network shape
# ----------------------
# The digits (8 x 8 pixel images, 10 classes), standardised. The network maps the 64 pixels
# through 8 hidden layers of 32 units to 10 outputs: 9 weight matrices ``W_0 ... W_8``.
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
Y = LabelBinarizer().fit_transform(y).astype(X.dtype)  # one-hot targets, as the estimator uses
hidden = (32,) * 8
layer_units = [X.shape[1], *hidden, Y.shape[1]]
EPOCHS = 10


def layer_gradient_sizes(network, theta):
    """Mean |dL/dW_l| of every weight layer, from the engine's backward pass."""
    grad = np.empty_like(theta)
    network.loss_and_gradient(theta, grad, X, Y)  # the mean log-loss, no L2 penalty
    return [np.abs(G).mean() for G in network.unpack(grad).coefs]


# %%
# Measure the gradients
# ---------------------
# *At initialisation*: a fresh draw from ``glorot_uniform``, the initialiser the estimator
# uses (its range depends on the activation, as in scikit-learn). *After training*: the
# weights of a :class:`~skdnn.MLPClassifierFromScratch` trained for a few epochs of Adam,
# packed into the engine's flat parameter vector. Both are measured on the whole data set.
# The two are separate random draws of the same initialiser (the estimator does not expose
# its initial weights), which does not matter for sizes on a log scale.
activations = ["logistic", "relu", "prelu"]
sizes, accuracy = {}, {}
for activation in activations:
    network = Network(layer_units, activation, "softmax")
    init = partial(glorot_uniform, activation=activation)
    theta_init = network.init(np.random.default_rng(0), init)

    clf = MLPClassifierFromScratch(hidden, activation=activation, max_iter=EPOCHS,
                                   random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few epochs, on purpose
        clf.fit(X, y)
    theta_trained = network.pack(clf.coefs_, clf.intercepts_, getattr(clf, "slopes_", ()))

    accuracy[activation] = clf.score(X, y)
    sizes[activation] = {
        "at initialisation": layer_gradient_sizes(network, theta_init),
        f"after {EPOCHS} epochs of Adam": layer_gradient_sizes(network, theta_trained),
    }
    first, last = sizes[activation]["at initialisation"][::len(hidden)]
    print(f"{activation:>8}: at initialisation, layer 0 gets {first / last:.1e} times the "
          "gradient of the output layer")

# %%
# Plot the gradient size per layer
# --------------------------------
# The x axis runs from the input (``W_0``) to the output layer (``W_8``); the y axis is
# logarithmic. With the logistic sigmoid the gradient shrinks by roughly a constant factor
# per layer on the way back, so the first layers get orders of magnitude less than the last:
# they barely move, whatever the data. ReLU and PReLU keep the gradient of the same order in
# every layer. Training does not cure the sigmoid network: its first layers still get the
# least gradient after the first epochs. (Adam divides each step by a running size of the
# gradient, which softens the effect on the *steps*, but plain SGD feels it in full.) The
# legend on the right gives each network's training accuracy after those epochs.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
layers = np.arange(len(layer_units) - 1)
for ax, stage in zip(axes, sizes[activations[0]], strict=True):
    for activation, marker in zip(activations, "os^", strict=True):
        label = activation
        if ax is axes[1]:
            label += f" (training accuracy {accuracy[activation]:.2f})"
        ax.semilogy(layers, sizes[activation][stage], marker=marker, label=label)
    ax.set_xticks(layers, labels=[f"W{i}" for i in layers])
    ax.set_xlabel("weight layer (input -> output)")
    ax.set_title(stage)
    ax.grid(alpha=0.3)
    ax.legend(title="hidden activation", loc="lower right" if ax is axes[0] else "center left")
axes[0].set_ylabel("mean |dL/dW| (log scale)")
fig.suptitle("Gradient size per layer in a network of 8 hidden layers of 32 units (digits)")
fig.tight_layout()
fig.savefig(OUT / "vanishing_gradients.png", dpi=90)
print(f"saved {OUT / 'vanishing_gradients.png'}")
