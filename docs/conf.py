"""Sphinx configuration of skdnn's documentation site.

Build it from the repository root, after ``pip install -e ".[docs]"``::

    python -m sphinx -W -b html docs docs/_build/html

The build needs no network: the intersphinx inventories are files in ``docs/_inventories``
(see ``make_inventories.py`` there). The gallery runs every script in ``examples/``. Nor does
the site: it loads no script, stylesheet or font from another host (MathJax is a copy the
``sphinx-mathjax-offline`` package ships), so it reads the same opened from disk. CI checks
that, and every local link of the site, with ``python docs/check_site.py docs/_build/html``.
"""

import ast
import os
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# This checkout's skdnn, whatever is installed.
sys.path.insert(0, str(ROOT))

import skdnn  # noqa: E402

project = "skdnn"
author = "the skdnn developers"
copyright = "skdnn developers (BSD-3-Clause)"
release = skdnn.__version__  # the one place the version is written
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 from the package, copied into _static/mathjax/ (it sets mathjax_path): the
    # default loads it from a CDN, and pages opened offline showed raw LaTeX.
    "sphinx-mathjax-offline",
    "sphinx.ext.extlinks",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates", "_inventories", "**.ipynb_checkpoints",
                    "auto_examples/*.md5", "auto_examples/*.py", "auto_examples/*.ipynb",
                    "auto_examples/*.zip", "auto_examples/*.json"]
templates_path = ["_templates"]
default_role = "literal"
add_function_parentheses = False

# -- Markdown (MyST) -----------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# Pages written for GitHub link to the repository's files (README.md, benchmarks/...);
# those are not documents of the site.
suppress_warnings = ["myst.xref_missing"]

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
# No autodoc_default_options: the templates in _templates/autosummary say which members each
# page documents. A default "members" also filled api/index.html, whose automodule directives
# ask for ``:no-members:`` (which Sphinx 9 does not apply against the default), with a second,
# unindexed copy of every class, and viewcode's [docs] links pointed at its missing anchors.
autodoc_typehints = "none"
toc_object_entries_show_parents = "hide"  # "fit", not "MLPClassifierFromScratch.fit"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "Generator": "numpy.random.Generator",
    "RandomState": "numpy.random.RandomState",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "FrozenEstimator": "sklearn.frozen.FrozenEstimator",
}

# -- Links to other projects' docs, from local inventories (CI has no network) ------------
_INV = DOCS / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(_INV / "python.inv")),
    "numpy": ("https://numpy.org/doc/stable", str(_INV / "numpy.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy", str(_INV / "scipy.inv")),
    "sklearn": ("https://scikit-learn.org/stable", str(_INV / "sklearn.inv")),
    "lime": ("https://lime-ml.readthedocs.io/en/latest", str(_INV / "lime.inv")),
}
extlinks = {
    "skl2onnx": ("https://onnx.ai/sklearn-onnx/api_summary.html#%s", "%s"),
    "skops": ("https://skops.readthedocs.io/en/stable/modules/classes.html#%s", "%s"),
}

# -- Gallery --------------------------------------------------------------------------
# The examples write their PNGs to $SKDNN_EXAMPLES_OUT (default: examples/images/, the
# committed figures). In the build they go to a scratch folder; sphinx-gallery's scraper
# takes the figures from matplotlib itself.
os.environ["SKDNN_EXAMPLES_OUT"] = tempfile.mkdtemp(prefix="skdnn-gallery-")
os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Every script is an example, plot_* or not (export_onnx.py, scale_out_dask.py).
    "filename_pattern": r"/[^_][^/]*\.py$",
    "ignore_pattern": r"/_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdnn",),
    "reference_url": {"skdnn": None},
    "backreferences_dir": "gen_modules/backreferences",
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    # The page of execution times loads jQuery and DataTables from CDNs: the site must work
    # offline, and the times say more about the machine than about the examples.
    "write_computation_times": False,
}

# -- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdnn {release}"
html_static_path = ["_static"]
html_css_files = ["skdnn.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages with no sub-pages need no section navigation.
html_sidebars = {page: [] for page in ["index", "engine", "benchmarks", "whats_new",
                                       "architecture"]}
html_show_sourcelink = True


# -- Source pages (viewcode) ------------------------------------------------------------


def _definitions(source):
    """{qualified name: ("def" or "class", first line, last line)} of a module's functions,
    classes and methods, from Python's own parser: the tags viewcode needs."""
    tags = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + node.name
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                kind = "class" if isinstance(node, ast.ClassDef) else "def"
                tags[name] = (kind, first, node.end_lineno)
                if kind == "class":
                    visit(node.body, name + ".")

    visit(ast.parse(source).body, "")
    return tags


def _viewcode_source(app, modname):
    """The code and definitions of a module whose source Sphinx's own parser cannot read.

    ``sphinx.pycode`` fails on a decorator whose dict literal unpacks another
    (``@validate_params({**common, "n_steps": [...]})``, in skdnn/explain/_gradients.py): viewcode
    then writes no page for the module but links to it from _modules/index.html, and its
    functions get no [source] link. Python's ``ast`` reads it; other modules keep Sphinx's way.
    """
    from sphinx.errors import PycodeError
    from sphinx.pycode import ModuleAnalyzer

    try:
        ModuleAnalyzer.for_module(modname).find_tags()
        return None
    except PycodeError:
        try:
            _, code = ModuleAnalyzer.get_module_source(modname)
            return code, _definitions(code)
        except (PycodeError, SyntaxError):
            return None


def setup(app):
    app.connect("viewcode-find-source", _viewcode_source)
