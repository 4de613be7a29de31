"""The course website's pages: staging the notebooks and docs, and the generated Markdown pages.

``tools/build_site.py`` stages a Sphinx source tree that mirrors the repository (so the notebooks'
relative links keep working) and fills it with this module:

- :func:`rewrite_links` — relative links to files that are not pages of the site (``../course_lib/x.py``,
  ``../README.md#data``, ``constraints.txt``) become links to the repository on GitHub
  (``<Repository>/blob/main/<path>``, from pyproject ``[project.urls]``); links to staged pages
  (``../docs/glossary.md#adam``, ``02_cnn_medical_imaging.ipynb``) and web links are kept;
- :func:`stage_notebook` — an executed notebook made ready for the site: links rewritten in its
  markdown cells, ipywidgets views dropped (their JavaScript would come from a CDN; the text shown
  in their place is the widget's plain-text output);
- :func:`readme_sections` — sections of README.md by heading, so that a fact stays in one place;
- the generated pages: :func:`index_page`, :func:`scoreboard_page`, :func:`misconceptions_page`,
  :func:`licences_page`, :func:`running_page`.

Every path argument is a repository-relative POSIX path (``notebooks/01_foundations.ipynb``).
"""

from __future__ import annotations

import copy
import posixpath
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

from course_meta import binder_url, colab_url

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: the README sections the "Running the course" page is made of, in order
RUNNING_SECTIONS = ("Prerequisites", "Quick start", "Colab and Binder", "The budget knob: `COURSE_BUDGET`")
#: the site's own generated pages (name without .md, title), in the order of the navigation
GENERATED_PAGES = (("running", "Running the course"), ("scoreboard", "Scoreboard"),
                   ("misconceptions", "Five misconceptions, judged"), ("licences", "Data licences"))
DOC_PAGES = ("docs/glossary.md", "docs/benchmarks.md", "docs/scaling.md")

_LINK = re.compile(r"(!?\[[^\]\n]*\]\()(<[^>\n]*>|[^)\s]+)((?:\s+\"[^\"\n]*\")?\))")
_REFERENCE = re.compile(r"^(\s{0,3}\[[^\]\n]+\]:\s*)(\S+)(.*)$", re.M)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_FENCE = re.compile(r"^(\s*)(```+|~~~+)")


def _check_path(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or value.startswith("/") or "\\" in value:
        raise ValueError(f"{name} must be a repository-relative POSIX path, got {value!r}")
    return value


def github_url(repository: str, path: str, fragment: str = "", *, folder: bool = False) -> str:
    """The address of repository file ``path`` (``tree`` for a folder) on the default branch."""
    if not isinstance(repository, str) or not repository.startswith(("https://", "http://")):
        raise ValueError(f"repository must be an http(s) address, got {repository!r}")
    kind = "tree" if folder else "blob"
    path = path.rstrip("/")
    tail = f"/{kind}/main/{path}" if path else ""
    return f"{repository.rstrip('/')}{tail}{'#' + fragment if fragment else ''}"


def resolve_link(target: str, source: str, pages: Iterable[str], repository: str,
                 *, self_url: str | None = None) -> str:
    """Where the link ``target`` written in repository file ``source`` should point on the site.

    Web links (any ``scheme:``) are kept. A pure ``#anchor`` is kept, unless ``self_url`` is given
    (the text was copied from another file: the anchor is looked up there). A relative path is
    resolved against ``source``'s folder: kept when it is one of ``pages`` (repository paths of the
    staged pages, or a folder prefix of the site such as ``notebooks/``), else rewritten to the
    file on GitHub. A path that leaves the repository is a ValueError naming ``source``."""
    _check_path("source", source)
    if not isinstance(target, str):
        raise TypeError(f"target must be a string, got {type(target).__name__}")
    if not target or _SCHEME.match(target):
        return target
    path, _, fragment = target.partition("#")
    if not path:
        return f"{self_url}#{fragment}" if self_url else target
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    if joined == ".." or joined.startswith("../") or path.startswith("/"):
        raise ValueError(f"{source}: the link {target!r} points outside the repository")
    if joined in set(pages):
        return target
    return github_url(repository, "" if joined == "." else joined, fragment,
                      folder=path.endswith("/") or joined == ".")


def rewrite_links(markdown: str, source: str, pages: Iterable[str], repository: str,
                  *, self_url: str | None = None) -> str:
    """``markdown`` with every inline link and link reference definition passed through
    :func:`resolve_link` (fenced code blocks and inline code are left as they are)."""
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a string, got {type(markdown).__name__}")
    pages = frozenset(pages)

    def fix(target: str) -> str:
        bare = target[1:-1] if target.startswith("<") else target
        new = resolve_link(bare, source, pages, repository, self_url=self_url)
        return f"<{new}>" if target.startswith("<") else new

    def fix_text(text: str) -> str:
        pieces = re.split(r"(`+[^`]*`+)", text)         # odd pieces are inline code
        pieces = [piece if i % 2 else _LINK.sub(lambda m: m[1] + fix(m[2]) + m[3], piece)
                  for i, piece in enumerate(pieces)]
        return _REFERENCE.sub(lambda m: m[1] + fix(m[2]) + m[3], "".join(pieces))

    out, block, fence = [], [], None
    for line in markdown.splitlines(keepends=True):
        opening = _FENCE.match(line)
        if fence is None and opening:
            out.append(fix_text("".join(block)))
            block, fence = [], opening[2]
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence[0] * len(fence)) and line.strip().strip(fence[0]) == "":
                fence = None
        else:
            block.append(line)
    out.append(fix_text("".join(block)))
    return "".join(out)


