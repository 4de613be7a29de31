"""The course website's builder (tools/build_site.py, tools/site_pages.py, tools/site_check.py,
site/_ext/offline_math.py): link rewriting, README extraction, the refusal when executed notebooks
are missing, staging from a tiny fake set of executed notebooks, the built-site checks, and one tiny
Sphinx build. The full site is built by `make site` and tested in a browser by tests/browser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from course_lib import catalogue
from course_lib.catalogue import NotebookMeta
from course_lib.environment import repository_root

ROOT = repository_root()
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "site" / "_ext"))

import build_site  # noqa: E402
import offline_math  # noqa: E402
import site_pages  # noqa: E402
from site_check import check_site  # noqa: E402

REPO = "https://github.com/owner/course"
# sphinx-book-theme and myst-parser use APIs that Sphinx 9 deprecates: not this project's to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Check CHANGES for Sphinx API")
PAGES = {"notebooks/01_a.ipynb", "docs/glossary.md", "running.md"}


# ------------------------------------------------------------------ link rewriting
@pytest.mark.parametrize("target, expected", [
    ("../docs/glossary.md#adam", "../docs/glossary.md#adam"),             # a page of the site: kept
    ("01_a.ipynb", "01_a.ipynb"),                                          # sibling notebook page
    ("#setup", "#setup"),                                                  # same page
    ("https://example.org/x", "https://example.org/x"),                    # the web
    ("mailto:a@b.c", "mailto:a@b.c"),
    ("../course_lib/results.py", f"{REPO}/blob/main/course_lib/results.py"),
    ("../README.md#data", f"{REPO}/blob/main/README.md#data"),
    ("../binder/", f"{REPO}/tree/main/binder"),
    ("02_coming.ipynb", f"{REPO}/blob/main/notebooks/02_coming.ipynb"),   # no page (not executed)
    ("../", REPO),
])
def test_resolve_link_from_a_notebook(target, expected):
    assert site_pages.resolve_link(target, "notebooks/01_a.ipynb", PAGES, REPO) == expected


def test_resolve_link_copied_text_sends_anchors_to_its_source():
    readme = site_pages.github_url(REPO, "README.md")
    assert site_pages.resolve_link("#tests", "README.md", PAGES, REPO, self_url=readme) == f"{REPO}/blob/main/README.md#tests"
    assert site_pages.resolve_link("docs/glossary.md#f1", "README.md", PAGES, REPO, self_url=readme) == "docs/glossary.md#f1"


def test_resolve_link_refuses_paths_outside_the_repository_and_bad_input():
    with pytest.raises(ValueError, match="notebooks/01_a.ipynb.*outside the repository"):
        site_pages.resolve_link("../../etc/passwd", "notebooks/01_a.ipynb", PAGES, REPO)
    with pytest.raises(ValueError, match="source"):
        site_pages.resolve_link("x.md", "/abs/file.md", PAGES, REPO)
    with pytest.raises(TypeError, match="target"):
        site_pages.resolve_link(3, "README.md", PAGES, REPO)
    with pytest.raises(ValueError, match="repository"):
        site_pages.github_url("github.com/owner/course", "README.md")


def test_rewrite_links_changes_links_only_outside_code():
    text = ("See [the ledger](../course_lib/results.py) and [Adam](../docs/glossary.md#adam).\n"
            "![figure](../docs/fig.png \"a title\")\n"
            "Inline `[not a link](../x.py)` stays.\n"
            "```python\n[also not](../y.py)\n```\n"
            "[ref]: ../tests/test_x.py\n")
    out = site_pages.rewrite_links(text, "notebooks/01_a.ipynb", PAGES, REPO)
    assert f"[the ledger]({REPO}/blob/main/course_lib/results.py)" in out
    assert "[Adam](../docs/glossary.md#adam)" in out
    assert f'![figure]({REPO}/blob/main/docs/fig.png "a title")' in out
    assert "`[not a link](../x.py)`" in out
    assert "[also not](../y.py)" in out
    assert f"[ref]: {REPO}/blob/main/tests/test_x.py" in out
    assert out.count("\n") == text.count("\n")
    with pytest.raises(TypeError, match="markdown"):
        site_pages.rewrite_links(None, "README.md", PAGES, REPO)


# ------------------------------------------------------------------ notebooks staged for the site
def _notebook(outputs: list | None = None, markdown: str = "# Title\n") -> dict:
    return {"cells": [{"id": "m1", "cell_type": "markdown", "metadata": {}, "source": [markdown]},
                      {"id": "c1", "cell_type": "code", "metadata": {}, "execution_count": 1, "source": "x = 1",
                       "outputs": outputs if outputs is not None else []}],
            "metadata": {"widgets": {"state": {}}}, "nbformat": 4, "nbformat_minor": 5}


def test_stage_notebook_drops_widget_views_and_rewrites_links():
    widget = {"output_type": "display_data", "metadata": {},
              "data": {site_pages.WIDGET_MIME: {"model_id": "1"}, "text/plain": ["progress 100%"]}}
    only_widget = {"output_type": "display_data", "metadata": {}, "data": {site_pages.WIDGET_MIME: {}}}
    original = _notebook([widget, only_widget], "[code](../course_lib/x.py)")
    staged = site_pages.stage_notebook(original, "notebooks/01_a.ipynb", PAGES, REPO)
    outputs = staged["cells"][1]["outputs"]
    assert [output["data"] for output in outputs] == [{"text/plain": ["progress 100%"]}]
    assert "widgets" not in staged["metadata"]
    assert staged["cells"][0]["source"] == f"[code]({REPO}/blob/main/course_lib/x.py)"
    assert site_pages.WIDGET_MIME in original["cells"][1]["outputs"][0]["data"]   # input untouched
    with pytest.raises(ValueError, match="notebooks/01_a.ipynb"):
        site_pages.stage_notebook({"nope": 1}, "notebooks/01_a.ipynb", PAGES, REPO)


# ------------------------------------------------------------------ README extraction
README = """# Course

