"""docs/check_site.py, the check CI runs over the built documentation site: it reports every
local link that names a missing file or anchor, and every script, stylesheet, font or image
that a page would fetch from the network."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs" / "check_site.py")
check_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_site)


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def problems(root):
    """{(file, url): reason} of the site."""
    found = {}
    for line in check_site.Site(root).problems():
        where, _, what = line.partition(": ")
        found[where.rsplit(":", 1)[0], what] = line
    return found


def test_links_to_missing_files_and_anchors_are_reported_and_good_ones_are_not(tmp_path):
    site = write(tmp_path / "html", {
        "index.html": """<html><body id="top">
<a href="api/a.html">a</a> <a href="api/a.html#sec">sec</a> <a href="#top">top</a>
<a href="api/a.html#old">an old-style anchor</a>
<a href="api/a.html#skdnn.Missing">gone</a> <a href="nope.html">nope</a> <a href="#gone">here</a>
<a href="api/">directory with an index</a> <a href="api/a%20b.html#x%20y">quoted</a>
<img src="_images/missing.png"> <link rel="stylesheet" href="_static/s.css?v=1f2e">
<a href="../outside.html">out</a> <a href="https://example.org/page#any">external</a>
<a href="mailto:someone@example.org">mail</a> <a href="#">top of page</a>
</body></html>""",
        "api/index.html": "<p>api</p>",
        "api/a.html": '<h1 id="sec">A</h1><a name="old"></a>',
        "api/a b.html": '<p id="x y"></p>',
        "_static/s.css": "body { color: black }",
    })
    (tmp_path / "outside.html").write_text("<p>not part of the site</p>")
    assert set(problems(site)) == {
        ("index.html", "<a href> api/a.html#skdnn.Missing no id 'skdnn.Missing' in api/a.html"),
        ("index.html", "<a href> nope.html no such file"),
        ("index.html", "<a href> #gone no id 'gone' in index.html"),
        ("index.html", "<img src> _images/missing.png no such file"),
        ("index.html", "<a href> ../outside.html points outside the site"),
    }


def test_loads_from_the_network_are_reported_and_links_to_other_sites_are_not(tmp_path):
    site = write(tmp_path, {
        "page.html": """<html><head>
<script defer src="https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"></script>
<link rel="stylesheet" href="//cdn.example.org/theme.css">
<link rel="preload" as="font" href="http://fonts.example.org/f.woff2">
<link rel="canonical" href="https://skdnn.example.org/page.html">
<style>@font-face { font-family: f; src: url('https://fonts.example.org/g.woff2') }</style>
<script>var x = "https://not-loaded.example.org/in-a-string.js";</script>
</head><body><a href="https://scikit-learn.org/stable/">scikit-learn</a>
<img srcset="https://img.example.org/a.png 1x, local.png 2x"></body></html>""",
        "local.png": "",
        "_static/theme.css": """@import url("https://fonts.example.org/css?family=X");
@font-face { src: url(fonts/here.woff2) format("woff2"), url(fonts/gone.woff2) }
.icon { background: url("data:image/svg+xml;utf8,<svg></svg>") }""",
        "_static/fonts/here.woff2": "",
    })
    assert set(problems(site)) == {
        ("page.html", "<script src> https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"
                      " loads from the network"),
        ("page.html", "<link rel=stylesheet> //cdn.example.org/theme.css loads from the network"),
        ("page.html", "<link rel=preload> http://fonts.example.org/f.woff2 loads from the network"),
        ("page.html", "url(https://fonts.example.org/g.woff2) loads from the network"),
        ("page.html", "<img srcset> https://img.example.org/a.png loads from the network"),
        ("_static/theme.css", "url(https://fonts.example.org/css?family=X) loads from the network"),
        ("_static/theme.css", "url(fonts/gone.woff2) no such file"),
    }


def test_html_files_among_the_static_assets_are_not_pages(tmp_path):
    # pydata-sphinx-theme copies its Jinja macros to _static/webpack-macros.html.
    site = write(tmp_path, {
        "index.html": '<script src="_static/webpack-macros.html"></script>',
        "_static/webpack-macros.html": "<script src=\"{{ pathto('_static/x.js', 1) }}\"></script>",
    })
    assert problems(site) == {}


@pytest.mark.parametrize("page, status", [('<a href="#here" id="here">ok</a>', 0),
                                          ('<a href="missing.html">broken</a>', 1)])
def test_the_exit_status_says_whether_the_site_has_a_problem(tmp_path, capsys, page, status):
    write(tmp_path, {"index.html": page})
    assert check_site.main([str(tmp_path)]) == status
    assert f"1 pages checked: {status} problems" in capsys.readouterr().out


def test_a_directory_with_no_page_is_an_error_not_a_pass(tmp_path, capsys):
    assert check_site.main([str(tmp_path)]) == 2
    assert "build the site first" in capsys.readouterr().err
    assert check_site.main([str(tmp_path / "missing")]) == 2
