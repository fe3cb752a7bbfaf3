"""
=====================================
Deploying a pipeline with ONNX
=====================================

A fitted model has to be served somewhere, often outside Python. ONNX is a file format for
computation graphs that runtimes in many languages execute; ``skl2onnx`` converts
scikit-learn pipelines to it, and ``import skdnn.onnx`` teaches it skdnn's estimators. This
example trains a ``StandardScaler -> PCA -> MLP`` pipeline on the digits, exports it,
runs the file with ``onnxruntime``, and compares the two: the largest difference between
the probabilities, whether the labels agree, and the time to answer one row, side by side.

Needs ``pip install skl2onnx onnxruntime`` (or, in a clone of skdnn, the ``onnx`` extra:
``pip install -e ".[onnx]"``). It saves the figure ``export_onnx.png``.
"""

# %%
# Setup
# -----
# Figures are written to ``$SKDNN_EXAMPLES_OUT``, or to ``examples/images/`` by default.
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skdnn.onnx  # noqa: F401  (registers skdnn's converters with skl2onnx)
from skdnn import MLPClassifierFromScratch

OUT = Path(os.environ.get("SKDNN_EXAMPLES_OUT") or Path(__file__).resolve().parent / "images")
OUT.mkdir(parents=True, exist_ok=True)

# %%
# Train
# -----
# A network with one of skdnn's own activations, GELU, which scikit-learn's MLP does not
# have: the exported graph computes it with ONNX's ``Gelu`` operator.
X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)  # the graph computes in the input's float type
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
pipeline = make_pipeline(StandardScaler(), PCA(n_components=30, random_state=0),
                         MLPClassifierFromScratch(hidden_layer_sizes=(64,), activation="gelu",
                                                  early_stopping=True, random_state=0))
pipeline.fit(X_train, y_train)
print(f"test accuracy {pipeline.score(X_test, y_test):.3f}")

# %%
# Export and load
# ---------------
# ``to_onnx`` needs one row of data to learn the input's type and width. ``zipmap=False``
# returns the probabilities as one matrix rather than one dictionary per row.
onx = to_onnx(pipeline, X_train[:1], options={"zipmap": False})
with tempfile.TemporaryDirectory() as folder:  # a server would load the file elsewhere
    path = Path(folder) / "digits.onnx"
    path.write_bytes(onx.SerializeToString())
    print(f"exported {path.stat().st_size / 1024:.0f} KiB to {path.name}")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name

# %%
# Compare the answers
# -------------------
# onnxruntime computes in float32 here, as the network does when it is given float32 data;
# the two disagree only in the rounding of the last bits.
labels, proba = session.run(None, {input_name: X_test})
difference = np.abs(proba - pipeline.predict_proba(X_test)).max(axis=1)
print(f"largest |P_onnx - predict_proba|: {difference.max():.1e}")
print(f"labels equal to predict: {np.mean(labels == pipeline.predict(X_test)):.0%}")


# %%
# Time one row
# ------------
# A served model often answers one request at a time, so what counts is the latency of a
# single row. The two take turns on each row of the test set (three passes), so that a
# change in the machine's load hits both alike; the median and the quartiles are shown.
predictors = {
    "skdnn predict_proba": pipeline.predict_proba,
    "onnxruntime": lambda row: session.run(None, {input_name: row}),
}
latency = {name: [] for name in predictors}
for row in np.tile(X_test, (3, 1))[:, None, :]:
    for name, predict in predictors.items():
        start = time.perf_counter()
        predict(row)
        latency[name].append(time.perf_counter() - start)
latency = {name: np.array(seconds) for name, seconds in latency.items()}
print(f"{'single-row latency':<22}{'median (us)':>12}{'quartiles (us)':>18}")
for name, seconds in latency.items():
    q1, median, q3 = np.percentile(seconds * 1e6, [25, 50, 75])
    print(f"{name:<22}{median:>12.0f}{f'{q1:.0f} - {q3:.0f}':>18}")
ratio = np.median(latency["onnxruntime"]) / np.median(latency["skdnn predict_proba"])
print(f"onnxruntime / skdnn: {ratio:.2f} (a shared machine: the ratio is what counts)")

# %%
# Plot
# ----
# Left, how far apart the probabilities of each test digit are; right, the latency of one row.
fig, (ax_diff, ax_time) = plt.subplots(1, 2, figsize=(11, 4.2))
ax_diff.hist(np.log10(np.maximum(difference, 1e-12)), bins=30, color="tab:blue")
ax_diff.axvline(-5, color="tab:red", linestyle="--", label="1e-5")
ax_diff.set_xlabel("log10 of the largest |P_onnx - predict_proba| of a test digit")
ax_diff.set_ylabel("test digits")
ax_diff.set_title("probabilities: onnxruntime (float32) vs skdnn")
ax_diff.legend()
names = list(latency)
ax_time.boxplot([latency[name] * 1e6 for name in names], showfliers=False)
ax_time.set_xticks([1, 2], labels=names)
ax_time.set_ylabel("microseconds per single-row call")
ax_time.set_title("single-row latency of StandardScaler -> PCA -> MLP")
fig.tight_layout()
fig.savefig(OUT / "export_onnx.png", dpi=90)
print(f"saved {OUT / 'export_onnx.png'}")
