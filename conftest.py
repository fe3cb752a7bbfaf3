"""pytest setup for the whole checkout.

The doctests collect every module of ``skdnn``. A module whose examples need an optional
dependency (``skdnn.onnx`` imports skl2onnx when it is imported; the examples of
``skdnn.explain`` use lime and pandas, those of ``skdnn.plot`` matplotlib) is left out when
that dependency is not installed, instead of failing: CI's floor stage installs none of them.
"""

from importlib.util import find_spec

_NEEDS = {
    "skdnn/onnx.py": ["skl2onnx"],
    "skdnn/explain.py": ["lime", "pandas"],
    "skdnn/explain": ["lime", "pandas"],
    "skdnn/plot.py": ["matplotlib"],
}

collect_ignore = [path for path, modules in _NEEDS.items()
                  if not all(find_spec(module) for module in modules)]
