"""Time every solution notebook (a script, not a test: timings flake in tests).

    python -m graders.benchmark                 # all chapters -> graders/BENCHMARK.md
    python -m graders.benchmark ch03 --output -  # some chapters, print the table

Each notebook runs in a fresh kernel with nbclient, exactly as nbval runs it;
the time includes the kernel start. The budget is 60 s per notebook on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from graders.build import ROOT, chapter_sources
from graders.runenv import tool_env

BUDGET_S = 60.0


def run_notebook(path: Path) -> tuple[float, str]:
    """Execute one notebook; return (seconds, "ok" or the first error)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as err:  # report every notebook, even a broken one
        status = f"error: {type(err).__name__}: {str(err).splitlines()[-1][:80]}"
    return time.perf_counter() - start, status


def machine() -> str:
    device = "cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() \
        else "cpu"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), {device}")


def table(rows: list[tuple[str, float, str]]) -> str:
    total = sum(seconds for _, seconds, _ in rows)
    lines = [
        "# Solution notebook benchmark",
        "",
        f"Made by `python -m graders.benchmark` on "
        f"{datetime.date.today().isoformat()}: {machine()}.",
        f"Budget: {BUDGET_S:.0f} s per notebook. Time includes the kernel start.",
        "",
        "| notebook | seconds | within budget | status |",
        "|---|---:|:---:|---|",
    ]
    for name, seconds, status in rows:
        within = "yes" if seconds <= BUDGET_S and status == "ok" else "NO"
        lines.append(f"| {name} | {seconds:.1f} | {within} | {status} |")
    lines.append(f"| **total** | **{total:.1f}** | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter name prefixes")
    parser.add_argument("--output", default=str(ROOT / "graders" / "BENCHMARK.md"),
                        help="where to write the table ('-' prints it)")
    args = parser.parse_args(argv)
    os.environ.update(tool_env(tempfile.mkdtemp(prefix="dlcourse-bench-")))
    rows = []
    for source in chapter_sources(ROOT, args.chapters):
        notebook = source.with_suffix(".ipynb")
        seconds, status = run_notebook(notebook)
        print(f"{notebook.name:40s} {seconds:6.1f} s  {status}", flush=True)
        rows.append((notebook.name, seconds, status))
    text = table(rows)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0 if all(s == "ok" and t <= BUDGET_S for _, t, s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
