"""scikit-learn's estimator checks over skdnn's estimators, with no expected failures
except where training draws chance per sample."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdnn import (
    ConsensusClassifier,
    MLPClassifierFromScratch,
    MLPRegressorFromScratch,
    TabNetClassifier,
    TabNetRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)

# Dropout masks and the early-stopping validation split are drawn per sample, so a weighted
# sample cannot see the same chance as its repeated copies.
_PER_SAMPLE_CHANCE = {
    "check_sample_weight_equivalence_on_dense_data": "random draws are per sample",
    "check_sample_weight_equivalence_on_sparse_data": "random draws are per sample",
}

# The contract does not depend on the hidden activation (tests/test_reference.py checks each
# one's maths): the checks run with the default, ReLU, and with PReLU, the one that adds
# learned parameters (slopes_) to the fitted state; PReLU and dropout (per-sample chance)
# once, on the classifier, whose fitted state and draws the regressor shares. The solvers
# sgd and lbfgs likewise once, on the classifier: classifier and regressor run the same
# solver code (skdnn/_mlp_base.py) over their own output layer and loss, which the default
# (adam) regressor's checks cover.
MLP_INSTANCES = (
    [MLPClassifierFromScratch(), MLPClassifierFromScratch(activation="prelu")]
    # L-BFGS runs to its max_iter on the checks' small random data sets (200 by default:
    # three times the time of the other MLP configurations); no check depends on how far it
    # gets past 50 iterations.
    + [MLPClassifierFromScratch(solver="sgd"), MLPClassifierFromScratch(solver="lbfgs",
                                                                        max_iter=50)]
    + [
        MLPClassifierFromScratch(early_stopping=True),
        MLPClassifierFromScratch(dropout=0.2),
        MLPClassifierFromScratch(class_weight="balanced"),
    ]
    + [
        MLPRegressorFromScratch(),
        MLPRegressorFromScratch(early_stopping=True),
        MLPRegressorFromScratch(loss="poisson"),
    ]
)
# A 1-D y is one annotator: ordinary supervised learning, which the checks test.
CONSENSUS_INSTANCES = [ConsensusClassifier(), ConsensusClassifier(LogisticRegression())]


# TabNet's batch norm normalises each mini-batch by its own statistics, so a sample weighted 2
# and the same sample repeated see different batches. The checks' data sets have 20 to 300
# rows, which the default batch_size ("auto": n // 32, at least 64) cuts into batches of 64;
# the checks' fits set that (with ghost batches of 32) and a narrower network with two steps,
# which keeps each of the three configurations to seconds.
_BATCH_STATISTICS = {
    "check_sample_weight_equivalence_on_dense_data": "batch norm depends on repeated rows",
}
_SMALL_TABNET = dict(n_d=4, n_a=4, n_steps=2, batch_size=64, virtual_batch_size=32,
                     max_iter=50)
# The mask (sparsemax or entmax) changes TabNet's maths, which tests/test_tabnet.py checks,
# not its contract: the checks run with the default mask. Early stopping once, on the
# classifier: its validation split and the loop are the ones the regressor runs (skdnn/_train),
# whose unstratified split MLPRegressorFromScratch(early_stopping=True) checks, and the
# regressor's criterion (validation R^2) is tests/test_one_loop.py's.
TABNET_INSTANCES = [
    TabNetClassifier(**_SMALL_TABNET),
    TabNetClassifier(**_SMALL_TABNET, early_stopping=True),
    TabNetRegressor(**_SMALL_TABNET),
]


# The tabular MLPs' contract does not depend on the network's size: one narrow layer, two
# members (the defaults: dropout, and a validation split from 500 rows, per-sample chance).
_SMALL_TABULAR = dict(hidden_layer_sizes=(16,), n_members=2)
TABULAR_INSTANCES = [TabularMLPClassifier(**_SMALL_TABULAR),
                     TabularMLPRegressor(**_SMALL_TABULAR)]


def _expected_failed_checks(estimator):
    if isinstance(estimator, (TabNetClassifier, TabNetRegressor)):
        return _BATCH_STATISTICS
    if getattr(estimator, "early_stopping", False) or getattr(estimator, "dropout", 0) > 0:
        return _PER_SAMPLE_CHANCE
    return {}


# The checks train on their own small data sets with the estimator's max_iter, and test the
# contract, not convergence: their ~500 ConvergenceWarnings would bury a real warning (as in
# scikit-learn's own common tests, which ignore them too).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(MLP_INSTANCES + CONSENSUS_INSTANCES + TABNET_INSTANCES
                         + TABULAR_INSTANCES,
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
