"""Check a built HTML site: every local link resolves, and no page loads anything from the network.

Run it on the output of the Sphinx build (CI does, right after building)::

    python docs/check_site.py docs/_build/html

Two kinds of problem are reported, one line each, and the exit status is 1 if there is any:

* **a broken local link**: an ``href`` or ``src`` of a page (a link, a script, a stylesheet, an
  image, a download) or a ``url(...)`` of a stylesheet that names a file the site does not
  have, or a ``#fragment`` that is no ``id`` (nor ``<a name>``) of the page it points at;
* **a load from the network**: a script, stylesheet, font, image or frame that a page or a
  stylesheet fetches from another host (``http:``, ``https:`` or ``//host``), so the site
  opened from disk, with no network, would miss it (MathJax from a CDN showed raw LaTeX).

Links that a reader follows to another site (``<a href="https://...">``) are not loads and are
not checked. HTML files under ``_static/`` are assets, not pages (pydata-sphinx-theme copies its
Jinja macros there as ``webpack-macros.html``): links into ``_static/`` are checked, its files'
own links are not. Only the standard library is used, so the check needs no extra.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Attributes whose URL a browser fetches by itself, when the page loads.
LOADED = {("script", "src"), ("img", "src"), ("iframe", "src"), ("embed", "src"),
          ("source", "src"), ("audio", "src"), ("video", "src"), ("video", "poster"),
          ("object", "data"), ("input", "src"), ("track", "src")}
# Attributes whose URL a reader follows.
FOLLOWED = {("a", "href"), ("area", "href")}
# <link rel="..."> values that make the browser fetch the href.
LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
                "apple-touch-icon", "manifest", "mask-icon"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]*)\3""")


def is_remote(url):
    """Whether ``url`` names another host: ``http:``, ``https:``, ``//host/...``."""
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https")


def is_local(url):
    """Whether ``url`` is a path of this site (not ``mailto:``, ``data:``, ``javascript:``)."""
    return not url.startswith("//") and not urlsplit(url).scheme


class Page(HTMLParser):
    """The ids of one HTML page, the URLs it links to or loads, and its inline styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.urls = []  # (line, what, url, loaded)
        self.styles = []  # (line, css text)
        self._style_line = None

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attrs = {name: value or "" for name, value in attrs}
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "name" in attrs:
            self.ids.add(attrs["name"])
        if tag == "link" and "href" in attrs:
            rels = set(attrs.get("rel", "").lower().split())
            self.urls.append((line, f"<link rel={attrs.get('rel', '')}>", attrs["href"],
                              bool(rels & LOADING_RELS)))
        for name in ("href", "src", "data", "poster"):
            if name in attrs and ((tag, name) in LOADED or (tag, name) in FOLLOWED):
                self.urls.append((line, f"<{tag} {name}>", attrs[name], (tag, name) in LOADED))
        if "srcset" in attrs:
            for candidate in attrs["srcset"].split(","):
                if candidate.strip():
                    self.urls.append((line, f"<{tag} srcset>", candidate.split()[0], True))
        if "style" in attrs:
            self.styles.append((line, attrs["style"]))
        if tag == "style":
            self._style_line = line

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "style":
            self._style_line = None

    def handle_endtag(self, tag):
        if tag == "style":
            self._style_line = None

    def handle_data(self, data):
        if self._style_line is not None:
            self.styles.append((self._style_line, data))


def css_urls(css):
    """The URLs a stylesheet loads: its ``url(...)`` and ``@import "..."``."""
    for match in CSS_URL.finditer(css):
        url = match.group(2) if match.group(2) is not None else match.group(4)
        if url.strip():
            yield css.count("\n", 0, match.start()) + 1, url.strip()


class Site:
    """A built site on disk, its pages parsed once each."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self._pages = {}

    def page(self, path):
        if path not in self._pages:
            parser = Page()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parser.close()
            self._pages[path] = parser
        return self._pages[path]

    def target(self, source, url):
        """(file, fragment) that the local ``url`` of the file ``source`` points at."""
        parts = urlsplit(url)
        path = unquote(parts.path)
        if not path:
            return source, unquote(parts.fragment)
        base = self.root if path.startswith("/") else source.parent
        return (base / path.lstrip("/")).resolve(), unquote(parts.fragment)

    def problem(self, source, url, html_target):
        """What is wrong with the local ``url`` of ``source``, or None."""
        target, fragment = self.target(source, url)
        if not target.is_relative_to(self.root):
            return "points outside the site"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return "no such file"
        if fragment and html_target and target.suffix == ".html":
            if fragment not in self.page(target).ids:
                return f"no id {fragment!r} in {target.relative_to(self.root)}"
        return None

    def check_css(self, source, line0, css):
        for line, url in css_urls(css):
            where = f"{source.relative_to(self.root)}:{line0 + line - 1}"
            if is_remote(url):
                yield f"{where}: url({url}) loads from the network"
            elif is_local(url):
                reason = self.problem(source, url, html_target=False)
                if reason:
                    yield f"{where}: url({url}) {reason}"

    def pages(self):
        """The site's HTML pages: every .html file but the assets under _static/."""
        return [path for path in sorted(self.root.rglob("*.html"))
                if path.relative_to(self.root).parts[0] != "_static"]

    def problems(self):
        """Every problem of the site, as 'file:line: what'."""
        for path in self.pages():
            page = self.page(path)
            rel = path.relative_to(self.root)
            for line, what, url, loaded in page.urls:
                url = url.strip()
                if loaded and is_remote(url):
                    yield f"{rel}:{line}: {what} {url} loads from the network"
                elif is_local(url) and url:
                    reason = self.problem(path, url, html_target=True)
                    if reason:
                        yield f"{rel}:{line}: {what} {url} {reason}"
            for line, css in page.styles:
                yield from self.check_css(path, line, css)
        for path in sorted(self.root.rglob("*.css")):
            yield from self.check_css(path, 1, path.read_text(encoding="utf-8", errors="replace"))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        print("usage: python docs/check_site.py BUILT_HTML_DIRECTORY", file=sys.stderr)
        return 2
    site = Site(argv[0])
    n_pages = len(site.pages())
    if not n_pages:
        print(f"{site.root} has no HTML page: build the site first", file=sys.stderr)
        return 2
    problems = list(site.problems())
    for problem in problems:
        print(problem)
    print(f"{n_pages} pages checked: {len(problems)} problems "
          "(broken local links, loads from the network)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
