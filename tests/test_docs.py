"""Documentation as scikit-learn writes it: every public parameter of every estimator has an
entry of its own with a type, a default and a description, and every public method says
what it takes and what it returns."""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skdnn

ESTIMATORS = [obj for obj in vars(skdnn).values()
              if inspect.isclass(obj) and hasattr(obj, "get_params")]


def _section(doc, title):
    """The entries of a numpydoc section: {name: description lines}."""
    doc = inspect.cleandoc(doc)
    match = re.search(rf"^{title}\n-+\n(.*?)(?=\n\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    entries, name = {}, None
    for line in (match.group(1) if match else "").splitlines():
        if line and not line.startswith(" "):
            name, _, kind = line.partition(" : ")
            entries[name] = [kind]
        elif name is not None and line.strip():
            entries[name].append(line.strip())
    return entries


def test_every_estimator_is_checked():
    assert {est.__name__ for est in ESTIMATORS} >= {"MLPClassifierFromScratch",
                                                    "PerceptronClassifier"}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: est.__name__)
def test_every_parameter_has_its_own_entry_with_type_default_and_description(estimator):
    entries = _section(estimator.__doc__, "Parameters")
    for name in inspect.signature(estimator).parameters:
        assert name in entries, f"{estimator.__name__}: {name} has no entry of its own"
        kind, *description = entries[name]
        assert "default=" in kind, f"{estimator.__name__}.{name}: no default in {kind!r}"
        assert description, f"{estimator.__name__}.{name} has a type and no description"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: est.__name__)
def test_public_methods_say_what_they_take_and_return(estimator):
    for name in ["fit", "partial_fit", "predict", "predict_proba", "predict_log_proba",
                 "decision_function"]:
        method = getattr(estimator, name, None)
        if method is None or not callable(method):
            continue
        doc = inspect.getdoc(method) or ""
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        entries = _section(doc, "Parameters")
        assert all(p in entries for p in params), f"{estimator.__name__}.{name}: {doc!r}"
        assert _section(doc, "Returns"), f"{estimator.__name__}.{name} documents no return"


