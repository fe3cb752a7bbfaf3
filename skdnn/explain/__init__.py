"""Explanations of single predictions: LIME on the raw features, and exact gradient attributions.

Two families, for two questions:

* :func:`explain_lime` (in ``_lime.py``) asks *which raw features does any model's prediction
  depend on near this point?* It wraps the ``lime`` package so that a whole pipeline is
  explained in its raw input features. :func:`explanation_stability` repeats it with other
  seeds; :func:`format_explanation` prints it as text.
* :func:`input_gradients` and :func:`integrated_gradients` (in ``_gradients.py``) work for
  :class:`~skdnn.MLPClassifierFromScratch`, alone or at the end of a pipeline. They are exact,
  computed by the engine's backward pass, and need no sampling. ``_pipeline.py`` carries them
  back through the steps before the network (imputers, one-hot encoded categories, scalers,
  PCA) to the raw columns, so rows with missing values that the pipeline imputes are explained.

:class:`skdnn.plot.AttributionDisplay` draws either kind.
"""

from ._gradients import input_gradients, integrated_gradients
from ._lime import explain_lime, explanation_stability, format_explanation

__all__ = [
    "explain_lime",
    "explanation_stability",
    "format_explanation",
    "input_gradients",
    "integrated_gradients",
]
