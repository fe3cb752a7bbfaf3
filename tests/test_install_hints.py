"""Install hints and the README's commands work: skdnn is installed from its clone, not from
a package index, so a hint names the dependency itself (``pip install lime``) or the clone's
extra (``pip install -e ".[explain]"``), never the extra of an "skdnn" on an index; the test
extra installs what the tests need; the README's quick subset of the tests exists."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# An extra of skdnn asked of an index: the name followed by "[", or by "\[" in a regular
# expression (written in two pieces here, so that this file does not match itself).
INDEX_EXTRA = re.compile("skdnn" + r"\\?\[")
SOURCES = (".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".yml", ".yaml", ".ini")
SKIPPED = {".git", "_build", "auto_examples", "gen_modules", "generated", ".venv",
           "__pycache__", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def _text_files():
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts)
        if (path.is_file() and (path.suffix in SOURCES or path.name == "run")
                and not parts & SKIPPED and not any(p.endswith(".egg-info") for p in parts)):
            yield path


def test_no_file_of_the_repository_names_an_extra_of_skdnn_from_an_index():
    files = list(_text_files())
    assert ROOT / "skdnn" / "explain" / "_lime.py" in files  # the scan reaches the code
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in files
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if INDEX_EXTRA.search(line)]
    assert not found, "install hints naming an index's skdnn:\n" + "\n".join(found)


def _check_hint(message):
    assert not INDEX_EXTRA.search(message), message
    assert "pip install lime" in message, message
    assert 'pip install -e ".[explain]"' in message, message


def test_explain_lime_without_lime_names_the_package_and_the_clones_extra(monkeypatch):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from skdnn.explain import explain_lime

    monkeypatch.setitem(sys.modules, "lime", None)  # import lime raises ImportError
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ImportError, match="LIME explanations need the optional 'lime'") as info:
        explain_lime(LogisticRegression().fit(X, y), X, X[0], num_samples=50)
    _check_hint(str(info.value))


def test_the_demo_without_lime_names_the_package_and_the_clones_extra(monkeypatch, capsys):
    from skdnn.__main__ import _explain

    monkeypatch.setitem(sys.modules, "lime", None)
    _explain(None, None, None, None)  # returns before using the model
    _check_hint(capsys.readouterr().out)


# -- The test extra installs what the tests need ---------------------------------------------
# Following the README (pip install -e ".[test]", then python -m pytest) runs every test: each
# module a test skips without is in the test extra, except skdnn's and scikit-learn's own
# dependencies (numpy: test_old_pickles skips under NumPy 1, which lacks numpy._core) and
# onnx (skl2onnx's), crowd-kit, which only the benchmark's comparison uses, and tomllib (the
# standard library's from Python 3.11).
NOT_IN_THE_EXTRA = {"numpy", "scipy", "sklearn", "skdnn", "threadpoolctl", "joblib", "onnx",
                    "crowdkit", "tomllib"}


def test_the_test_extra_installs_every_module_a_test_skips_without():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["optional-dependencies"]
    installed = {re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower().replace("_", "-")
                 for requirement in extras["test"]}
    skipped_without = {match.split(".")[0].replace("_", "-")
                       for path in (ROOT / "tests").glob("*.py")
                       for match in re.findall(r"importorskip\(\"([\w.]+)\"",
                                               path.read_text(encoding="utf-8"))}
    assert {"numpydoc", "lime", "pandas"} <= skipped_without  # the scan finds them
    missing = skipped_without - NOT_IN_THE_EXTRA - installed
    assert not missing, f"add {sorted(missing)} to the test extra of pyproject.toml"


def test_the_virtual_environment_the_readme_creates_is_ignored_by_git():
    assert "python -m venv .venv" in (ROOT / "README.md").read_text(encoding="utf-8")
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".venv/" in ignored


def test_the_readme_gives_the_suites_duration_and_a_quick_subset_that_exists():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert re.search(r"The whole test suite takes about \w+ minutes", text)
    quick = re.search(r"`python -m pytest ((?:tests/\S+\.py ?)+)` checks", text)
    assert quick, "the README names no quick subset of the tests"
    files = quick.group(1).split()
    assert all((ROOT / name).is_file() for name in files), files
