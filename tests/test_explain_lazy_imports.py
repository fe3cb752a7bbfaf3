"""``import skdnn`` then ``skdnn.explain``: submodules load on first use, nothing heavy before."""

import importlib.util
import subprocess
import sys
import textwrap

import pytest

import skdnn

SUBMODULES = ["explain", "plot", "nn"] + (["onnx"] if importlib.util.find_spec("skl2onnx") else [])


def test_submodules_load_on_first_use_and_a_bare_import_loads_no_optional_dependency():
    # A fresh interpreter: this one has imported everything already.
    code = textwrap.dedent(f"""
        import sys
        import skdnn
        heavy = ("lime", "matplotlib", "skl2onnx", "skdnn.explain", "skdnn.plot", "skdnn.onnx")
        print("before:", [m for m in heavy if m in sys.modules])
        for name in {SUBMODULES!r}:
            print(getattr(skdnn, name).__name__, name in dir(skdnn))
        # Reaching explain or plot imports neither lime nor matplotlib: they load on use.
        print("after:", [m for m in ("lime", "matplotlib") if m in sys.modules])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "before: []", *[f"skdnn.{name} True" for name in SUBMODULES], "after: []",
    ]


def test_an_unknown_attribute_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="module 'skdnn' has no attribute 'explains'"):
        skdnn.explains  # noqa: B018
    assert {"explain", "plot", "onnx", "nn", "MLPClassifierFromScratch"} <= set(dir(skdnn))
