"""
===========================================
Fine-tuning a pretrained network (transfer)
===========================================

A network trained on a large task has learned features in its hidden layers that often
serve a related task too. *Fine-tuning* reuses them: copy the pretrained hidden layers, put a
new output layer on top for the new task, and train. skdnn's default first fits that new
output layer alone on the pretrained features (a *linear probe*, a convex problem solved by
L-BFGS), then trains the whole network from there (``fine_tuning="probe_then_tune"``).

Four transfer tasks, all from the digits that ship with scikit-learn, from close to far:

* **odd vs even** and **small vs large** (related): pretrained to read the digit (10
  classes, 1,000 images), then asked whether it is odd, or whether it is 5 or more, on other
  images;
* **digits 5-9 from 0-4** (distant): pretrained to read only the digits 0 to 4, then asked
  to read 5 to 9, which it never saw;
* **shuffled pixels** (unrelated): pretrained to read digits, then asked to read digits
  whose 64 pixels are put in a fixed random order: nothing the network learned applies.

For 10, 30 and 100 labelled target samples, we compare the test accuracy of a network
trained from scratch, the pretrained one fine-tuned at the defaults, the linear probe alone
(every hidden layer frozen: ``n_frozen_layers=2``), and fine-tuning without the probe
(``fine_tuning="tune"``). The script prints the table of the README.
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

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)
warnings.simplefilter("ignore", ConvergenceWarning)  # 200 epochs on 10 samples rarely converge

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
shuffled = X[:, np.random.default_rng(0).permutation(X.shape[1])]

# task: (kind, source (X, y) to pretrain on, target (X, y) to transfer to)
TASKS = {
    "odd vs even": ("related", (X[:1000], y[:1000]), (X[1000:], y[1000:] % 2)),
    "small vs large": ("related", (X[:1000], y[:1000]), (X[1000:], (y[1000:] >= 5) * 1)),
    "digits 5-9 from 0-4": ("distant", (X[y < 5], y[y < 5]), (X[y >= 5], y[y >= 5])),
    "shuffled pixels": ("unrelated", (X[:1000], y[:1000]), (shuffled[1000:], y[1000:])),
}

# %%
# Pretrain, then fine-tune or train from scratch on few target samples
# --------------------------------------------------------------------
# ``pretrained=`` copies the hidden layers; the output layer is new, for the new classes.
# Everything else is at its defaults. Each accuracy is the mean over 5 random (stratified)
# draws of the target samples; the test set is every target image not drawn.
ARCHITECTURE = dict(hidden_layer_sizes=(64, 32))
MODELS = {
    "from scratch": lambda base, seed: MLPClassifierFromScratch(**ARCHITECTURE,
                                                                random_state=seed),
    "fine-tuned (default)": lambda base, seed: MLPClassifierFromScratch(
        pretrained=base, random_state=seed),
    "linear probe": lambda base, seed: MLPClassifierFromScratch(
        pretrained=base, n_frozen_layers=2, random_state=seed),
    "tuned without probe": lambda base, seed: MLPClassifierFromScratch(
        pretrained=base, fine_tuning="tune", random_state=seed),
}
SIZES = [10, 30, 100]
DRAWS = 5


def transfer(source, target):
    """Test accuracy of each model, shape (len(SIZES), DRAWS), on one task."""
    base = MLPClassifierFromScratch(**ARCHITECTURE, random_state=0).fit(*source)
    X_target, y_target = target
    accuracy = {name: np.zeros((len(SIZES), DRAWS)) for name in MODELS}
    for i, size in enumerate(SIZES):
        for seed in range(DRAWS):
            train, test = train_test_split(np.arange(len(y_target)), train_size=size,
                                           stratify=y_target, random_state=seed)
            for name, make in MODELS.items():
                model = make(base, seed).fit(X_target[train], y_target[train])
                accuracy[name][i, seed] = model.score(X_target[test], y_target[test])
    return accuracy


results = {task: transfer(source, target) for task, (_, source, target) in TASKS.items()}

# %%
# The table
# ---------
# Mean test accuracy over the draws; the last column is the default's gain over training
# from scratch, in points, with the worst of the 5 draws in brackets.
print("| task | samples | " + " | ".join(MODELS) + " | gain of the default |")
print("| --- | --- |" + " --- |" * (len(MODELS) + 1))
for task, accuracy in results.items():
    gain = 100 * (accuracy["fine-tuned (default)"] - accuracy["from scratch"])
    for i, size in enumerate(SIZES):
        cells = " | ".join(f"{accuracy[name][i].mean():.3f}" for name in MODELS)
        print(f"| {task} ({TASKS[task][0]}) | {size} | {cells} | "
              f"{gain[i].mean():+.1f} ({gain[i].min():+.1f}) |")

# %%
# Plot
# ----
# Where the tasks are related, the pretrained features are worth several points, most with
# the fewest samples, and the probe makes them pay at the defaults. On the distant task the
# features are for other digits, and fine-tuning must rebuild them: it stays within about a
# point of training from scratch, while the probe alone falls far behind. On shuffled pixels
# nothing transfers, and a pretrained start costs a few points: there, train from scratch.
fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
for ax, (task, accuracy) in zip(axes.flat, results.items(), strict=True):
    for name, acc in accuracy.items():
        mean, std = acc.mean(axis=1), acc.std(axis=1)
        ax.plot(SIZES, mean, "--" if name == "from scratch" else "-", marker="o", label=name)
        ax.fill_between(SIZES, mean - std, mean + std, alpha=0.12)
    ax.set_title(f"{task} ({TASKS[task][0]})")
    ax.set_xscale("log")
    ax.set_xticks(SIZES, [str(s) for s in SIZES])
    ax.grid(alpha=0.3)
for ax in axes[1]:
    ax.set_xlabel("labelled target samples")
for ax in axes[:, 0]:
    ax.set_ylabel(f"test accuracy (mean ± std, {DRAWS} draws)")
axes[0, 0].legend(loc="lower right", fontsize=8)
fig.suptitle("Fine-tuning a network pretrained on digits, at skdnn's defaults")
fig.tight_layout()
fig.savefig(OUT / "fine_tuning.png", dpi=90)
print(f"saved {OUT / 'fine_tuning.png'}")
