"""Scale-out on Dask: a grid search on a local cluster, and out-of-core partial_fit."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skdnn import MLPClassifierFromScratch, MLPRegressorFromScratch, PerceptronClassifier

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        # The cluster's own start-up chatter (e.g. about the dashboard) is not under test.
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _data():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:400]), y[:400]


SEARCHES = {
    "mlp": lambda: GridSearchCV(
        MLPClassifierFromScratch(max_iter=40, learning_rate_init=0.01, random_state=0),
        {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]},
        cv=3,
    ),
    "mlp_regressor": lambda: GridSearchCV(
        MLPRegressorFromScratch(max_iter=40, learning_rate_init=0.01, random_state=0),
        {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]},
        cv=3,
    ),
    "perceptron": lambda: GridSearchCV(
        PerceptronClassifier(random_state=0),
        {"average": [False, True], "eta0": [0.1, 1.0]},
        cv=3,
    ),
}


@pytest.mark.parametrize("name", SEARCHES)
def test_grid_search_on_a_dask_cluster_equals_the_local_search(client, name):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = SEARCHES[name]().fit(X, y)
        with joblib.parallel_backend("dask"):
            remote = SEARCHES[name]().fit(X, y)
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
    # Accuracy for the classifiers; R^2 of the regressor, predicting the digit's value as a
    # number after 40 epochs (0.56 when this was written).
    assert local.cv_results_["mean_test_score"].max() > (0.5 if name == "mlp_regressor"
                                                         else 0.85)
    # The work really ran on the cluster's worker processes.
    assert len(client.scheduler_info()["workers"]) == 2


def test_incremental_partial_fit_over_dask_blocks_equals_partial_fit_per_block(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _data()
    X_dask, y_dask = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    classes = np.unique(y)
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.02, random_state=0)
    incremental = wrappers.Incremental(MLPClassifierFromScratch(**params),
                                       scoring="accuracy", shuffle_blocks=False)
    for _ in range(5):  # five epochs over the four blocks
        incremental.partial_fit(X_dask, y_dask, classes=classes)
    by_hand = MLPClassifierFromScratch(**params)
    for _ in range(5):
        for start in range(0, len(y), 100):
            by_hand.partial_fit(X[start:start + 100], y[start:start + 100], classes=classes)
    np.testing.assert_allclose(incremental.estimator_.predict_proba(X),
                               by_hand.predict_proba(X), rtol=1e-10)
    assert incremental.estimator_.t_ == 5 * len(y)
    assert incremental.score(X_dask, y_dask) > 0.85
