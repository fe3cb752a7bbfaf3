"""
=========================================
Learning from several annotators at once
=========================================

Labels often come from people, and people disagree: each item goes to a few annotators,
some careful, some hurried, one perhaps answering at random. The usual route collapses
their labels to one per item (a majority vote) and then trains a classifier.
:class:`skdnn.ConsensusClassifier` instead learns each annotator's *confusion matrix* (how
often it says ``l`` when the truth is ``k``) together with the classifier: the classifier's
view of the features helps decide which annotator to believe on each item, and the better
estimate of the truth trains a better classifier.

Here seven simulated annotators of known quality label the digits: four of graded accuracy,
a spammer, and two who mix up particular pairs of digits. Each labels only half of the
images or fewer. We compare the estimated confusion matrices with the true ones, the test
accuracy of majority vote then training, Dawid-Skene then training, the joint model, and
training on the true labels, and look at the images the crowd found hardest.
"""

# %%
# Simulated annotators
# --------------------
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skdnn import ConsensusClassifier, MLPClassifierFromScratch, simulate_annotations

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)
warnings.simplefilter("ignore", ConvergenceWarning)
# Small networks: one BLAS thread is faster, and on a busy machine by far (no thread waits
# for another). threadpoolctl comes with scikit-learn.
threadpool_limits(1)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test, img_train, _ = train_test_split(
    X, y, X.reshape(-1, 8, 8), test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)


def uniform_errors(accuracy, n_classes=10):
    """Right with probability ``accuracy``, else any other digit alike."""
    off = (1 - accuracy) / (n_classes - 1)
    return np.full((n_classes, n_classes), off) + np.eye(n_classes) * (accuracy - off)


def confuser(pairs):
    """Right on 9 digits in 10, except that each pair's digits are taken for each other
    45% of the time."""
    matrix = uniform_errors(0.9)
    for a, b in pairs:
        for k, other in ((a, b), (b, a)):
            matrix[k] = 0.05 / 8
            matrix[k, k], matrix[k, other] = 0.5, 0.45
    return matrix


names = ["85%", "70%", "60%", "50%", "spammer", "confuser 1", "confuser 2"]
true_confusion = np.stack(
    [uniform_errors(a) for a in (0.85, 0.7, 0.6, 0.5)] + [np.full((10, 10), 0.1)]
    + [confuser([(1, 7), (3, 8), (4, 9), (5, 6)]), confuser([(0, 6), (2, 7), (3, 5), (8, 9)])])
Y = simulate_annotations(y_train, true_confusion, coverage=[0.5] * 5 + [0.4] * 2,
                         random_state=0)
print(f"{Y.shape[1]} annotators, {np.mean(Y != None) * Y.shape[1]:.1f} labels per image")  # noqa: E711

# %%
# Four ways to train
# ------------------
# The same small network each time. ``"majority"`` and ``"dawid_skene"`` aggregate the
# labels first and train on the result (soft targets: a tie, or Dawid-Skene's posterior,
# weighs each class by its probability); ``"joint"`` (the default) alternates between the
# two, taking the network's out-of-fold probabilities as each image's prior.
network = MLPClassifierFromScratch(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200,
                                   alpha=1.0, random_state=0)
models = {method: ConsensusClassifier(network, method=method, random_state=0).fit(X_train, Y)
          for method in ("majority", "dawid_skene", "joint")}
scores = {f"{m} -> train" if m != "joint" else "joint": model.score(X_test, y_test)
          for m, model in models.items()}
scores["true labels"] = network.fit(X_train, y_train).score(X_test, y_test)
for name, score in scores.items():
    model = models.get(name.split(" ")[0])
    right = "" if model is None else np.mean(
        model.classes_[model.consensus_proba_.argmax(axis=1)] == y_train)
    print(f"{name:24s} test accuracy {score:.3f}"
          + ("" if model is None else f"   consensus labels right: {right:.3f}"))

joint = models["joint"]
print("annotator accuracy (estimated):", np.round(joint.annotator_accuracy_, 3))

# %%
# What the crowd tells
# --------------------
# Top: the true confusion matrices of three annotators (the best one, the spammer, a
# confuser) and below each, the joint model's estimate. Bottom right: test accuracies.
# Last row: the training images ranked hardest, with the labels they were given.
fig = plt.figure(figsize=(13, 9.5), layout="constrained")
grid = fig.add_gridspec(3, 4, height_ratios=[1, 1, 0.8])
for column, j in enumerate([0, 4, 5]):
    for row, (matrix, what) in enumerate([(true_confusion[j], "true"),
                                          (joint.annotator_confusion_[j], "estimated")]):
        ax = fig.add_subplot(grid[row, column])
        ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
        ax.set_title(f"{names[j]}: {what}", fontsize=10)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("label given", fontsize=8)
        ax.set_ylabel("true digit", fontsize=8)
mae = np.abs(joint.annotator_confusion_ - true_confusion).mean()
ax = fig.add_subplot(grid[0:2, 3])
ax.barh(list(scores), list(scores.values()), color=["#999", "#999", "C0", "C2"])
ax.set_xlim(0.5, 1.0)
for i, value in enumerate(scores.values()):
    ax.text(value, i, f" {value:.3f}", va="center", fontsize=9)
ax.set_title(f"test accuracy\n(confusion MAE {mae:.3f})", fontsize=10)
inner = grid[2, :].subgridspec(1, 8)
for position, i in enumerate(joint.relabel_order_[:8]):
    ax = fig.add_subplot(inner[0, position])
    ax.imshow(img_train[i], cmap="gray_r")
    given = ", ".join(str(v) for v in Y[i] if v is not None)
    ax.set_title(f"labels {given}\ntrue {y_train[i]}, "
                 f"p={joint.consensus_proba_[i].max():.2f}", fontsize=8)
    ax.axis("off")
fig.suptitle("ConsensusClassifier on digits labelled by seven simulated annotators")
fig.savefig(OUT / "consensus.png", dpi=80)
print(f"saved {OUT / 'consensus.png'}")
