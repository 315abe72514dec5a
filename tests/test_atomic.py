"""Atomic writing: folders are swapped whole; a failure or a dead writer loses nothing."""

from __future__ import annotations

import os

import pytest

from sim.runs.atomic import STAGING_PREFIX, atomic_dir, clean_stale_staging


def test_folders_are_replaced_whole(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "old.png").write_text("old")
    (tmp_path / "keep.txt").write_text("keep")
    with atomic_dir(tmp_path) as stage:
        (stage / "plots").mkdir()
        (stage / "plots" / "new.png").write_text("new")
        (stage / "report.html").write_text("r")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["new.png"]
    assert (tmp_path / "keep.txt").read_text() == "keep"
    assert not list(tmp_path.glob(STAGING_PREFIX + "*"))


def test_a_failure_leaves_the_old_folder(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "old.png").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path) as stage:
        (stage / "plots").mkdir()
        (stage / "plots" / "half.png").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["old.png"]
    assert not list(tmp_path.glob(STAGING_PREFIX + "*"))


def test_a_folder_set_aside_by_a_dead_writer_is_put_back(tmp_path):
    # A writer killed between renaming plots/ aside and moving the new one in.
    dead = 2**22 + 12345
    while True:
        try:
            os.kill(dead, 0)
            dead += 1
        except ProcessLookupError:
            break
        except PermissionError:
            dead += 1
    aside = tmp_path / f"{STAGING_PREFIX}{dead}-old-plots"
    aside.mkdir()
    (aside / "old.png").write_text("old")
    clean_stale_staging(tmp_path)
    assert (tmp_path / "plots" / "old.png").read_text() == "old"
    assert not aside.exists()
