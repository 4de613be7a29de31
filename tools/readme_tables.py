"""The README's generated tables, between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers.

- ``notebooks-table``: :func:`course_lib.catalogue.course_table` (the rows notebook 00 shows) with
  each notebook's runtime and peak RAM from the last bench report and its Colab/Binder badges;
- ``data-licences``: every dataset of :data:`course_lib.data.REGISTRY` with its source, licence,
  citation, stand-in, and the notebooks of the catalogue that use it.

Nothing between the markers is typed by hand: ``python tools/run_notebooks.py --update-readme``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from course_meta import binder_url, colab_url

from course_lib import catalogue

PLACEHOLDER = "not yet measured"


def cell(text: object) -> str:
    """``text`` made safe for one cell of a Markdown table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_notebook_table(bench: Mapping | None = None, root: str | os.PathLike | None = None) -> str:
    """The README's notebook table for the repository at ``root``. Runtime and peak RAM come from
    ``bench`` (a bench report); a notebook whose file is missing is listed as coming, one the bench
    did not run as not yet measured."""
    measured = {r["notebook"]: r for r in (bench or {}).get("notebooks", [])}
    lines = ["| # | notebook | domain | architecture | dataset | classical baseline | runtime | "
             "peak RAM | open |",
             "|---|---|---|---|---|---|---:|---:|---|"]
    for row in catalogue.course_table(root).reset_index().to_dict("records"):
        described = (f"{cell(row['domain'])} | {cell(row['architecture'])} | {cell(row['dataset'])} | "
                     f"{cell(row['classical baseline'])}")
        if row["file"] == catalogue.COMING:
            lines.append(f"| {row['#']} | {cell(row['notebook'])} _(coming)_ | {described} "
                         "| coming | coming | — |")
            continue
        record = measured.get(Path(row["file"]).stem)
        if record is None:
            runtime = ram = PLACEHOLDER
        elif not record["ok"]:
            runtime = ram = "failed in last bench"
        else:
            runtime = f"{record['wall_s']:.0f} s"
            ram = f"{record['peak_tree_mib']:.0f} MiB"
        badges = (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                  f"({colab_url(row['file'])}) "
                  f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(row['file'])})")
        lines.append(f"| {row['#']} | [{cell(row['notebook'])}]({row['file']}) | {described} "
                     f"| {runtime} | {ram} | {badges} |")
    lines.append("")
    if bench:
        produced, machine = bench["produced"], bench["machine"]
        lines.append(
            f"_Runtime (wall time of a headless run) and peak RAM (peak RSS of the notebook's process "
            f"tree) measured by `make bench` on {produced['date_utc'][:10]} at commit "
            f"`{produced['commit']}` on {machine.get('cpu', 'an unrecorded CPU')}, "
            f"{machine.get('cores', '?')} cores; details in [docs/benchmarks.md](docs/benchmarks.md)._")
    else:
        lines.append("_Runtime and peak RAM are filled in by `make bench` (see "
                     "[docs/benchmarks.md](docs/benchmarks.md))._")
    return "\n".join(lines)


def render_data_licences() -> str:
    """The README's data table, from the dataset registry: source, licence, citation, stand-in."""
    from course_lib.data import REGISTRY

    used_in: dict[str, list[str]] = {}
    for meta in catalogue.NOTEBOOKS:
        for name in meta.datasets:
            used_in.setdefault(name, []).append(meta.number)
    lines = ["| dataset (`load_dataset` name) | used in | source | licence | cite | if unreachable |",
             "|---|---|---|---|---|---|"]
    for name in sorted(REGISTRY):
        info = REGISTRY[name]
        if info.files:
            urls = list(dict.fromkeys(f.url for f in info.files))
            source = "download: " + ", ".join(f"<{url}>" for url in urls) + " (checksum verified)"
        else:
            source = f"bundled in {info.bundled_source}"
        fallback = (f"{info.fallback.provenance}: {info.fallback.description}" if info.fallback
                    else "— (always available)" if info.bundled else "clear error")
        lines.append(f"| [{cell(info.title)}]({info.homepage}) (`{name}`) | "
                     f"{', '.join(used_in.get(name, [])) or '—'} | {cell(source)} | {cell(info.licence)} | "
                     f"{cell(info.citation)} | {cell(fallback)} |")
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what lies between ``<!-- {name}:start -->`` and ``<!-- {name}:end -->`` with
    ``body``, keeping the markers. Raises ValueError unless each marker occurs exactly once, in
    order."""
    start, end = _markers(name)
    counts = text.count(start), text.count(end)
    if counts != (1, 1):
        raise ValueError(f"expected the markers {start} and {end} exactly once each, "
                         f"found them {counts[0]} and {counts[1]} times")
    if text.index(end) < text.index(start):
        raise ValueError(f"{end} comes before {start}")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def read_block(text: str, name: str) -> str:
    """The content between a block's markers, stripped (ValueError if the markers are missing)."""
    start, end = _markers(name)
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def update_readme(readme: Path, bench: Mapping | None) -> bool:
    """Rewrite the README's generated blocks for the repository the README is in (notebook paths
    are relative to its folder); True when the file changed."""
    text = readme.read_text()
    new = replace_block(text, "notebooks-table", render_notebook_table(bench, readme.parent))
    new = replace_block(new, "data-licences", render_data_licences())
    if new != text:
        readme.write_text(new)
    return new != text
