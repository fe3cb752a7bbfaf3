"""The engine: activations, losses, initialisation, forward/backward passes and optimisers.

Pure NumPy/SciPy; nothing here knows about scikit-learn. Read it to learn backpropagation.
"""

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, Activation, get_activation
from .network import Network, Params, Trace

__all__ = ["ACTIVATIONS", "HIDDEN_ACTIVATIONS", "Activation", "Network", "Params", "Trace",
           "get_activation"]
