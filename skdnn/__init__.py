"""skdnn: scikit-learn compatible neural networks written from scratch in NumPy.

The estimators are imported with the package. The submodules ``skdnn.explain``, ``skdnn.plot``,
``skdnn.onnx`` and ``skdnn.nn`` are imported on first access (``skdnn.explain`` works after a
bare ``import skdnn``), as scikit-learn does, so that importing skdnn never imports lime,
matplotlib or skl2onnx.
"""

import importlib

from ._consensus import ConsensusClassifier, annotations_to_wide, simulate_annotations
from ._mlp import MLPClassifierFromScratch, MLPRegressorFromScratch
from ._perceptron import PerceptronClassifier
from ._tabnet import TabNetClassifier, TabNetRegressor
from ._tabular import TabularMLPClassifier, TabularMLPRegressor

__version__ = "0.1.0"
__all__ = ["ConsensusClassifier", "MLPClassifierFromScratch", "MLPRegressorFromScratch",
           "PerceptronClassifier", "TabNetClassifier", "TabNetRegressor",
           "TabularMLPClassifier", "TabularMLPRegressor",
           "annotations_to_wide", "simulate_annotations", "__version__"]

#: Public submodules, imported when first used.
_SUBMODULES = ["explain", "nn", "onnx", "plot"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES})