def stage_notebook(notebook: Mapping, source: str, pages: Iterable[str], repository: str) -> dict:
    """A copy of the executed ``notebook`` (nbformat JSON as a dict) for the site: links in markdown
    cells rewritten (:func:`rewrite_links`), ipywidgets views and widget state removed."""
    if not isinstance(notebook, Mapping) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{source}: not a notebook (no list of cells)")
    staged = copy.deepcopy(dict(notebook))
    staged.get("metadata", {}).pop("widgets", None)
    for cell in staged["cells"]:
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = rewrite_links(text, source, pages, repository)
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if isinstance(data, dict) and WIDGET_MIME in data:
                data.pop(WIDGET_MIME)
                if not data:
                    continue
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return staged


def has_outputs(notebook: Mapping) -> bool:
    """True when at least one code cell of ``notebook`` has an output."""
    return any(cell.get("outputs") for cell in notebook.get("cells", []) if cell.get("cell_type") == "code")


def error_cells(notebook: Mapping) -> list[int]:
    """Indices (0-based, among all cells) of the code cells of ``notebook`` with an error output."""
    return [index for index, cell in enumerate(notebook.get("cells", []))
            if any(output.get("output_type") == "error" for output in cell.get("outputs", []))]


# --------------------------------------------------------------------------------------------------
# README sections
# --------------------------------------------------------------------------------------------------

def readme_sections(readme: str, headings: Iterable[str]) -> str:
    """The sections of ``readme`` (Markdown) whose heading text is one of ``headings``, in that
    order, each with everything down to the next heading of the same or a higher level. A heading
    that is not in ``readme`` (or is there twice) is a ValueError naming it."""
    if not isinstance(readme, str):
        raise TypeError(f"readme must be a string, got {type(readme).__name__}")
    lines = readme.splitlines()
    found = []
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            found.append((number, len(match[1]), match[2]))
    parts = []
    for heading in headings:
        hits = [(n, level) for n, level, text in found if text == heading]
        if len(hits) != 1:
            raise ValueError(f"README heading {heading!r} found {len(hits)} times (expected once); "
                             f"headings: {', '.join(text for _, _, text in found)}")
        start, level = hits[0]
        end = next((n for n, lvl, _ in found if n > start and lvl <= level), len(lines))
        parts.append("\n".join(lines[start:end]).strip())
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------
# Generated pages
# --------------------------------------------------------------------------------------------------

