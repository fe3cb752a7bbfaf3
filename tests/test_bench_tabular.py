"""The tabular benchmark's data and summary (benchmarks/bench_tabular.py; no model is fitted
and no time is asserted here)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _tabular_data  # noqa: E402
import bench_tabular  # noqa: E402

_LOADED = {}


def _load(name):
    """The data set ``name``, loaded once; skips when its package is not installed (the
    data sets' packages are the benchmark's, not skdnn's or its tests')."""
    if importlib.util.find_spec(_tabular_data.PACKAGES[name]) is None:
        pytest.skip(f"{_tabular_data.PACKAGES[name]} is not installed")
    if name not in _LOADED:
        _LOADED[name] = _tabular_data.LOADERS[name]()
    return _LOADED[name]


@pytest.mark.parametrize("name", list(_tabular_data.LOADERS))
def test_every_loader_returns_a_table_and_a_target_of_its_task(name):
    X, y, task = _load(name)
    assert isinstance(X, pd.DataFrame) and len(X) >= 1000 and X.shape[1] >= 3
    assert y.shape == (len(X),) and task in ("binary", "multiclass", "regression")
    if task == "regression":
        assert y.dtype.kind == "f" and np.isfinite(y).all() and np.unique(y).size > 10
    else:
        assert np.unique(y).size == 2 if task == "binary" else np.unique(y).size > 2
    assert not pd.Series(y).isna().any()


def test_the_data_sets_cover_what_the_issue_asks():
    loaded = {name: _load(name) for name in _tabular_data.LOADERS}
    assert len(loaded) >= 10
    tasks = [task for _, _, task in loaded.values()]
    assert {"binary", "multiclass", "regression"} <= set(tasks)
    assert any(task == "binary" and y.mean() < 0.25 for _, y, task in loaded.values())
    assert any(X.isna().to_numpy().any() for X, _, _ in loaded.values())
    levels = [X[c].nunique() for X, _, _ in loaded.values()
              for c in bench_tabular.categorical_columns(X)]
    assert min(levels) <= 3 and max(levels) >= 50
    assert min(len(X) for X, _, _ in loaded.values()) <= 2500
    assert max(len(X) for X, _, _ in loaded.values()) >= 50000


def _results():
    """Two data sets, three models, two splits, with known means."""
    rows = []
    for split in (0, 1):
        for dataset, task in (("a", "binary"), ("b", "regression")):
            for model, score, loss, seconds in (("hgb", 0.8, 0.4, 1.0),
                                                ("linear", 0.7, 0.5, 0.1),
                                                ("realmlp", 0.9 if dataset == "a" else 0.6,
                                                 0.3, 10.0)):
                rows.append({"dataset": dataset, "task": task, "split": split,
                             "model": model, "score": score + 0.01 * split, "loss": loss,
                             "seconds": seconds * (1 + split)})
    return pd.DataFrame(rows)


def test_summary_ranks_normalises_and_compares_fit_times():
    table = bench_tabular.summary(_results())
    # a: realmlp 1, hgb 2, linear 3; b: hgb 1, linear 2, realmlp 3
    assert table.loc["realmlp", "score_rank"] == 2.0
    assert table.loc["hgb", "score_rank"] == 1.5
    assert table.loc["linear", "score_rank"] == 2.5
    assert table.loc["realmlp", "loss_rank"] == 1.0  # lowest loss on both
    assert table.loc["hgb", "score_norm"] == pytest.approx((0.5 + 1.0) / 2)
    assert table.loc["linear", "score_norm"] == pytest.approx((0.0 + 0.5) / 2)
    assert table.loc["realmlp", "time_vs_hgb"] == pytest.approx(10.0)
    assert table.loc["hgb", "time_vs_realmlp"] == pytest.approx(0.1)
    markdown = bench_tabular.summary_markdown(table)
    assert markdown.count("\n") == 4 and "| realmlp | 2 | 2.00 | 1.00 |" in markdown


def test_per_dataset_tables_give_mean_and_spread_over_the_splits():
    text = bench_tabular.per_dataset_tables(_results())
    assert "### a (binary, 2 splits)" in text and "| accuracy | log loss |" in text
    assert "| hgb | 0.805 ± 0.005 | 0.4 ± 0 | 1.5 ± 0.5 |" in text
    assert "### b (regression, 2 splits)" in text and "| R^2 | RMSE |" in text


def test_a_run_appends_each_fit_to_the_csv_and_from_csv_prints_its_tables(tmp_path, capsys,
                                                                             monkeypatch):
    # A run stopped early keeps the fits it measured: each row is written as its fit ends.
    path = tmp_path / "fits.csv"
    fits = iter(_results().to_dict("records"))
    monkeypatch.setattr(bench_tabular, "LOADERS",
                        {"a": lambda: (pd.DataFrame({"x": range(40)}), np.arange(40) % 2,
                                       "binary")})
    monkeypatch.setattr(bench_tabular, "make_model", lambda name, X, task, seed: name)
    measured = []

    def evaluate(model, *args):
        row = next(fits)
        measured.append(pd.read_csv(path) if path.exists() else None)
        return {k: row[k] for k in ("score", "loss", "seconds")}

    monkeypatch.setattr(bench_tabular, "evaluate", evaluate)
    results = bench_tabular.run(["a"], ["hgb", "linear"], 2, None, out=lambda _: None,
                                csv=str(path))
    assert [None if m is None else len(m) for m in measured] == [None, 1, 2, 3]
    written = pd.read_csv(path)
    pd.testing.assert_frame_equal(written, results, check_dtype=False)
    bench_tabular.main(["--from-csv", str(path)])
    printed = capsys.readouterr().out
    assert "### a (binary, 2 splits)" in printed and "## Summary" in printed