# -- The code on the pages runs ------------------------------------------------------------
# Every ```python block of the README and of the site's Markdown pages runs, and every
# ```pycon block is a doctest whose output is checked: the blocks of a page run in order, in
# one fresh interpreter, so each page defines everything it uses. A page whose code needs an
# optional dependency that is not installed is skipped, naming it.

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(python|pycon)[^\n]*\n(.*?)^```", re.M | re.S)

DRIVER = r'''
import doctest, json, sys, warnings
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
class Skip(Exception):
    pass
def optional(exc):
    """The name of a missing module that is not skdnn's, else None."""
    name = getattr(exc, "name", None) or ""
    if isinstance(exc, ImportError) and name and not name.startswith("skdnn"):
        return name
    if isinstance(exc, ImportError) and "sklearn.callback" in str(exc):
        return "sklearn.callback"
    return None
class Runner(doctest.DocTestRunner):
    def report_unexpected_exception(self, out, test, example, exc_info):
        if optional(exc_info[1]):
            raise Skip(optional(exc_info[1]))
        super().report_unexpected_exception(out, test, example, exc_info)
flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
runner = Runner(optionflags=flags)
# The warnings a reader running the blocks would see printed: Python's default filters, the
# ones a block sets itself, and none that a block catches.
shown = warnings.catch_warnings(record=True)
caught = shown.__enter__()
try:
    for kind, line, code in blocks:
        if kind == "python":
            try:
                exec(compile(code, f"{sys.argv[1]}:{line}", "exec"), namespace)
            except ImportError as exc:
                if not optional(exc):
                    raise
                raise Skip(optional(exc))
        else:
            test = doctest.DocTestParser().get_doctest(code, namespace, sys.argv[1],
                                                       sys.argv[1], line)
            runner.run(test, clear_globs=False)
            namespace = test.globs  # a DocTest runs in a copy of the namespace it is given
except Skip as skip:
    print(f"SKIP needs {skip}")
    sys.exit(0)
for w in caught:
    print("SHOWN-WARNING", json.dumps({"category": w.category.__name__, "message": str(w.message),
                                       "where": f"{w.filename}:{w.lineno}"}))
sys.exit(1 if runner.failures else 0)
'''


# Pages whose blocks still print an unexplained ConvergenceWarning, and which other work on
# issue 31 is changing: tabnet.md (TabNet's defaults, point 4). Take each out of this set
# when that work lands.
WARNINGS_PENDING = set()


def page_blocks(page):
    """The page's ```python and ```pycon blocks, as (kind, line, code), in order."""
    text = page.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start()) + 1, m.group(2))
            for m in FENCE.finditer(text)]


@pytest.mark.parametrize("page", [p for p in PAGES if page_blocks(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_code_blocks_of_a_page_run_in_order_in_a_fresh_interpreter(page, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    blocks = page_blocks(page)
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", DRIVER, page.name],
        input=json.dumps(blocks), cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600,
    )
    if result.returncode == 0 and result.stdout.startswith("SKIP needs "):
        pytest.skip(f"{page.name}: {result.stdout.strip()}")
    assert result.returncode == 0, f"{page.name}:\n{result.stdout}\n{result.stderr[-3000:]}"
    if page.name not in WARNINGS_PENDING:
        # A warning the blocks let through is printed to a reader who runs them: the page
        # must say what it is (name its category), or use settings that do not warn.
        text = page.read_text(encoding="utf-8")
        unexplained = [shown for shown in shown_warnings(result.stdout)
                       if shown["category"] not in text]
        assert not unexplained, f"{page.name} prints warnings it does not explain: {unexplained}"


def shown_warnings(stdout):
    """The warnings the driver reports a reader would see, as dicts."""
    return [json.loads(line.split(" ", 1)[1]) for line in stdout.splitlines()
            if line.startswith("SHOWN-WARNING ")]


def test_the_warnings_a_page_lets_through_are_reported(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nimport warnings\nwarnings.warn('seen', UserWarning)\n"
                    "with warnings.catch_warnings():\n"
                    "    warnings.simplefilter('ignore')\n"
                    "    warnings.warn('caught by the block', UserWarning)\n```\n")
    result = subprocess.run([sys.executable, "-c", DRIVER, "page.md"],
                            input=json.dumps(page_blocks(page)), capture_output=True, text=True)
    assert result.returncode == 0
    assert [(w["category"], w["message"]) for w in shown_warnings(result.stdout)] == [
        ("UserWarning", "seen")]


def test_a_failing_block_fails_the_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n")
    result = subprocess.run([sys.executable, "-c", DRIVER, "page.md"],
                            input=json.dumps(page_blocks(page)), capture_output=True, text=True)
    assert result.returncode == 1 and "Expected:" in result.stdout


# -- The API reference lists every public name -------------------------------------------

API_INDEX = ROOT / "docs" / "api" / "index.rst"
PUBLIC_MODULES = ["skdnn", "skdnn.explain", "skdnn.plot", "skdnn.onnx", "skdnn.nn"]


def api_entries():
    """{module: names listed in its autosummary tables} of ``docs/api/index.rst``."""
    entries, module, in_table = {}, None, False
    for line in API_INDEX.read_text(encoding="utf-8").splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            entries.setdefault(module, set()).add(line.strip())
        elif line and not line.startswith(" "):
            in_table = False
    return entries


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_of_all_has_an_api_reference_entry(module_name):
    module = pytest.importorskip(module_name)
    listed = api_entries().get(module_name, set())
    missing = set(module.__all__) - listed
    extra = listed - set(module.__all__)
    assert not missing, f"{module_name}: add {sorted(missing)} to docs/api/index.rst"
    assert not extra, f"{module_name}: {sorted(extra)} are listed but not in __all__"


# -- The table of extras is pyproject.toml's ------------------------------------------------


