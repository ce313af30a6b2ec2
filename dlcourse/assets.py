"""Small files that ship with the course in ``assets/``, checked by their sha256.

Every asset is listed in ``assets/SHA256SUMS`` (the format of ``sha256sum``)
and made by a script ``assets/make_<name>.py`` that anyone can re-run; the
script ends with :func:`record_asset`, which writes the file's line.

    path = asset_path("ch19_backbone.pt")   # raises a clear error if missing or altered
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SUMS_NAME = "SHA256SUMS"


class AssetError(RuntimeError):
    """An asset is missing, unlisted or does not match its recorded sha256."""


def assets_dir() -> Path:
    """The course's ``assets/`` folder (``DLCOURSE_ASSETS`` overrides it)."""
    override = os.environ.get("DLCOURSE_ASSETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "assets"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_sums(folder: Path | None = None) -> dict[str, str]:
    """File name -> sha256 as listed in ``SHA256SUMS`` (empty when there is none)."""
    sums_file = (folder or assets_dir()) / SUMS_NAME
    if not sums_file.exists():
        return {}
    sums = {}
    for number, line in enumerate(sums_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise AssetError(f"{sums_file}:{number}: expected '<sha256>  <name>', "
                             f"got {line!r}")
        sums[name.strip()] = digest
    return sums


def asset_path(name: str) -> Path:
    """The path of asset ``name`` after checking it against ``SHA256SUMS``.

    Raises :class:`AssetError` naming the script that makes the file when it is
    missing, unlisted, or its content differs from the recorded sha256.
    """
    folder = assets_dir()
    path = folder / name
    script = f"assets/make_{Path(name).stem}.py (or the make_*.py script that names it)"
    expected = recorded_sums(folder).get(name)
    if not path.exists():
        raise AssetError(f"asset {name!r} is missing from {folder}: "
                         f"re-create it with {script}")
    if expected is None:
        raise AssetError(f"asset {name!r} is not listed in {folder / SUMS_NAME}: "
                         f"its maker script must call record_asset()")
    actual = sha256_of(path)
    if actual != expected:
        raise AssetError(f"asset {name!r} was altered: expected sha256 {expected}, "
                         f"got {actual}; restore it (git checkout) or re-run {script}")
    return path


def record_asset(path: str | os.PathLike) -> str:
    """Write or replace ``path``'s line in ``SHA256SUMS``; return its sha256."""
    path = Path(path).resolve()
    sums = recorded_sums(path.parent)
    sums[path.name] = sha256_of(path)
    lines = [f"{digest}  {name}\n" for name, digest in sorted(sums.items())]
    (path.parent / SUMS_NAME).write_text("".join(lines))
    return sums[path.name]
