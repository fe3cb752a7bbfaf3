"""
============================================================================
TabNet: where each decision step looks, beside LIME and integrated gradients
============================================================================

TabNet (Arik and Pfister, 2021) reads a row in a few *decision steps*. At each step an
attentive transformer chooses a sparse mask over the features (sparsemax: the mask's entries
sum to 1 and most are exactly 0), and only the masked features reach that step's decision.
The masks are part of the prediction itself, so TabNet explains itself:
``TabNetClassifier.explain`` returns each step's mask and their aggregate, weighted by how
much each step contributes to the decision.

Those masks say *where the network looked*, not *how much each feature moved the
prediction*. The figure puts them beside two explanations of that second kind for the same
model and the same row: integrated gradients (through TabNet's own backward pass; the
attributions add up to ``P(x) - P(baseline)``) and LIME (a local linear surrogate).
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdnn import TabNetClassifier
from skdnn.explain import integrated_gradients
from skdnn.plot import AttributionDisplay

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# A TabNet on 30 measurements
# ---------------------------
# A scaler first, so that the network's inputs are comparable; TabNet's own first layer is
# a batch norm as well. Small batches suit the 426 training rows.
data = load_breast_cancer(as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25,
                                                    random_state=0, stratify=data.target)
model = make_pipeline(StandardScaler(), TabNetClassifier(batch_size=128, virtual_batch_size=64,
                                                         random_state=0))
model.fit(X_train, y_train)
tabnet = model[-1]
print(f"test accuracy: {model.score(X_test, y_test):.3f}, epochs: {tabnet.n_iter_}")
top = np.argsort(tabnet.feature_importances_)[::-1][:5]
print("largest feature_importances_:",
      ", ".join(f"{data.feature_names[j]} {tabnet.feature_importances_[j]:.2f}" for j in top))

# %%
# The step masks of a few rows
# ----------------------------
# ``explain`` takes the network's own input (here, the scaled rows). Each step's mask row
# sums to 1; the zeros are exact.
rows = X_test.iloc[:6]
importances, masks = tabnet.explain(model[0].transform(rows))
for step, M in masks.items():
    print(f"step {step}: rows sum to {M.sum(axis=1).round(6).tolist()}, "
          f"{(M == 0).mean():.0%} of entries exactly 0")

# %%
# The same model, one row, three views
# ------------------------------------
x = rows.iloc[[0]]
ig = integrated_gradients(model, x, X_train=X_train)
print(f"integrated gradients add up to {ig.sum(axis=1).iloc[0]:+.4f} = P(x) - P(baseline)")

fig = plt.figure(figsize=(15, 6.5), layout="constrained")
grid = fig.add_gridspec(1, 3, width_ratios=[1.5, 1, 1])
ax_masks = fig.add_subplot(grid[0])
stacked = np.vstack([M for M in masks.values()])
image = ax_masks.imshow(stacked, aspect="auto", cmap="viridis", interpolation="nearest")
n_rows = len(rows)
ax_masks.set_yticks(np.arange(len(stacked)),
                    [f"step {s}, row {r}" for s in masks for r in range(n_rows)], fontsize=6)
for s in range(1, len(masks)):
    ax_masks.axhline(s * n_rows - 0.5, color="white", lw=1.5)
ax_masks.set_xticks(np.arange(len(data.feature_names)), data.feature_names, rotation=90,
                    fontsize=6)
ax_masks.set_title("TabNet's step masks (rows sum to 1, most entries exactly 0)")
fig.colorbar(image, ax=ax_masks, shrink=0.6, label="mask")
AttributionDisplay.from_estimator(model, X_train, x, method="integrated_gradients",
                                  max_features=10, ax=fig.add_subplot(grid[1]))
AttributionDisplay.from_estimator(model, X_train, x, method="lime", max_features=10,
                                  num_samples=2000, random_state=0,
                                  ax=fig.add_subplot(grid[2]))
fig.savefig(OUT / "tabnet.png", dpi=110)
print(f"saved {OUT / 'tabnet.png'}")