def _distribution(requirement):
    """``"dask[array]>=2024.1"`` -> ``"dask"``, normalised as pip compares names."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def install_page_extras():
    """{extra: distribution names} of the table in ``docs/install.md``.

    A cell lists names, and may say "every extra above", optionally "but `name`": the union of
    the rows above it, but that one."""
    extras = {}
    text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    for extra, installs in re.findall(r"^\| `([\w-]+)` \| ([^|]*) \|", text, re.M):
        names = set()
        for item in (item.strip() for item in installs.split(",")):
            above = re.fullmatch(r"every extra above(?: but `([\w-]+)`)?", item)
            if above:
                names |= set().union(*(v for k, v in extras.items() if k != above.group(1)))
            else:
                names.add(_distribution(item))
        extras[extra] = names
    return extras


def test_the_install_page_lists_every_extra_of_pyproject_with_what_it_installs():
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as file:
        declared = tomllib.load(file)["project"]["optional-dependencies"]
    declared = {extra: {_distribution(r) for r in reqs} for extra, reqs in declared.items()}
    listed = install_page_extras()
    assert listed.keys() == declared.keys(), "docs/install.md's table of extras"
    for extra in declared:
        assert listed[extra] == declared[extra], (
            f"docs/install.md says the {extra!r} extra installs {sorted(listed[extra])}; "
            f"pyproject.toml: {sorted(declared[extra])}")


# -- The README is a front page --------------------------------------------------------------

def test_the_readme_is_a_front_page_without_commit_hashes_or_suite_timings():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    hashes = re.findall(r"(?<![\w.])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}(?![\w.])", text)
    assert not hashes, f"commit hashes in the README: {hashes}"
    timings = re.findall(r"\d[\d,]* (?:tests|passed)\b[^.]*?\bin \d", text)
    assert not timings, f"suite timings in the README: {timings}"
    for command in ["python -m skdnn", "python -m pytest",
                    "python -m sphinx -W -b html docs docs/_build/html"]:
        assert command in text


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_html_representation_links_to_the_api_page_of_the_docs_site(estimator):
    from skdnn._docs import DOCS_URL

    page = f"{DOCS_URL}api/generated/skdnn.{estimator.__name__}.html"
    assert estimator()._get_doc_link() == page
    assert f'href="{page}"' in estimator()._repr_html_()


# -- numpydoc validation, with the checks scikit-learn enforces ------------------------------
# scikit-learn's sklearn/tests/test_docstrings.py runs every numpydoc check on its public
# classes, their methods and its functions, except RT02, GL01 and GL02, PR02 and GL08 for
# properties, and EX01, SA01 and ES01 anywhere but a class's own docstring. The same here, on
# every name of each public module's __all__ and the public methods skdnn defines for them
# (the methods inherited from scikit-learn are scikit-learn's to check).


def _numpydoc_errors(errors, method, klass=None):
    """scikit-learn's ``filter_errors``."""
    for code, message in errors:
        if code in ("RT02", "GL01", "GL02"):
            continue
        if (code in ("PR02", "GL08") and klass is not None and method is not None
                and isinstance(getattr(klass, method), property)):
            continue
        if method is not None and code in ("EX01", "SA01", "ES01"):
            continue
        yield code, message


def _documented(module_name, module):
    """(import path, method name or None or "function", class or None) of the public API."""
    for name in module.__all__:
        obj = getattr(module, name)
        path = f"{module_name}.{name}"
        if inspect.isclass(obj):
            yield path, None, obj
            for attr in sorted(dir(obj)):
                member = inspect.getattr_static(obj, attr)
                if isinstance(member, property):
                    function = member.fget
                else:  # what the class gives: the function of a method, classmethod or wrapper
                    function = getattr(obj, attr, None)
                    function = getattr(function, "__func__", function)
                if (attr.startswith("_") or not callable(function)
                        or not getattr(function, "__module__", "").startswith("skdnn")):
                    continue
                yield f"{path}.{attr}", attr, obj
        elif inspect.isfunction(obj):
            yield path, "function", None


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_docstrings_pass_numpydoc_validation_as_scikit_learn_checks_its_own(module_name):
    validate = pytest.importorskip("numpydoc.validate").validate
    module = pytest.importorskip(module_name)
    failures = []
    for path, method, klass in _documented(module_name, module):
        errors = list(_numpydoc_errors(validate(path)["errors"], method, klass))
        failures += [f"{path}: {code} {message}" for code, message in errors]
    assert not failures, "\n".join(failures)
