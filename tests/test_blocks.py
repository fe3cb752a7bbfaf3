"""Bounded memory: prediction, explanations, TabNet's importance pass and the gradients of
skdnn.explain read the rows a block at a time, within scikit-learn's ``working_memory``, and
give the values of one pass over all rows (issue 29, point 5)."""

import tracemalloc

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import make_classification

from skdnn import MLPClassifierFromScratch, TabNetClassifier
from skdnn._blocks import in_row_blocks
from skdnn.explain import input_gradients, integrated_gradients
from skdnn.nn import Network
from skdnn.nn.tabnet import TabNet

SMALL_TABNET = dict(n_d=4, n_a=4, n_steps=2, batch_size=256, virtual_batch_size=64,
                    max_iter=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=3000, n_features=10, n_informative=5,
                               random_state=0)


def _rows_per_call(monkeypatch, cls, method):
    """Record the number of rows of every prediction-mode call of ``cls.method``."""
    rows, original = [], getattr(cls, method)

    def recording(self, theta, X, training=False, rng=None):  # the engine's interface
        if not training:
            rows.append(X.shape[0])
        return original(self, theta, X, training, rng)

    monkeypatch.setattr(cls, method, recording)
    return rows


def test_in_row_blocks_gives_the_one_pass_values_for_arrays_and_tuples():
    X = np.random.default_rng(0).normal(size=(1000, 3))
    seen = []

    def function(rows):
        seen.append(rows)
        return X[rows] * 2, X[rows].sum(axis=1)

    with config_context(working_memory=1):
        doubled, sums = in_row_blocks(function, 1000, row_bytes=2**20 // 300)
    assert [rows.stop - rows.start for rows in seen] == [300, 300, 300, 100]
    np.testing.assert_array_equal(doubled, X * 2)
    np.testing.assert_array_equal(sums, X.sum(axis=1))
    single = in_row_blocks(lambda rows: X[rows] + 1, 1000, row_bytes=8)
    np.testing.assert_array_equal(single, X + 1)


def test_tabnet_predicts_explains_and_weighs_features_in_blocks(data, monkeypatch):
    X, y = data
    whole = TabNetClassifier(**SMALL_TABNET).fit(X, y)
    rows = _rows_per_call(monkeypatch, TabNet, "forward")
    with config_context(working_memory=1):
        blocked = TabNetClassifier(**SMALL_TABNET).fit(X, y)  # the importance pass
        limit = 2**20 // blocked.as_engine(X.dtype)[0].row_bytes
        assert 0 < max(rows) <= limit < len(X)
        np.testing.assert_allclose(blocked.feature_importances_, whole.feature_importances_,
                                   rtol=1e-10)
        rows.clear()
        proba = blocked.predict_proba(X)
        importances, masks = blocked.explain(X)
        assert 0 < max(rows) <= limit and len(rows) >= 2 * np.ceil(len(X) / limit)
    np.testing.assert_allclose(proba, whole.predict_proba(X), rtol=1e-10)
    whole_importances, whole_masks = whole.explain(X)
    np.testing.assert_allclose(importances, whole_importances, rtol=1e-10)
    for s in whole_masks:
        np.testing.assert_allclose(masks[s], whole_masks[s], rtol=1e-10)


def test_tabnet_s_prediction_peak_memory_is_one_block_s(data):
    X, y = data
    model = TabNetClassifier(**SMALL_TABNET).fit(X, y)
    X_big = np.tile(X, (4, 1))  # 12,000 rows

    def peak(working_memory):
        with config_context(working_memory=working_memory):
            tracemalloc.start()
            model.predict_proba(X_big)
            used = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return used

    # One pass holds every row's trace (tens of MiB); blocks of 1 MiB hold one block's.
    assert peak(1) < 0.25 * peak(4096)


@pytest.mark.parametrize("explain", [input_gradients, integrated_gradients])
def test_the_gradients_of_skdnn_explain_run_in_blocks(data, monkeypatch, explain):
    X, y = data
    model = MLPClassifierFromScratch((16,), max_iter=30, random_state=0).fit(X, y)
    kwargs = {} if explain is input_gradients else {"X_train": X}
    whole = explain(model, X[:400], **kwargs)
    rows = _rows_per_call(monkeypatch, Network, "forward")
    with config_context(working_memory=0.01):  # 10 KiB: 20 rows of a forward and backward pass
        blocked = explain(model, X[:400], **kwargs)
    assert 0 < max(rows) <= 0.01 * 2**20 // (2 * model.as_engine()[0].row_bytes) < 400
    np.testing.assert_allclose(blocked, whole, rtol=1e-10, atol=1e-14)


def test_the_mlp_s_validation_pass_reads_the_rows_in_blocks(data, monkeypatch):
    X, y = data
    options = dict(hidden_layer_sizes=(16,), early_stopping=True, max_iter=5, random_state=0)
    whole = MLPClassifierFromScratch(**options).fit(X, y)
    rows = _rows_per_call(monkeypatch, Network, "forward")
    with config_context(working_memory=0.01):  # 40 rows of two 16-unit activations
        blocked = MLPClassifierFromScratch(**options).fit(X, y)
    assert 0 < max(rows) <= 0.01 * 2**20 // (2 * 16 * 8)
    np.testing.assert_allclose(blocked.validation_scores_, whole.validation_scores_)
