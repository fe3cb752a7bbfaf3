"""Warnings that name the user's line.

A warning raised deep inside a fit is worth most at the line of the user's code that started
the fit: that is where ``python -W error`` or ``warnings.filterwarnings(module=...)`` points,
and what a traceback of the warning shows. A hand-counted ``stacklevel`` is right for one path
only (``fit`` directly, but not through ``Pipeline.fit``, ``partial_fit``, scikit-learn's
``_fit_context`` wrapper or SciPy's optimiser calling back), so :func:`warn` counts the frames
each time instead.
"""

import sys
import warnings

#: Top-level packages whose frames stand between a warning and the user's line: skdnn itself,
#: and what it calls through or is called through (meta-estimators, wrappers, optimisers).
_LIBRARIES = frozenset({"skdnn", "sklearn", "scipy", "numpy", "joblib", "contextlib",
                        "functools"})


def _in_a_library(frame):
    return frame.f_globals.get("__name__", "").partition(".")[0] in _LIBRARIES


def warn(message, category=UserWarning):
    """``warnings.warn(message, category)`` at the first frame outside skdnn and the libraries
    of ``_LIBRARIES``: the user's call of ``fit``, ``partial_fit``, ``predict``, a
    meta-estimator's ``fit`` or an explanation function, however deep the warning is raised."""
    frame, level = sys._getframe(1), 2  # stacklevel 2 is the caller of this function
    while frame.f_back is not None and _in_a_library(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
