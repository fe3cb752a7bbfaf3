"""Write the intersphinx inventories the docs build reads, with no network.

CI has no network at build time, and ``-W`` turns an inventory that cannot be fetched into a
failed build. So the inventories live here, next to this script:

* ``numpy.inv``, ``scipy.inv``, ``sklearn.inv`` and ``lime.inv`` are built from the installed
  packages: every public class and function (and the classes' public methods) reachable from
  the package's public modules, with the URL each project's own Sphinx site gives it (for
  scikit-learn and SciPy the rule was checked against their published inventories: Debian's
  ``python-sklearn-doc`` 1.2.1 and ``python-scipy-doc`` 1.10.1).
* scikit-learn's glossary terms and user-guide labels, which its docstrings cite
  (``:term:`meta-estimator```, ``:ref:`metadata_routing```), come from its published inventory
  (Debian's ``python-sklearn-doc``), given as the first argument, plus the labels newer than it.
  NumPy's ``array_like`` term, which numpydoc links, is added by hand.
* ``python.inv`` is the inventory published with Python 3.11's documentation, as Debian ships
  it (``python3.11-doc``, ``/usr/share/doc/python3.11/html/objects.inv``).

To refresh them after upgrading a package (``apt-get download python-sklearn-doc``, then
``dpkg-deb -x`` it)::

    python docs/_inventories/make_inventories.py \
        x/usr/share/doc/python-sklearn-doc/html/objects.inv
"""

import importlib
import inspect
import pkgutil
import warnings
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _public_modules(package, skip=()):
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in ("tests", "testing", "conftest", "setup") for p in parts):
            continue
        if any(info.name.startswith(s) for s in skip):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield importlib.import_module(info.name)
        except Exception:  # noqa: BLE001  (a module that needs an optional dependency)
            continue


def _objects(modules):
    """{full name: role} for the public classes, functions and methods of ``modules``."""
    found = {}
    for module in modules:
        found.setdefault(module.__name__, "module")
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            full = f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                found.setdefault(full, "class")
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if inspect.isfunction(value) or isinstance(value, classmethod | staticmethod):
                        found.setdefault(f"{full}.{attr}", "method")
            elif callable(obj) and not inspect.ismodule(obj):
                found.setdefault(full, "function")
    return found


def _write(path, project, version, entries):
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n").encode()
    lines = "".join(f"{name} {role if ':' in role else 'py:' + role} 1 {uri} {display}\n"
                    for name, role, uri, display in sorted(e + ("-",) * (4 - len(e))
                                                           for e in entries))
    path.write_bytes(header + zlib.compress(lines.encode()))
    print(f"{path.name}: {len(entries)} entries ({project} {version})")


def _generated(found, prefix, renamed, method_pages=False):
    """Entries on autosummary's generated pages, ``prefix + name + .html#name``.

    A method is on its class's page unless ``method_pages``; ``renamed`` maps the functions
    whose page name would clash, ignoring case, with a class's (``autosummary_filename_map``).
    """
    entries = []
    for name, role in found.items():
        if role == "module":
            continue
        page = name.rsplit(".", 1)[0] if role == "method" and not method_pages else name
        entries.append((name, role, f"{prefix}{renamed.get(name, page)}.html#{name}"))
    return entries


def _published(path, roles=("std:term", "std:label")):
    """The entries of ``roles`` in a published inventory (terms and labels of the prose)."""
    import posixpath

    from sphinx.util.inventory import InventoryFile

    with open(path, "rb") as f:
        inventory = InventoryFile.load(f, "", posixpath.join)
    return [(name, role, item.uri, item.display_name)
            for role in roles for name, item in inventory.get(role, {}).items()]


def main(sklearn_published=None):
    import lime
    import numpy
    import scipy
    import sklearn

    found = _objects(_public_modules(sklearn, skip=("sklearn.externals",)))
    renamed = {f"sklearn.{n}": n.rsplit(".", 1)[1] + "-function"
               for n in ("cluster.dbscan", "covariance.oas", "decomposition.fastica")}
    entries = _generated(found, "modules/generated/", renamed)
    entries += [(n, "module", f"api/{n}.html") for n, r in found.items() if r == "module"]
    if sklearn_published:
        entries += _published(sklearn_published)
    entries += [("metadata_routing", "std:label", "metadata_routing.html#metadata-routing",
                 "Metadata Routing"),
                ("callbacks", "std:label", "callbacks.html#callbacks", "Callbacks")]
    _write(HERE / "sklearn.inv", "scikit-learn", sklearn.__version__, entries)

    np_modules = [numpy] + [importlib.import_module(f"numpy.{m}") for m in
                            ("linalg", "fft", "random", "ma", "polynomial", "testing", "lib")]
    found = _objects(np_modules)
    entries = []
    for name, role in found.items():
        if role == "module":
            entries.append((name, role, f"reference/routines.{name[6:] or 'html'}.html"
                            if name != "numpy" else "reference/index.html"))
        elif name.startswith("numpy.random.") and name.split(".")[2][:1].isupper():
            # numpy.random's classes have pages of their own, not generated ones.
            cls = name.split(".")[2]
            page = {"Generator": "generator", "RandomState": "legacy"}.get(
                cls, "bit_generators/index")
            entries.append((name, role, f"reference/random/{page}.html#{name}"))
        else:
            owner = name.rsplit(".", 1)[0] if role == "method" else name
            entries.append((name, role, f"reference/generated/{owner}.html#{name}"))
    entries.append(("numpy.random.default_rng", "function",
                    "reference/random/generator.html#numpy.random.default_rng"))
    entries += [(term, "std:term", f"glossary.html#term-{term}")
                for term in ("array_like", "array-like", "ufunc", "broadcast", "C order")]
    entries = list({e[:2]: e for e in entries}.values())
    _write(HERE / "numpy.inv", "NumPy", numpy.__version__, entries)

    found = _objects(_public_modules(scipy))
    renamed = {"scipy.odr.odr": "odr-function", "scipy.signal.czt": "czt-function"}
    entries = _generated(found, "reference/generated/", renamed, method_pages=True)
    entries += [(n, "module", f"reference/{n[6:] or 'index'}.html#module-{n}")
                for n, r in found.items() if r == "module"]
    _write(HERE / "scipy.inv", "SciPy", scipy.__version__, entries)

    found = _objects(_public_modules(lime))
    entries = [(n, r, f"lime.html#{'module-' if r == 'module' else ''}{n}")
               for n, r in found.items()]
    _write(HERE / "lime.inv", "lime", getattr(lime, "__version__", "0.2"), entries)


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
