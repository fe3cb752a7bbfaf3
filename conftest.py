"""pytest setup for the whole checkout.

The doctests collect every module of ``skdnn``. A module whose examples need an optional
dependency (``skdnn.onnx`` imports skl2onnx when it is imported; the examples of
``skdnn.explain`` use lime and pandas, those of ``skdnn.plot`` matplotlib) is left out when
that dependency is not installed, instead of failing: CI's floor stage installs none of them.

The property tests (``tests/test_hostile_input.py``) draw their examples at random, and
Hypothesis replays any failure it once found from its local database, so a checkout's
results can change from run to run. The ``ci`` profile, selected by ``HYPOTHESIS_PROFILE=ci``
(``.ci/run`` sets it), draws the same examples on every run and keeps no database, so a
commit passes or fails the same way each time; the tests' own settings (how many examples)
are unchanged.
"""

import os
from importlib.util import find_spec

_NEEDS = {
    "skdnn/onnx.py": ["skl2onnx"],
    "skdnn/explain.py": ["lime", "pandas"],
    "skdnn/explain": ["lime", "pandas"],
    "skdnn/plot.py": ["matplotlib"],
}

collect_ignore = [path for path, modules in _NEEDS.items()
                  if not all(find_spec(module) for module in modules)]

if find_spec("hypothesis"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
