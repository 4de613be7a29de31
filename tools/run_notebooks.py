"""Execute the course notebooks one by one, measure each, and print the scoreboard.

    python tools/run_notebooks.py --out build/executed            # make course: every notebook
    python tools/run_notebooks.py --out build/executed --bench docs/benchmarks.md   # make bench
    python tools/run_notebooks.py --out build/executed notebooks/01_foundations.ipynb  # a subset
    python tools/run_notebooks.py --update-readme      # refresh the README's generated tables only

Without notebook arguments it runs every notebook of the catalogue whose file exists
(:func:`course_lib.catalogue.available`), in course order. Each runs in its own subprocess, measured
(:mod:`execute`, :mod:`measure`); a failing notebook does not stop the others. The exit status is 1
when any failed (and, with ``--bench``, when any broke the 5-minute / 2-GB budget).

With ``--bench`` the run also writes the benchmark page (:mod:`bench_report`),
``docs/benchmarks.json`` (the same numbers, machine-readable) and the README blocks
(:mod:`readme_tables`). Nothing in those files is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import bench_report, budget_verdict, git_state, render_bench_markdown  # noqa: E402
from execute import display_path, run_notebook  # noqa: E402
from readme_tables import update_readme  # noqa: E402

from course_lib import catalogue, environment  # noqa: E402
from course_lib.report import BENCH_RECORD  # noqa: E402
from course_lib.results import scoreboard_markdown  # noqa: E402


def _parser(root: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute, in order (default: every notebook of the catalogue)")
    parser.add_argument("--out", type=Path, default=root / "build" / "executed",
                        help="folder for the executed copies and logs (default: build/executed)")
    parser.add_argument("--bench", type=Path, metavar="FILE",
                        help="also write this benchmark page, docs/benchmarks.json and the README tables")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    parser.add_argument("--readme", type=Path, default=root / "README.md", help=argparse.SUPPRESS)
    parser.add_argument("--bench-json", type=Path, default=root / BENCH_RECORD, help=argparse.SUPPRESS)
    parser.add_argument("--scoreboard", type=Path, default=root / "build" / "scoreboard.md",
                        help=argparse.SUPPRESS)
    parser.add_argument("--update-readme", action="store_true",
                        help="only refresh the README's generated tables (measurements from "
                             "docs/benchmarks.json if it exists) and exit")
    return parser


def _problem(message: str) -> int:
    print(f"run_notebooks: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None, root: str | os.PathLike | None = None) -> int:
    """The command line; ``root`` is the repository whose catalogue notebooks run by default."""
    root = Path(root) if root is not None else environment.repository_root()
    args = _parser(root).parse_args(argv)
    if args.update_readme:
        bench = json.loads(args.bench_json.read_text()) if args.bench_json.is_file() else None
        changed = update_readme(args.readme, bench)
        print(f"{display_path(args.readme)}: {'updated' if changed else 'already current'}")
        return 0
    notebooks = args.notebooks or catalogue.available_paths(root)
    if not notebooks:
        return _problem(f"no notebook of the catalogue (course_lib/catalogue.py) exists under {root}")
    bad = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        return _problem(f"not a notebook file: {', '.join(bad)}")
    if args.timeout <= 0:
        return _problem("--timeout must be a positive number of seconds")
    known = {meta.stem for meta in catalogue.NOTEBOOKS}
    unknown = [p.stem for p in notebooks if p.stem not in known]
    if args.bench and unknown:
        return _problem(f"{', '.join(unknown)} not in NOTEBOOKS (course_lib/catalogue.py); "
                        "add a row there so the README can list it")

    results = environment.results_dir()
    started = datetime.now(timezone.utc)
    git = git_state() if args.bench else None  # before this run writes README / docs
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    records = []
    for index, notebook in enumerate(notebooks, start=1):
        print(f"[{index}/{len(notebooks)}] {display_path(notebook)} ...", flush=True)
        record = run_notebook(notebook.resolve(), out_dir, results=results, timeout=args.timeout)
        records.append(record)
        status = "ok" if record["ok"] else f"FAILED (exit {record['returncode']}, log {record['log']})"
        kernel = "n/a" if record["peak_kernel_mib"] is None else f"{record['peak_kernel_mib']:.0f}"
        print(f"      {status}: {record['wall_s']:.1f} s, peak RSS kernel {kernel} MiB, "
              f"tree {record['peak_tree_mib']:.0f} MiB", flush=True)

    board = scoreboard_markdown(results)
    args.scoreboard.parent.mkdir(parents=True, exist_ok=True)
    args.scoreboard.write_text(f"# Scoreboard\n\nFrom the ledgers in `{display_path(results)}`.\n\n{board}")
    print(f"\nScoreboard (ledgers in {display_path(results)}; also in {display_path(args.scoreboard)}):\n")
    print(board)

    over = []
    if args.bench:
        command = "python tools/run_notebooks.py " + shlex.join(argv if argv is not None else sys.argv[1:])
        report = bench_report(started_utc=started.strftime("%Y-%m-%d %H:%M"), git=git, command=command,
                              bench_json=args.bench_json, results=results, records=records)
        args.bench_json.parent.mkdir(parents=True, exist_ok=True)
        args.bench_json.write_text(json.dumps(report, indent=2) + "\n")
        args.bench.parent.mkdir(parents=True, exist_ok=True)
        args.bench.write_text(render_bench_markdown(report))
        update_readme(args.readme, report)
        print(f"wrote {display_path(args.bench)}, {display_path(args.bench_json)} and the tables "
              f"in {display_path(args.readme)}")
        over = [r for r in records if r["ok"] and budget_verdict(r) != "within budget"]
        for record in over:
            print(f"{record['notebook']}: {budget_verdict(record)}", file=sys.stderr)

    failed = [r for r in records if not r["ok"]]
    if failed:
        print(f"\n{len(failed)} of {len(records)} notebook(s) FAILED:", file=sys.stderr)
        for record in failed:
            print(f"\n--- {record['path']} (exit {record['returncode']}; full log {record['log']}) ---\n"
                  f"{record['error']}", file=sys.stderr)
    else:
        print(f"all {len(records)} notebook(s) ran; executed copies in {display_path(out_dir)}")
    return 1 if failed or over else 0


if __name__ == "__main__":
    sys.exit(main())
