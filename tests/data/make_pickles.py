"""Write the pickles of tests/test_old_pickles.py: each estimator fitted by the skdnn that is
imported, pickled, with its predictions. Run with an older checkout on PYTHONPATH:

    PYTHONPATH=<checkout of 289a6d2> python tests/data/make_pickles.py \\
        tests/data/pickled_by_289a6d2.pkl
"""

import pickle
import sys
import warnings

import numpy as np
from sklearn.datasets import load_diabetes, load_iris

import skdnn
from skdnn import (
    ConsensusClassifier,
    MLPClassifierFromScratch,
    MLPRegressorFromScratch,
    PerceptronClassifier,
    TabNetClassifier,
    TabNetRegressor,
)


def main(path):
    warnings.simplefilter("ignore")
    X, y = load_iris(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    Xr, yr = Xr[:150], yr[:150]
    small_tabnet = dict(n_d=4, n_a=4, n_steps=2, max_iter=5, random_state=0)
    annotations = np.column_stack([y, y, (y + 1) % 3])
    models = {
        "mlp_classifier": (MLPClassifierFromScratch((8,), activation="prelu", max_iter=30,
                                                    random_state=0), X, y),
        "mlp_regressor": (MLPRegressorFromScratch((8,), max_iter=30, random_state=0), Xr, yr),
        "perceptron": (PerceptronClassifier(random_state=0), X, y),
        "tabnet_classifier": (TabNetClassifier(**small_tabnet), X, y),
        "tabnet_regressor": (TabNetRegressor(**small_tabnet), Xr, yr),
        "consensus": (ConsensusClassifier(method="majority", random_state=0), X, annotations),
    }
    saved = {}
    for name, (model, A, b) in models.items():
        model.fit(A, b)
        pred = model.predict_proba(A) if hasattr(model, "predict_proba") else model.predict(A)
        saved[name] = (pickle.dumps(model, protocol=4), pred)
    with open(path, "wb") as f:
        pickle.dump({"version": skdnn.__version__, "models": saved}, f, protocol=4)


if __name__ == "__main__":
    main(sys.argv[1])
