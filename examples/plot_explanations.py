"""
==================================================
Explaining one prediction: LIME and integrated gradients
==================================================

A pipeline ``StandardScaler -> PCA -> MLP`` never sees the raw measurements: the network's
inputs are principal components, which nobody can read. ``skdnn.explain`` explains the whole
pipeline in its **raw input features** instead, two ways:

* **LIME** (``explain_lime``) perturbs the row, asks the pipeline for probabilities and fits a
  weighted linear model to the answers. It works for any classifier with ``predict_proba`` and
  is random, so ``explanation_stability`` repeats it with other seeds to show which weights
  hold up.
* **Integrated gradients** (``integrated_gradients``) follow the straight path from a baseline
  to the row and integrate the exact gradient of the probability, from the network's own
  backward pass, carried through PCA and the scaler by the chain rule. No sampling: the
  attributions add up to ``P(x) - P(baseline)``.

The figure shows both explanations of one breast-cancer diagnosis, side by side.
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
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn.explain import (
    explain_lime,
    explanation_stability,
    format_explanation,
    integrated_gradients,
)

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT", Path(__file__).resolve().parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

# %%
# A pipeline on 30 raw measurements
# ---------------------------------
# The data come as a DataFrame, so the pipeline remembers the column names and every
# explanation below is labelled with them.
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target
class_names = [str(name) for name in data.target_names]  # 0 = malignant, 1 = benign
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                    stratify=y)
pipeline = make_pipeline(
    StandardScaler(),
    PCA(n_components=10, random_state=0),
    MLPClassifierFromScratch((32,), activation="tanh", solver="lbfgs", alpha=1e-2,
                             max_iter=300, random_state=0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    pipeline.fit(X_train, y_train)
print(f"test accuracy: {pipeline.score(X_test, y_test):.3f}")

# %%
# One prediction to explain
# -------------------------
# The test case whose predicted probability is closest to 0.8: confident, but not so sure that
# every small change of a feature leaves the probability where it is.
proba = pipeline.predict_proba(X_test)
row = int(np.argmin(np.abs(proba.max(axis=1) - 0.8)))
x = X_test.iloc[[row]]
target = int(proba[row].argmax())
print(f"\ntest row {row}: predicted {class_names[target]!r} with probability "
      f"{proba[row, target]:.2f} (truth: {class_names[y_test.iloc[row]]!r})")

# %%
# LIME
# ----
# ``random_state`` seeds all of LIME's sampling, so this explanation is the same on every run.
# Its weights are in probability units, per rule: "being in this range of the feature moves the
# probability by this much", compared with rows drawn from the training distribution.
lime_exp = explain_lime(pipeline, X_train, x, num_features=8, num_samples=3000,
                        class_names=class_names, random_state=0)
print("\n" + format_explanation(lime_exp, top=8))

# %%
# How far can those weights be trusted? LIME's local fit (R², printed above) is low here: a
# linear model of 30 on/off rules captures little of how the probability varies around this
# row. Ten more runs with other seeds show which weights hold up anyway: a feature in the top 8
# every time, always with the same sign, is part of the explanation; one that comes and goes
# is noise.
stability = explanation_stability(pipeline, X_train, x, n_repeats=10, num_features=8,
                                  num_samples=1500, random_state=0)
print("\nLIME over 10 seeds (mean local fit R² = "
      f"{stability.attrs['score_mean']:.2f}):")
print(stability.head(10).round(3).to_string())

# %%
# Integrated gradients
# --------------------
# The baseline is the average training case: the attributions share out how much more (or
# less) likely this diagnosis is for this row than for an average one. They are exact up to
# the quadrature, whose error is measured: the sum equals ``P(x) - P(baseline)``.
baseline = X_train.mean(axis=0).to_frame().T
ig = integrated_gradients(pipeline, x, baseline=baseline, target=target)[0]
p_x = pipeline.predict_proba(x)[0, target]
p_b = pipeline.predict_proba(baseline)[0, target]
print(f"\nintegrated gradients: sum = {ig.sum():+.6f}, "
      f"P(x) - P(baseline) = {p_x - p_b:+.6f}")

# %%
# Side by side
# ------------
# Both panels use the raw feature names. LIME speaks of ranges ("worst area > 1084") and of
# how the probability changes when a feature leaves its range; integrated gradients of
# exact values, relative to the baseline. Where they agree on the leading features, the
# explanation is not an artefact of one method.
fig, (ax_lime, ax_ig) = plt.subplots(1, 2, figsize=(14, 5.5))
label = lime_exp.available_labels()[0]
rules = lime_exp.as_list(label=label)[::-1]
ax_lime.barh([rule for rule, _ in rules], [w for _, w in rules],
             color=["C2" if w > 0 else "C3" for _, w in rules])
ax_lime.set_title(f"LIME: weight of each rule for P({class_names[label]})\n"
                  f"local fit R² = {lime_exp.score:.2f}")
ax_lime.set_xlabel("change in probability")

top = np.argsort(np.abs(ig))[-8:]
ax_ig.barh([X.columns[j] for j in top], ig[top],
           color=["C2" if ig[j] > 0 else "C3" for j in top])
ax_ig.set_title(f"Integrated gradients for P({class_names[target]}) from the mean case\n"
                f"sum {ig.sum():+.3f} = P(x) {p_x:.3f} - P(baseline) {p_b:.3f}")
ax_ig.set_xlabel("attribution (probability)")
for ax in (ax_lime, ax_ig):
    ax.axvline(0, color="0.5", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
fig.suptitle(f"Why is test row {row} predicted {class_names[target]!r}? "
             "StandardScaler -> PCA(10) -> MLP, explained in its 30 raw features")
fig.tight_layout()
fig.savefig(OUT / "explanations.png", dpi=90)
print(f"\nsaved {OUT / 'explanations.png'}")