## Quick start

```bash
# not a heading: a shell comment
make course
```

### Details

More.

## Colab and Binder

Click [a badge](#notebooks) or read [the docs](docs/glossary.md).

## Tests
"""


def test_readme_sections_cut_at_the_next_heading_of_the_same_level_in_the_order_asked():
    text = site_pages.readme_sections(README, ["Colab and Binder", "Quick start"])
    assert text.index("## Colab and Binder") < text.index("## Quick start")
    assert "# not a heading" in text and "### Details" in text and "More." in text
    assert "## Tests" not in text and "# Course" not in text
    with pytest.raises(ValueError, match="'Data'"):
        site_pages.readme_sections(README, ["Data"])
    with pytest.raises(TypeError, match="readme"):
        site_pages.readme_sections(b"bytes", ["Data"])


def test_the_running_page_comes_from_the_real_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = site_pages.running_page(readme, REPO, PAGES)
    for heading in site_pages.RUNNING_SECTIONS:
        assert f"## {heading}" in page
    assert "make course" in page and "COURSE_BUDGET" in page
    assert "](#" not in page          # README anchors point at the README on GitHub


# ------------------------------------------------------------------ refusal and staging
@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """A repository with two catalogue notebooks (01_a, 02_b) and a third that is coming (03_c)."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "docs").mkdir()
    for stem in ("01_a", "02_b"):
        (root / "notebooks" / f"{stem}.ipynb").write_text(json.dumps(_notebook()))
    (root / "README.md").write_text((ROOT / "README.md").read_text(encoding="utf-8"))
    (root / "docs" / "glossary.md").write_text("# Glossary\n\n## Adam\n\nAn optimizer.\n")
    monkeypatch.setattr(catalogue, "NOTEBOOKS", (
        NotebookMeta("01_a", "First", "tabular", "MLP", "logistic regression"),
        NotebookMeta("02_b", "Second", "images", "CNN", "HOG + SVM"),
        NotebookMeta("03_c", "Third", "text", "Transformer", "TF-IDF")))
    executed = tmp_path / "executed"
    executed.mkdir()
    return root, executed


def test_error_cells_are_found():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}
    notebook = _notebook([error])
    assert site_pages.error_cells(notebook) == [1]
    assert site_pages.error_cells(_notebook([])) == []


def test_missing_or_unexecuted_notebooks_are_named(fake_course):
    root, executed = fake_course
    output = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    (executed / "01_a.ipynb").write_text(json.dumps(_notebook([output])))
    assert build_site.executed_problems(executed, root) == [f"{executed / '02_b.ipynb'}: missing (notebook "
                                                            "notebooks/02_b.ipynb exists)"]
    (executed / "02_b.ipynb").write_text(json.dumps(_notebook([])))
    problems = build_site.executed_problems(executed, root)
    assert len(problems) == 1 and "02_b.ipynb: has no outputs" in problems[0]
    (executed / "02_b.ipynb").write_text("{not json")
    assert "not a readable notebook" in build_site.executed_problems(executed, root)[0]
    with pytest.raises(TypeError, match="executed"):
        build_site.executed_problems(str(executed), root)