def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def index_page(rows: list[Mapping], staged: Iterable[str], *, bench: Mapping | None = None,
               repository: str = "") -> str:
    """The home page: what the course is, the catalogue table (a link to each staged notebook's
    page; *coming* for the others), the other pages, and the hidden table of contents.

    ``rows`` are :func:`course_lib.catalogue.course_table` records (``#``, notebook, domain,
    architecture, dataset, classical baseline, file); ``staged`` the stems that have a page."""
    staged = list(staged)
    measured = {r["notebook"]: r for r in (bench or {}).get("notebooks", [])}
    lines = ["# Deep Learning Architectures in Practice", "",
             "A hands-on, open course in Jupyter notebooks. Each notebook takes one deep-learning "
             "architecture, applies it to a real, openly licensed dataset, and compares it honestly "
             "with a classical machine-learning model trained on the same split, over several seeds. "
             "The pages below are the notebooks **as executed** by `make course`: every number, "
             "table and figure on them was computed in that run.", "",
             "- [Running the course](running.md): install, run, Colab and Binder, the budget knob",
             "- [Scoreboard](scoreboard.md): every model of every notebook side by side",
             "- [Five misconceptions, judged](misconceptions.md): the capstone's verdicts from the ledgers",
             "- [Glossary](docs/glossary.md), [benchmarks](docs/benchmarks.md) (runtime and RAM), "
             "[scaling](docs/scaling.md), [data licences](licences.md)",
             f"- [Source code on GitHub]({repository})" if repository else "", "",
             "## Notebooks", "",
             "| # | notebook | domain | architecture | dataset | classical baseline | runtime | peak RAM | open |",
             "|---|---|---|---|---|---|---:|---:|---|"]
    for row in rows:
        stem = Path(str(row["file"])).stem
        if stem in staged:
            title = f"[{_cell(row['notebook'])}](notebooks/{stem}.ipynb)"
            launch = (f"[Colab]({colab_url(f'notebooks/{stem}.ipynb')}), "
                      f"[Binder]({binder_url(f'notebooks/{stem}.ipynb')})")
        else:
            title, launch = f"{_cell(row['notebook'])} _(coming)_", "—"
        record = measured.get(stem)
        runtime = f"{record['wall_s']:.0f} s" if record and record.get("ok") else "—"
        ram = f"{record['peak_tree_mib']:.0f} MiB" if record and record.get("ok") else "—"
        lines.append(f"| {row['#']} | {title} | {_cell(row['domain'])} | {_cell(row['architecture'])} | "
                     f"{_cell(row['dataset'])} | {_cell(row['classical baseline'])} | {runtime} | {ram} | {launch} |")
    lines += ["", "_Runtime and peak RAM: the last `make bench` ([benchmarks](docs/benchmarks.md))._", "",
              "```{toctree}", ":hidden:", ":caption: Notebooks", ""]
    lines += [f"notebooks/{stem}" for stem in staged]
    lines += ["```", "", "```{toctree}", ":hidden:", ":caption: Reference", ""]
    lines += [name for name, _ in GENERATED_PAGES] + [page[:-3] for page in DOC_PAGES]
    lines += ["```", ""]
    return "\n".join(line for line in lines if line is not None)


def scoreboard_page(ledgers: Mapping[str, Mapping], scoreboard_markdown: Callable[[], str]) -> str:
    """The scoreboard (``scoreboard_markdown()``, course_lib.results) and each notebook's verdict
    sentences, from the ledgers as they are."""
    lines = ["# Scoreboard", "",
             "Every model of every notebook, from the results ledgers (`results/<notebook>.json`) of "
             "the run that executed the pages of this site. Metrics are mean ± standard deviation over "
             "seeds; rows marked ⚠ stand-in come from a stand-in, not the named dataset.", "",
             scoreboard_markdown().strip(), "", "## Verdicts", "",
             "Each comparison as computed in the run; *no clear winner* when the interval of the "
             "difference contains zero.", ""]
    if not ledgers:
        lines.append("_No ledger yet: run `make course`._")
    for notebook, content in ledgers.items():
        verdicts = content.get("verdicts", [])
        lines += [f"### {notebook}", ""]
        lines += [f"- {_cell(v['sentence'])}" for v in verdicts] or ["- _no verdict recorded_"]
        lines.append("")
    return "\n".join(lines)


def misconceptions_page(body: str | None, reason: str = "", *, capstone: str | None = None) -> str:
    """The misconceptions page: ``body`` (course_lib.misconceptions.misconceptions_markdown), or,
    when it is None, a note that the verdicts are unavailable and why. ``capstone``: the stem of
    the capstone notebook when it has a page (linked)."""
    notebook = f"[the capstone notebook](notebooks/{capstone}.ipynb)" if capstone else "the capstone notebook"
    lines = ["# Five misconceptions, judged", "",
             f"Five common claims about deep learning, judged as in {notebook} from the results ledgers "
             "of the other notebooks and the benchmark record when this site was built.", ""]
    if body is None:
        lines += ["```{note}", f"The verdicts are unavailable: {reason or 'unknown reason'}", "```", ""]
    else:
        lines += [body.strip(), ""]
    return "\n".join(lines)


def licences_page(table: str) -> str:
    """The data licences page around ``table`` (tools/readme_tables.render_data_licences)."""
    return "\n".join(["# Data licences and citations", "",
                      "The datasets are not part of the course: each is under its own licence. Please "
                      "cite the original authors when you use the data. Generated from the dataset "
                      "registry (`course_lib/data/registry.py`).", "", table.strip(), ""])


def running_page(readme: str, repository: str, pages: Iterable[str]) -> str:
    """"Running the course": :data:`RUNNING_SECTIONS` of README.md under a note saying where the
    Colab and Binder links are on the site, links rewritten as written in the README (its own
    anchors point at the README on GitHub)."""
    body = readme_sections(readme, RUNNING_SECTIONS)
    body = rewrite_links(body, "README.md", pages, repository,
                         self_url=github_url(repository, "README.md"))
    return ("# Running the course\n\n_Copied from the README. On this site, the notebooks table of the "
            "[home page](index.md) has each notebook's Colab and Binder links, and the rocket button at "
            "the top of every notebook page opens it there too._\n\n" + body)
