"""
===========================================
Fine-tuning a pretrained network (transfer)
===========================================

A network trained on a large task has learned features in its hidden layers that often
serve a related task too. *Fine-tuning* reuses them: copy the pretrained hidden layers, put a
new output layer on top for the new task, and train, keeping (*freezing*) the first layers
fixed if the new data are few.

Here the large task is reading digits (10 classes, 1,000 images); the new task, which the
network never saw, is telling odd digits from even ones, with only 10 to 300 labelled images.
We compare, for each number of target samples, the test accuracy of

* a network trained from scratch on the target samples alone;
* the pretrained network fine-tuned with 0, 1 or 2 of its hidden layers frozen.
"""

# %%
# Setup
# -----
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT", Path(__file__).resolve().parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_source, y_source = X[:1000], y[:1000]  # the large task: which digit
X_target, y_target = X[1000:], y[1000:] % 2  # the new task: odd or even, on other images

# %%
# Pretrain on the source task
# ---------------------------
ARCHITECTURE = dict(hidden_layer_sizes=(48, 24), activation="prelu")
pretrained = MLPClassifierFromScratch(**ARCHITECTURE, max_iter=200, random_state=0)
pretrained.fit(X_source, y_source)
print(f"pretrained on {len(y_source)} digits (10 classes), training accuracy "
      f"{pretrained.score(X_source, y_source):.3f}")

# %%
# Fine-tune, or train from scratch, on few target samples
# -------------------------------------------------------
# ``pretrained=`` copies the hidden layers (weights, biases and PReLU slopes); the output
# layer is new (one sigmoid unit for odd versus even). ``n_frozen_layers`` keeps that many
# of the first layers bit for bit. Each point is the mean over 5 random (stratified) draws
# of the target samples; the test set is every target image not drawn.
SIZES = [10, 20, 50, 100, 300]
REPEATS = 5
models = {
    "from scratch": lambda seed: MLPClassifierFromScratch(**ARCHITECTURE, random_state=seed),
    **{
        f"fine-tuned, {k} frozen": (
            lambda seed, k=k: MLPClassifierFromScratch(pretrained=pretrained, n_frozen_layers=k,
                                                       solver="lbfgs" if k == 2 else "adam",
                                                       random_state=seed)
        )
        for k in (0, 1, 2)
    },
}
accuracy = {name: np.zeros((len(SIZES), REPEATS)) for name in models}
for i, size in enumerate(SIZES):
    for seed in range(REPEATS):
        train, test = train_test_split(np.arange(len(y_target)), train_size=size,
                                       stratify=y_target, random_state=seed)
        for name, make in models.items():
            model = make(seed).fit(X_target[train], y_target[train])
            accuracy[name][i, seed] = model.score(X_target[test], y_target[test])
for name, acc in accuracy.items():
    print(f"{name:<24}" + "  ".join(f"{m:.3f}" for m in acc.mean(axis=1)))

# %%
# Plot
# ----
# Read the figure with its bands: the differences are a few points, and the printed table
# above gives the means. Fine-tuning every layer (0 frozen) does at least as well as training
# from scratch from about 50 samples on. Freezing both hidden layers turns the network into a
# logistic regression on the pretrained features (trained here with L-BFGS): it cannot adapt
# them, and falls behind as the data grow. With 10 samples none of them learns the task
# well: 10 images miss some of the ten digits, and nothing tells a network whether a digit it
# has never seen labelled is odd or even. Odd versus even is also an easy task for a network
# of this size, which leaves transfer little to add; it pays most where the target task is
# hard and its data are scarce.
fig, ax = plt.subplots(figsize=(6.5, 4.2))
for name, acc in accuracy.items():
    mean, std = acc.mean(axis=1), acc.std(axis=1)
    style = "--" if name == "from scratch" else "-"
    ax.plot(SIZES, mean, style, marker="o", label=name)
    ax.fill_between(SIZES, mean - std, mean + std, alpha=0.15)
ax.set_xscale("log")
ax.set_xticks(SIZES, [str(s) for s in SIZES])
ax.set_xlabel("labelled samples of the new task (odd vs even)")
ax.set_ylabel(f"test accuracy (mean ± std of {REPEATS} draws)")
ax.set_title("Fine-tuning a network pretrained on 10-class digits")
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
fig.tight_layout()
fig.savefig(OUT / "fine_tuning.png", dpi=90)
print(f"saved {OUT / 'fine_tuning.png'}")
