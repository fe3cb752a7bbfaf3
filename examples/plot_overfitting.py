"""
===========================================
Overfitting, and three ways to hold it back
===========================================

A network with far more weights than training samples can learn the training set by heart:
its training loss goes to zero while its loss on new data climbs. This example trains a large
network (two hidden layers of 128 units, about 17,000 weights) on only 30 samples and follows
the training and validation loss epoch by epoch:

1. without regularisation;
2. with an L2 penalty on the weights (``alpha``);
3. with dropout (``dropout``);
4. with early stopping (``early_stopping=True``).
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skdnn import MLPClassifierFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Little data
# -----------
# 30 noisy training samples of two interleaving half moons, and 300 validation samples from
# the same distribution to measure how well the network does on data it has not seen.
X, y = make_moons(n_samples=330, noise=0.3, random_state=1)
X_train, X_val, y_train, y_val = train_test_split(X, y, train_size=30, stratify=y,
                                                  random_state=0)
EPOCHS = 150
common = dict(hidden_layer_sizes=(128, 128), learning_rate_init=0.01, alpha=0.0)

# %%
# Loss per epoch, measured by hand
# --------------------------------
# ``loss_curve_`` only holds the training objective. To get the validation loss after every
# epoch, we train with :meth:`~skdnn.MLPClassifierFromScratch.partial_fit`, which runs one
# epoch of Adam per call and continues from where the last call stopped, and after each
# epoch evaluate the cross-entropy (log-loss) on both sets. Both curves are computed the same
# way: without the L2 penalty and without dropout (at prediction time every unit is on).
#
# ``partial_fit`` keeps its random stream between calls, so every epoch gets a new shuffle and
# new dropout masks, exactly as the epochs of one ``fit`` would, and the run is reproducible.


def loss_per_epoch(**params):
    clf = MLPClassifierFromScratch(**{**common, **params}, random_state=0)
    train, val = [], []
    for _ in range(EPOCHS):
        clf.partial_fit(X_train, y_train, classes=np.unique(y))
        train.append(log_loss(y_train, clf.predict_proba(X_train)))
        val.append(log_loss(y_val, clf.predict_proba(X_val)))
    return train, val, clf.score(X_val, y_val)


runs = {
    "no regularisation": loss_per_epoch(),
    "L2 penalty (alpha=0.3)": loss_per_epoch(alpha=0.3),
    "dropout=0.5": loss_per_epoch(dropout=0.5),
}

# %%
# Early stopping, as the estimator does it
# ----------------------------------------
# With ``early_stopping=True`` the estimator itself holds out ``validation_fraction`` of what
# it is given, records ``validation_loss_curve_`` after every epoch, stops once the monitored
# quantity (here the validation loss, ``early_stopping_metric="loss"``) has not improved for
# ``n_iter_no_change`` epochs, and keeps the best weights it saw. We give it all 330 samples
# and ``validation_fraction=300/330``: it trains on 30 and validates on 300, the same sizes
# as above, but its own random split, so its curves are comparable in kind, not sample for
# sample. Its training curve is ``loss_curve_``, the objective on each epoch's mini-batch
# (one batch of 30 here) before the epoch's update.
stopper = MLPClassifierFromScratch(
    **common, max_iter=EPOCHS, early_stopping=True, validation_fraction=300 / 330,
    early_stopping_metric="loss", n_iter_no_change=10, random_state=0,
).fit(X, y)
best_epoch = int(np.argmin(stopper.validation_loss_curve_)) + 1

# %%
# Plot
# ----
# * Without regularisation the training loss falls to almost zero while the validation loss,
#   after a short dip, climbs: the network becomes ever more confident on points it gets
#   wrong. Its lowest point is where training should have stopped.
# * The L2 penalty keeps the weights small, so the network cannot become so confident: the
#   validation loss levels off instead of climbing, below the lowest point of the run
#   without regularisation.
# * Dropout switches off a random half of the hidden units on every step, so no unit can
#   rely on another. Here it does *not* stop overfitting, and the validation loss swings
#   from epoch to epoch: with 30 points in two dimensions there is little redundancy to
#   learn. Dropout pays off in wide layers fed with many features (images, text), and it is
#   often combined with an L2 penalty or early stopping. A regulariser is a hyper-parameter
#   to check on validation data, not a guarantee.
# * Early stopping does not change training at all; it stops it near the bottom of the
#   validation curve and returns the weights from that epoch.
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), sharey=True)
for ax, (title, (train, val, acc)) in zip(axes, runs.items(), strict=False):
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training loss")
    ax.plot(epochs, val, label="validation loss")
    ax.set_title(f"{title}\nvalidation accuracy {acc:.2f}")
ax = axes[-1]
epochs = np.arange(1, len(stopper.loss_curve_) + 1)
ax.plot(epochs, stopper.loss_curve_, label="training loss (loss_curve_)")
ax.plot(epochs, stopper.validation_loss_curve_, label="validation loss\n(validation_loss_curve_)")
ax.axvline(best_epoch, color="k", ls=":", label=f"weights kept (epoch {best_epoch})")
ax.set_title(f"early stopping: stopped after {stopper.n_iter_} epochs\n"
             f"validation accuracy of its own split {stopper.best_validation_score_:.2f}")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.set_xlim(0, EPOCHS)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("log-loss")
axes[0].legend(loc="upper right")
axes[-1].legend(loc="upper right", fontsize=8)
fig.suptitle("A (128, 128) network trained on 30 samples of make_moons(noise=0.3), Adam")
fig.tight_layout()
fig.savefig(OUT / "overfitting.png", dpi=90)
print(f"saved {OUT / 'overfitting.png'}")
