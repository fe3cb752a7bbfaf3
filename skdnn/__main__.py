"""``python -m skdnn``: skdnn's MLP and scikit-learn's, side by side on the digits data.

Both train inside the same ``StandardScaler -> PCA -> MLP`` pipeline with the same
hyper-parameters; the demo prints test accuracy and fit time of each, then explains one
prediction. Everything runs offline on data bundled with scikit-learn.
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import MLPClassifierFromScratch, __version__

HYPER_PARAMETERS = dict(hidden_layer_sizes=(128, 64), max_iter=200, random_state=0)


def _pipeline(classifier):
    return make_pipeline(StandardScaler(), PCA(n_components=40, random_state=0), classifier)


def _fit_timed(pipeline, X, y, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pipeline.fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times)


def _explain(pipeline, X_train, X_test, y_test):
    """Print the LIME explanation of one test digit, if the explain module is available."""
    try:
        from .explain import explain_lime, format_explanation
        from .explain._lime import _INSTALL_HINT
    except ImportError:  # the explain module or lime is not installed
        return
    try:
        import lime  # noqa: F401
    except ImportError:
        print(f"\n(To see a LIME explanation of one digit, install lime: {_INSTALL_HINT}.)")
        return
    x = X_test[0]
    predicted = pipeline.predict(x.reshape(1, -1))[0]
    feature_names = [f"pixel[{i // 8},{j}]" for i in range(0, 64, 8) for j in range(8)]
    explanation = explain_lime(pipeline, X_train, x, num_features=5, num_samples=2000,
                               feature_names=feature_names, random_state=0)
    print(f"\nWhy is the first test digit (true label {y_test[0]}) read as {predicted}?")
    print(format_explanation(explanation, top=5))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m skdnn", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits per model; best time kept")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    print(f"skdnn {__version__}: digits, {X_train.shape[0]} training and {X_test.shape[0]} test "
          f"images of {X.shape[1]} pixels")
    print("pipeline: StandardScaler -> PCA(40) -> MLP"
          f"{HYPER_PARAMETERS['hidden_layer_sizes']}, adam, {HYPER_PARAMETERS['max_iter']} epochs")
    print(f"\n{'model':<32}{'test accuracy':>14}{'fit time (s)':>14}")
    results = {}
    for name, classifier in [
        ("skdnn MLPClassifierFromScratch", MLPClassifierFromScratch(**HYPER_PARAMETERS)),
        ("sklearn MLPClassifier", MLPClassifier(**HYPER_PARAMETERS)),
    ]:
        pipeline = _pipeline(classifier)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            seconds = _fit_timed(pipeline, X_train, y_train, args.repeats)
        accuracy = pipeline.score(X_test, y_test)
        results[name] = (pipeline, seconds)
        print(f"{name:<32}{accuracy:>14.4f}{seconds:>14.3f}")
    ours, theirs = (seconds for _, seconds in results.values())
    print(f"\nfit time, skdnn / scikit-learn: {ours / theirs:.2f}")
    _explain(results["skdnn MLPClassifierFromScratch"][0], X_train, X_test, y_test)


if __name__ == "__main__":
    main()
