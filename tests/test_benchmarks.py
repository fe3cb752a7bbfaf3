"""The benchmark scripts compare what they say they compare (no time is asserted here)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _configs  # noqa: E402
import bench_fit  # noqa: E402
from bench_floor import Floor, LeanNumPy, lean_numpy  # noqa: E402

from skdnn.nn.network import Network  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DIGITS = _configs.CONFIGS["digits-f64"]


def test_both_estimators_start_from_the_benchmark_weights():
    X, y, _, _ = DIGITS.load(quick=True)
    start = DIGITS.start(X, y, seed=3)
    kept = [a.copy() for part in start for a in part]
    fits = {}
    for kind in bench_fit.KINDS:
        # Without shuffling, two fits from one start see the same batches: the same losses.
        estimator = DIGITS.estimator(kind, 3, seed=0, start=start).set_params(shuffle=False)
        fits[kind] = estimator.fit(X, y)
    np.testing.assert_allclose(fits["skdnn"].loss_curve_, fits["sklearn"].loss_curve_,
                               rtol=1e-9)
    # Neither fit trained the benchmark's arrays in place (the next fit needs them as drawn).
    for before, after in zip(kept, [a for part in start for a in part], strict=True):
        np.testing.assert_array_equal(before, after)
    # Another seed is another start.
    other = DIGITS.estimator("skdnn", 3, seed=0, start=DIGITS.start(X, y, seed=4))
    assert other.set_params(shuffle=False).fit(X, y).loss_curve_[0] != pytest.approx(
        fits["skdnn"].loss_curve_[0], rel=1e-6)


def test_lean_numpy_yardstick_trains_the_same_kind_of_network():
    X, y, _, _ = DIGITS.load(quick=True)
    lean = LeanNumPy(DIGITS, X, y)
    # Its objective and gradient on a batch are the engine's (for the same flat parameters).
    rows = np.random.default_rng(0).permutation(len(y))[:200]
    loss = lean.gradient(rows)
    network = Network([64, 64, 10], "relu", "softmax", alpha=DIGITS.params.get("alpha", 1e-4))
    grad = np.empty_like(lean.theta)
    assert loss == pytest.approx(network.loss_and_gradient(
        lean.theta, grad, X[rows], lean.Y[rows]), rel=1e-12)
    np.testing.assert_allclose(lean.grad, grad, rtol=1e-10, atol=1e-14)
    losses = [lean.epoch() for _ in range(4)]
    assert np.all(np.isfinite(losses)) and np.all(np.diff(losses) < 0)
    # Its layers are the configuration's and the floor's.
    floor = Floor(DIGITS, X, len(np.unique(y)))
    assert [W.shape for W in lean.W] == [W.shape for W in floor.W] == [(64, 64), (64, 10)]
    sparse = _configs.CONFIGS["sparse-f64"]
    assert lean_numpy(sparse, *sparse.load(quick=True)[:2]) is None
    assert lean_numpy(DIGITS, X, y % 2) is None  # two classes: one logistic output unit
    tanh = _configs.Config("tanh", "digits", np.float64, dict(DIGITS.params, activation="tanh"))
    assert lean_numpy(tanh, X, y) is None
    assert lean_numpy(DIGITS, X, y) is not None


def test_bench_fit_reports_ratios_and_same_start_losses():
    result = bench_fit.run(DIGITS, quick=True, repeats=2)
    for kind in ("skdnn", "sklearn", "floor", "lean"):
        assert result[f"{kind}_epoch_s"] > 0
    # Each ratio is the median (with two rounds, the mean) of the rounds' own ratios.
    times = result["times"]
    for a, b in [("skdnn", "sklearn"), ("skdnn", "floor"), ("skdnn", "lean")]:
        assert result[f"{a}/{b}"] == pytest.approx(
            (times[a][0] / times[b][0] + times[a][1] / times[b][1]) / 2)
    # One start, two batch orders: the final losses differ by the order only.
    assert result["loss_ratio"] == pytest.approx(1.0, abs=0.1)
    table = bench_fit._table([result])
    assert "| digits-f64 | 1,500 x 64 | 20 |" in table
    assert f"| {result['loss_ratio']:.3f} |" in table


def test_regressor_benchmark_starts_both_estimators_from_the_same_weights():
    import bench_regressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 100)).astype(np.float32)
    y = (X[:, :5].sum(axis=1) + rng.normal(size=300)).astype(np.float32)
    units = [100, *bench_regressor.PARAMS["hidden_layer_sizes"], 1]
    start = _configs.initial_weights(units, 0)
    fits = {kind: bench_regressor.estimator(kind, 2, start=start).set_params(shuffle=False)
            .fit(X, y) for kind in ("skdnn", "sklearn")}
    assert fits["skdnn"].coefs_[0].dtype == fits["sklearn"].coefs_[0].dtype == np.float32
    # float32 rounding, in two orders of summation, over 4 batches of 2 epochs.
    np.testing.assert_allclose(fits["skdnn"].loss_curve_, fits["sklearn"].loss_curve_,
                               rtol=1e-4)
