"""Build the course website from the executed notebooks, offline: ``make site``.

    python tools/build_site.py --executed build/executed --out build/site [--results results]
    python tools/build_site.py --check-only      # check the executed notebooks and stage, no Sphinx

1. Refuses (exit 2, "run `make course` first", naming the files) when the executed copy of an
   available catalogue notebook (:func:`course_lib.catalogue.available`) is missing or has no output.
2. Stages a Sphinx source tree in ``build/site-src`` (deleted and rebuilt each time) that mirrors the
   repository, so the notebooks' relative links keep working: ``notebooks/<stem>.ipynb`` (executed
   copies), ``docs/glossary.md``, ``docs/benchmarks.md``, ``docs/scaling.md``, and the generated pages
   ``index.md``, ``running.md``, ``scoreboard.md``, ``misconceptions.md``, ``licences.md``
   (:mod:`site_pages`). Links to files that are not pages go to the repository on GitHub.
3. Runs Sphinx + MyST-NB (never executes a notebook; configuration in ``site/conf.py``) into
   ``--out``: ``index.html``, ``notebooks/<stem>.html``, ``docs/glossary.html``, ... Sphinx warnings
   about missing references or documents fail the build (exit 1).
4. Checks the result (:mod:`site_check`): every local link and image resolves, every ``#fragment``
   is an id of its target page, and no script, style sheet, font or image comes from the network.

Prints the page count and the seconds it took. Nothing is downloaded at any step.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_pages  # noqa: E402
from course_meta import repository_url  # noqa: E402
from site_check import check_site  # noqa: E402

from course_lib import catalogue  # noqa: E402
from course_lib.environment import repository_root  # noqa: E402
from course_lib.report import BENCH_RECORD  # noqa: E402

#: Sphinx warnings with these words fail the build: a link or document that does not resolve
FATAL_WARNINGS = ("reference target not found", "undefined label", "unknown document", "myst.xref_missing",
                  "nonexisting document", "toc.not_readable", "image file not readable",
                  "Unknown target name", "local id not found")
SITE_MARKER = ".buildinfo"   # Sphinx writes it: an --out folder without it is never deleted


class SiteError(Exception):
    """A problem that stops the build, with the message to print."""


def executed_problems(executed: Path, root: Path | None = None) -> list[str]:
    """What is wrong with the executed copies of the available catalogue notebooks: one line per
    notebook whose ``<executed>/<stem>.ipynb`` is missing, unreadable, or has no output at all."""
    if not isinstance(executed, Path):
        raise TypeError(f"executed must be a pathlib.Path, got {type(executed).__name__}")
    problems = []
    for meta in catalogue.available(root):
        path = executed / f"{meta.stem}.ipynb"
        if not path.is_file():
            problems.append(f"{path}: missing (notebook {meta.path} exists)")
            continue
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problems.append(f"{path}: not a readable notebook ({error})")
            continue
        if not site_pages.has_outputs(notebook):
            problems.append(f"{path}: has no outputs (not executed)")
    return problems


def _misconceptions_body(ledgers: dict, bench: dict | None) -> tuple[str | None, str]:
    """The capstone's verdicts as Markdown (course_lib.misconceptions), or (None, why not) in a
    checkout without that module. Any error inside it is raised: the page must not hide a bug."""
    try:
        from course_lib import misconceptions
    except ModuleNotFoundError as error:
        if error.name != "course_lib.misconceptions":
            raise
        return None, "course_lib.misconceptions is not installed in this checkout."
    return misconceptions.misconceptions_markdown(misconceptions.judge_all(ledgers, bench)), ""


def stage(executed: Path, src: Path, *, root: Path, results: Path) -> dict:
    """Write the Sphinx source tree into ``src`` (emptied first). Returns what was staged:
    ``{"notebooks": [stems], "coming": [stems], "notes": [lines to print]}``."""
    from course_lib.results import load_ledgers, scoreboard_markdown
    from readme_tables import render_data_licences

    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    repository = repository_url()
    rows = catalogue.course_table(root).reset_index().to_dict("records")
    stems = [meta.stem for meta in catalogue.available(root)]
    coming = [meta.stem for meta in catalogue.NOTEBOOKS if meta.stem not in stems]
    pages = ({f"notebooks/{stem}.ipynb" for stem in stems} | set(site_pages.DOC_PAGES)
             | {f"{name}.md" for name, _ in site_pages.GENERATED_PAGES} | {"index.md"})

    notes = []
    for stem in stems:
        notebook = json.loads((executed / f"{stem}.ipynb").read_text(encoding="utf-8"))
        if failed := site_pages.error_cells(notebook):
            notes.append(f"{stem}: cells {failed} raised an error in the executed copy; its page shows "
                         "the traceback (run `make course` again after fixing it)")
        staged = site_pages.stage_notebook(notebook, f"notebooks/{stem}.ipynb", pages, repository)
        (src / "notebooks" / f"{stem}.ipynb").write_text(json.dumps(staged), encoding="utf-8")
    for page in site_pages.DOC_PAGES:
        text = (root / page).read_text(encoding="utf-8") if (root / page).is_file() else None
        if text is None:
            text = f"# {Path(page).stem.title()}\n\n_Not generated yet: `{page}` is missing._\n"
            notes.append(f"{page} is missing: its page says so")
        (src / page).write_text(site_pages.rewrite_links(text, page, pages, repository), encoding="utf-8")

    bench_path = root / BENCH_RECORD
    bench = json.loads(bench_path.read_text(encoding="utf-8")) if bench_path.is_file() else None
    ledgers = load_ledgers(results)
    body, why = _misconceptions_body(ledgers, bench)
    if body is None:
        notes.append(f"misconceptions page: unavailable ({why})")
    generated = {
        "index": site_pages.index_page(rows, stems, bench=bench, repository=repository),
        "running": site_pages.running_page((root / "README.md").read_text(encoding="utf-8"),
                                           repository, pages),
        "scoreboard": site_pages.scoreboard_page(ledgers, lambda: scoreboard_markdown(results)),
        "misconceptions": site_pages.misconceptions_page(
            body, why, capstone=next((stem for stem in stems if stem.endswith("_misconceptions")), None)),
        "licences": site_pages.licences_page(render_data_licences()),
    }
    for name, text in generated.items():
        (src / f"{name}.md").write_text(text, encoding="utf-8")
    if coming:
        notes.append(f"not on the site yet (no notebook file): {', '.join(coming)}")
    return {"notebooks": stems, "coming": coming, "notes": notes}


def fatal_warnings(warnings: Sequence[str]) -> list[str]:
    """The Sphinx warnings among ``warnings`` that say a link, image or document does not resolve."""
    if isinstance(warnings, str):
        raise TypeError("warnings must be a sequence of lines, not one string")
    return [line for line in warnings if any(word in line for word in FATAL_WARNINGS)]


def run_sphinx(src: Path, out: Path, *, conf: Path, jobs: str = "auto") -> list[str]:
    """Build ``src`` into ``out`` with Sphinx (in this process); returns the warnings. Raises
    SiteError when Sphinx fails or a warning says a reference or document does not resolve.

    Formulas drawn once are kept in ``<src's folder>/site-math-cache`` (site/_ext/offline_math.py).
    Sphinx works in ``<src>-work/`` (doctrees, MyST-NB's ``jupyter_execute`` image folder, which it
    puts next to its output folder, and ``warnings.txt``, kept); the finished HTML then replaces
    ``out``, so a failed build leaves the previous site in place."""
    from sphinx.cmd.build import build_main

    if out.exists() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise SiteError(f"{out} exists and is not a site built by this tool (no {SITE_MARKER}); "
                        "not deleting it: choose another --out")
    work = src.parent / f"{src.name}-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    warnings_file = work / "warnings.txt"
    status = build_main(["-b", "html", "-q", "-E", "-j", jobs, "-c", str(conf), "-d", str(work / "doctrees"),
                         "-D", f"offline_math_cache={src.parent / 'site-math-cache'}",
                         "-w", str(warnings_file), str(src), str(work / "html")])
    warnings = [line for line in warnings_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    fatal = fatal_warnings(warnings)
    if status != 0 or fatal:
        raise SiteError("Sphinx " + (f"failed (status {status})" if status else "warned about links")
                        + ":\n  " + "\n  ".join(fatal or warnings[-20:]))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    (work / "html").rename(out)
    for folder in ("doctrees", "jupyter_execute"):
        shutil.rmtree(work / folder, ignore_errors=True)
    return warnings


def _parser(root: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=root / "build" / "executed",
                        help="folder of the executed notebooks (default: build/executed)")
    parser.add_argument("--out", type=Path, default=root / "build" / "site",
                        help="where the site goes (default: build/site)")
    parser.add_argument("--results", type=Path, default=root / "results",
                        help="folder of the results ledgers (default: results)")
    parser.add_argument("--src", type=Path, default=root / "build" / "site-src",
                        help="where the Sphinx sources are staged (default: build/site-src)")
    parser.add_argument("--jobs", default="auto", help="Sphinx processes (default: auto)")
    parser.add_argument("--check-only", action="store_true",
                        help="check the executed notebooks and stage the sources; do not run Sphinx")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    root = repository_root()
    args = _parser(root).parse_args(argv)
    started = time.perf_counter()
    problems = executed_problems(args.executed, root)
    if problems:
        print("build_site: run `make course` first; these executed notebooks are missing or empty:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        return 2
    try:
        staged = stage(args.executed, args.src, root=root, results=args.results)
    except ValueError as error:       # e.g. a README section the running page needs was renamed
        print(f"build_site: cannot stage the site: {error}", file=sys.stderr)
        return 1
    for note in staged["notes"]:
        print(f"build_site: note: {note}")
    if args.check_only:
        print(f"build_site: {len(staged['notebooks'])} executed notebooks present; sources staged in "
              f"{args.src} ({time.perf_counter() - started:.1f} s)")
        return 0
    timings = {"staged": time.perf_counter() - started}
    try:
        warnings = run_sphinx(args.src, args.out, conf=root / "site", jobs=args.jobs)
        timings["Sphinx"] = time.perf_counter() - started - sum(timings.values())
        problems = check_site(args.out)
        timings["checked"] = time.perf_counter() - started - sum(timings.values())
    except SiteError as error:
        print(f"build_site: {error}", file=sys.stderr)
        return 1
    for line in warnings:
        print(f"build_site: sphinx warning: {line}")
    if problems:
        print(f"build_site: the built site has {len(problems)} problems:\n  " + "\n  ".join(problems[:50]),
              file=sys.stderr)
        return 1
    pages = sum(1 for page in args.out.rglob("*.html") if page.relative_to(args.out).parts[0] != "_static")
    cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    print(f"build_site: {pages} pages ({len(staged['notebooks'])} notebooks) in {args.out}/index.html, "
          f"built in {time.perf_counter() - started:.1f} s ("
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
          + f"; {cpu:.1f} s of CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
