"""pytest setup for the whole checkout.

The doctests collect every module of ``skdnn``; ``skdnn.onnx`` imports skl2onnx when it is
imported, so without skl2onnx (an optional dependency) it is left out instead of failing.
"""

collect_ignore = []
try:
    import skl2onnx  # noqa: F401
except ImportError:
    collect_ignore.append("skdnn/onnx.py")