def test_the_builder_refuses_to_build_without_executed_notebooks(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--executed",
                             str(tmp_path), "--out", str(tmp_path / "site"), "--src", str(tmp_path / "src")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "run `make course` first" in result.stderr
    for meta in catalogue.available(ROOT):
        assert f"{meta.stem}.ipynb: missing" in result.stderr
    assert not (tmp_path / "site").exists() and not (tmp_path / "src").exists()


def test_stage_mirrors_the_repository_and_lists_coming_notebooks(fake_course, tmp_path):
    root, executed = fake_course
    output = {"output_type": "display_data", "metadata": {},
              "data": {site_pages.WIDGET_MIME: {}, "text/plain": ["bar"]}}
    for stem in ("01_a", "02_b"):
        nb = _notebook([output], "[next](02_b.ipynb), [lib](../course_lib/x.py), [Adam](../docs/glossary.md#adam)")
        (executed / f"{stem}.ipynb").write_text(json.dumps(nb))
    src = tmp_path / "src"
    (src / "stale").mkdir(parents=True)
    staged = build_site.stage(executed, src, root=root, results=tmp_path / "no-results")
    assert staged["notebooks"] == ["01_a", "02_b"] and staged["coming"] == ["03_c"]
    assert not (src / "stale").exists()
    for page in ("index", "running", "scoreboard", "misconceptions", "licences"):
        assert (src / f"{page}.md").is_file(), page
    assert (src / "docs" / "glossary.md").is_file()
    assert "_Not generated yet" in (src / "docs" / "benchmarks.md").read_text()   # absent in the fake repo
    cell = json.loads((src / "notebooks" / "01_a.ipynb").read_text())["cells"][0]["source"]
    assert "[next](02_b.ipynb)" in cell and "[Adam](../docs/glossary.md#adam)" in cell
    assert "https://github.com/" in cell and "/blob/main/course_lib/x.py" in cell
    index = (src / "index.md").read_text()
    assert "[First](notebooks/01_a.ipynb)" in index and "[Second](notebooks/02_b.ipynb)" in index
    assert "Third _(coming)_" in index and "notebooks/03_c" not in index
    assert "notebooks/01_a\nnotebooks/02_b\n```" in index                      # the table of contents
    assert "No results yet" in (src / "scoreboard.md").read_text()
    assert "# Five misconceptions, judged" in (src / "misconceptions.md").read_text()


def test_the_misconceptions_page_calls_the_capstone_module_or_says_it_is_unavailable(monkeypatch):
    misconceptions = pytest.importorskip("course_lib.misconceptions")
    body, why = build_site._misconceptions_body({}, None)
    assert why == "" and all(m.claim in body for m in misconceptions.MISCONCEPTIONS)
    import course_lib

    monkeypatch.delattr(course_lib, "misconceptions", raising=False)
    monkeypatch.setitem(sys.modules, "course_lib.misconceptions", None)   # as if the file were absent
    body, why = build_site._misconceptions_body({}, None)
    assert body is None and "course_lib.misconceptions" in why
    page = site_pages.misconceptions_page(body, why)
    assert "unavailable" in page and why in page


# ------------------------------------------------------------------ the built-site checks
def _site(tmp_path, index: str, css: str = "") -> str:
    site = tmp_path / "site"
    (site / "notebooks").mkdir(parents=True)
    (site / "index.html").write_text(index)
    (site / "notebooks" / "a.html").write_text('<html><h2 id="setup">Setup</h2><a name="old"></a></html>')
    (site / "style.css").write_text(css)
    return site


def test_check_site_accepts_a_sound_site(tmp_path):
    site = _site(tmp_path, '<a href="notebooks/a.html#setup">a</a> <a href="notebooks/a.html#old">b</a> '
                           '<a href="https://example.org/x.js">web page</a> <img src="data:image/png;base64,AA"> '
                           '<a href="#top" id="top">top</a> <link rel="stylesheet" href="style.css">',
                 css="a { background: url('data:image/svg+xml;utf8,<svg xmlns=\"http://www.w3.org/2000/svg\"/>') }")
    assert check_site(site) == []


def test_check_site_finds_broken_links_and_network_assets(tmp_path):
    site = _site(tmp_path, '<a href="notebooks/a.html#nope">x</a> <a href="notebooks/b.html">y</a> '
                           '<img src="_images/missing.png"> <script src="https://cdn.example.org/m.js"></script> '
                           '<link rel="stylesheet" href="//fonts.example.org/f.css"> <a href="../../up.html">u</a>',
                 css="@font-face { src: url(https://fonts.example.org/x.woff2) }")
    problems = "\n".join(check_site(site))
    assert "no id 'nope' in notebooks/a.html" in problems
    assert "notebooks/b.html does not exist" in problems
    assert "_images/missing.png does not exist" in problems
    assert "loads https://cdn.example.org/m.js from the network" in problems
    assert "loads //fonts.example.org/f.css from the network" in problems
    assert "style.css:1: loads from the network" in problems
    assert "'../../up.html' points outside the site" in problems
    assert len(check_site(site)) == 7
    with pytest.raises(ValueError, match="no index.html"):
        check_site(tmp_path / "nowhere")


# ------------------------------------------------------------------ formulas without MathJax
def test_normalise_rewrites_tex_mathtext_does_not_know():
    assert offline_math.normalise(r"\tfrac12 \le \big( x \big)") == r"\frac{1}{2} \leq ( x )"
    assert offline_math.normalise(r"\mathbf z + \sqrt d") == r"\mathbf{z} + \sqrt{d}"
    assert offline_math.normalise("a\n  + b") == "a + b"
    with pytest.raises(TypeError, match="tex"):
        offline_math.normalise(None)


def test_render_svg_draws_a_formula_or_returns_none():
    uri, depth = offline_math.render_svg(r"x_i^2 + \frac{1}{2}")
    assert uri.startswith("data:image/svg+xml;base64,") and depth > 0      # a subscript hangs below
    assert offline_math.render_svg(r"\begin{aligned} a &= b \end{aligned}") is None
    assert "math-tex" in offline_math._tag(r"\notacommand{x}", display=False)


def test_drawn_formulas_are_kept_on_disk_and_read_back(tmp_path, monkeypatch):
    first = offline_math.cached_render("a^2 + b^2", tmp_path)
    assert first == offline_math.render_svg("a^2 + b^2") and len(list(tmp_path.glob("*.json"))) == 1
    assert offline_math.cached_render(r"\begin{aligned}x\end{aligned}", tmp_path) is None   # failures kept too

    def no_drawing(tex):
        raise AssertionError("drew a formula that is in the cache")

    monkeypatch.setattr(offline_math, "render_svg", no_drawing)
    assert offline_math.cached_render("a^2 + b^2", tmp_path) == first
    assert offline_math.cached_render(r"\begin{aligned}x\end{aligned}", tmp_path) is None


def test_sphinx_warnings_about_links_and_documents_fail_the_build():
    # the messages Sphinx 9 / MyST-Parser 5 print for a broken anchor, page, image and toctree entry
    fatal = ["index.md:3: WARNING: local id not found in doc 'docs/g': 'nope' [myst.xref_missing]",
             "index.md:3: WARNING: 'myst' cross-reference target not found: 'missing.md' [myst.xref_missing]",
             "index.md:3: WARNING: image file not readable: nofile.png [image.not_readable]",
             "index.md:5: WARNING: toctree contains reference to nonexisting document 'ghost' [toc.not_readable]"]
    benign = ["a.md:9: WARNING: Non-consecutive header level increase; H1 to H3 [myst.header]"]
    assert build_site.fatal_warnings(fatal + benign) == fatal
    with pytest.raises(TypeError, match="warnings"):
        build_site.fatal_warnings("one string")


# ------------------------------------------------------------------ one tiny Sphinx build
def test_a_tiny_site_builds_offline_and_its_links_resolve(fake_course, tmp_path):
    root, executed = fake_course
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/plain": ["2"]}}
    markdown = ("# First\n\n## 1 · Setup\n\nAn [optimizer](../docs/glossary.md#adam) and "
                "[the setup](#1--setup), $x^2$ and\n\n$$\\frac{a}{b}$$\n")
    (executed / "01_a.ipynb").write_text(json.dumps(_notebook([output], markdown)))
    (executed / "02_b.ipynb").write_text(json.dumps(_notebook([output])))
    src, out = tmp_path / "src", tmp_path / "site"
    build_site.stage(executed, src, root=root, results=tmp_path / "no-results")
    build_site.run_sphinx(src, out, conf=ROOT / "site", jobs="1")
    assert check_site(out) == []
    page = (out / "notebooks" / "01_a.html").read_text()
    assert 'href="../docs/glossary.html#adam"' in page and 'href="#setup"' in page
    assert page.count('class="math"') >= 2 and "mathjax" not in page.lower().replace("mathjax_ignore", "")
    (out / ".buildinfo").unlink()
    with pytest.raises(build_site.SiteError, match="not a site built by this tool"):
        build_site.run_sphinx(src, out, conf=ROOT / "site", jobs="1")
