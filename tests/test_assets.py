"""Every file in assets/ is listed in SHA256SUMS with its true sum and has a maker."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse import assets

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "assets"
NOT_ASSETS = {"README.md", assets.SUMS_NAME}


def data_files() -> list[Path]:
    return sorted(p for p in FOLDER.iterdir()
                  if p.is_file() and p.name not in NOT_ASSETS
                  and not (p.name.startswith("make_") and p.suffix == ".py"))


def test_every_asset_is_listed_with_its_true_sum():
    sums = assets.recorded_sums(FOLDER)
    files = {p.name for p in data_files()}
    assert files == set(sums), (f"unlisted: {sorted(files - set(sums))}, "
                                f"listed but missing: {sorted(set(sums) - files)}")
    for name in sums:
        assert assets.asset_path(name) == FOLDER / name


def test_every_asset_names_a_maker_script():
    makers = "".join(p.read_text() for p in FOLDER.glob("make_*.py"))
    for path in data_files():
        assert path.name in makers or path.stem in makers, (
            f"no assets/make_*.py mentions {path.name}")


def test_missing_unlisted_and_altered_assets_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_ASSETS", str(tmp_path))
    good = tmp_path / "weights.bin"
    good.write_bytes(b"\x00\x01")
    with pytest.raises(assets.AssetError, match="not listed"):
        assets.asset_path("weights.bin")
    digest = assets.record_asset(good)
    assert (tmp_path / "SHA256SUMS").read_text() == f"{digest}  weights.bin\n"
    assert assets.asset_path("weights.bin") == good
    good.write_bytes(b"\x00\x02")
    with pytest.raises(assets.AssetError, match="altered: expected sha256"):
        assets.asset_path("weights.bin")
    with pytest.raises(assets.AssetError, match="missing"):
        assets.asset_path("other.bin")
    (tmp_path / "SHA256SUMS").write_text("nonsense\n")
    with pytest.raises(assets.AssetError, match="expected '<sha256>  <name>'"):
        assets.recorded_sums()
