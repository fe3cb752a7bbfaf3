"""skdnn: scikit-learn compatible neural networks written from scratch in NumPy."""

from ._mlp import MLPClassifierFromScratch, MLPRegressorFromScratch
from ._perceptron import PerceptronClassifier

__version__ = "0.1.0"
__all__ = ["MLPClassifierFromScratch", "MLPRegressorFromScratch", "PerceptronClassifier",
           "__version__"]
