"""Build the notebooks from the chapter sources.

    python -m graders.build            # rebuild every chapter
    python -m graders.build ch01       # chapters whose name starts with ch01
    python -m graders.build --check    # exit 1 if a committed notebook is stale

Each chapter has one edited source, ``solutions/chNN_slug/chNN_slug.py``
(jupytext py:percent). Its cell headers carry the grading metadata in short
form::

    # %% grade_id="ch01-dot"                 an answer cell (solution region)
    # %% grade_id="ch01-dot-tests" points=2  an autograded test cell (locked)

The build writes ``solutions/chNN_slug/chNN_slug.ipynb`` (the nbgrader source,
with full nbgrader metadata, no outputs) and then runs the real
``nbgrader generate_assignment`` to write ``notebooks/chNN_slug/chNN_slug.ipynb``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from graders.runenv import nbgrader

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python",
              "name": "python3"}
# Cell metadata that jupytext writes for layout; it carries no meaning here.
_JUPYTEXT_KEYS = {"lines_to_next_cell", "lines_to_end_of_cell_marker"}


def chapter_sources(root: Path = ROOT, prefixes: list[str] | None = None) -> list[Path]:
    """The chapter sources under ``root/solutions``, sorted by chapter."""
    found = [p for p in sorted((root / "solutions").glob("ch*/ch*.py"))
             if p.stem == p.parent.name]
    if prefixes:
        found = [p for p in found if any(p.stem.startswith(x) for x in prefixes)]
    return found


def nbgrader_metadata(grade_id: str, points) -> dict:
    """Full nbgrader cell metadata for an answer cell or a test cell."""
    is_test = points is not None
    meta = {"grade": is_test, "grade_id": grade_id, "locked": is_test,
            "schema_version": 3, "solution": not is_test, "task": False}
    if is_test:
        meta["points"] = points
    return meta


def source_to_notebook(source: Path) -> nbformat.NotebookNode:
    """Read a py:percent chapter source into a clean nbformat 4.5 notebook."""
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python"}}
    seen = set()
    for index, cell in enumerate(nb.cells):
        meta = {k: v for k, v in cell.metadata.items() if k not in _JUPYTEXT_KEYS}
        grade_id, points = meta.pop("grade_id", None), meta.pop("points", None)
        if meta:
            raise ValueError(f"{source.name}, cell {index}: unknown metadata {meta}")
        if points is not None and grade_id is None:
            raise ValueError(f"{source.name}, cell {index}: points without grade_id")
        cell.metadata = {}
        if grade_id is not None:
            if grade_id in seen:
                raise ValueError(f"{source.name}: duplicate grade_id {grade_id!r}")
            seen.add(grade_id)
            cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, points)
        cell.id = grade_id or f"cell-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write with a stable layout so that rebuilds give identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def generate_assignment(chapter_dir: Path, release_root: Path) -> Path:
    """Run real ``nbgrader generate_assignment`` on one chapter folder.

    Works in a temporary course directory (its own gradebook), copies the
    release into ``release_root/<chapter>/`` and returns that folder.
    """
    name = chapter_dir.name
    with tempfile.TemporaryDirectory(prefix="dlcourse-release-") as tmp:
        course = Path(tmp)
        shutil.copytree(chapter_dir, course / "source" / name,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__",
                                                      ".ipynb_checkpoints"))
        done = nbgrader(course, "generate_assignment", name, "--force",
                        f"--CourseDirectory.root={course}",
                        "--CourseDirectory.db_url=sqlite:///"
                        f"{course / 'gradebook.db'}")
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                               f"{done.stdout}\n{done.stderr}")
        target = release_root / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(course / "release" / name, target)
    for path in target.glob("*.ipynb"):  # same stable layout as the sources
        write_notebook(nbformat.read(path, as_version=4), path)
    return target


def build(source: Path, solutions_root: Path, release_root: Path) -> tuple[Path, Path]:
    """Build one chapter: its solution notebook, then its student release."""
    nb = source_to_notebook(source)
    solution = solutions_root / source.parent.name / f"{source.stem}.ipynb"
    write_notebook(nb, solution)
    release = generate_assignment(solution.parent, release_root)
    return solution, release / f"{source.stem}.ipynb"


def stale_files(root: Path = ROOT, prefixes: list[str] | None = None) -> list[str]:
    """Build into a temporary folder; list the committed notebooks that differ.

    Notebooks are compared as JSON documents, so a byte-level re-layout (e.g.
    by an instructor's own ``nbgrader generate_assignment``) is not a change.
    """
    problems = []
    with tempfile.TemporaryDirectory(prefix="dlcourse-check-") as tmp:
        tmp = Path(tmp)
        for source in chapter_sources(root, prefixes):
            staged = tmp / "solutions" / source.parent.name
            staged.mkdir(parents=True)
            for extra in source.parent.iterdir():
                if extra.suffix not in {".py", ".ipynb"} and extra.is_file():
                    shutil.copy(extra, staged)
            built = build(source, tmp / "solutions", tmp / "notebooks")
            for fresh, kind in zip(built, ("solutions", "notebooks"), strict=True):
                committed = root / kind / source.parent.name / fresh.name
                if not committed.exists():
                    problems.append(f"{committed.relative_to(root)} is missing")
                elif (json.loads(committed.read_text("utf-8"))
                      != json.loads(fresh.read_text("utf-8"))):
                    diff = difflib.unified_diff(
                        committed.read_text("utf-8").splitlines(),
                        fresh.read_text("utf-8").splitlines(), lineterm="", n=1)
                    excerpt = "\n".join(list(diff)[:12])
                    problems.append(f"{committed.relative_to(root)} is out of sync "
                                    f"with {source.relative_to(root)}:\n{excerpt}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter name prefixes (ch01)")
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks that are out of sync")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_files(ROOT, args.chapters)
        for problem in problems:
            print(problem)
        print("all notebooks in sync" if not problems else
              "run `python -m graders.build` and commit the result")
        return 1 if problems else 0
    sources = chapter_sources(ROOT, args.chapters)
    if not sources:
        print(f"no chapter source matches {args.chapters}", file=sys.stderr)
        return 1
    for source in sources:
        solution, release = build(source, ROOT / "solutions", ROOT / "notebooks")
        print(f"{source.relative_to(ROOT)} -> {solution.relative_to(ROOT)}, "
              f"{release.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
