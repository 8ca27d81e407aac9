"""Output folders: foreign folders refused, stale outputs removed, debris of killed runs
cleaned, usual permissions (issue #13: compare overwrote a user's report.html, kept stale
maps after a rerun with fewer alternatives, left hidden partial folders, and created
result folders with mode 0700)."""

from __future__ import annotations

import os
import socket

import pytest

from transitopt._io import atomic_path, clean_debris
from transitopt.report import compare_files

HOST = "".join(c for c in socket.gethostname() if c.isalnum())[:32]
DEAD_PID = 4_000_000  # above Linux's pid_max: never a live process


@pytest.fixture(scope="module")
def town_files(tmp_path_factory, town_toml):
    folder = tmp_path_factory.mktemp("town")
    (folder / "base.toml").write_text(town_toml(12000), encoding="utf-8")
    for name, headway in (("often", 5), ("rarely", 20)):
        (folder / f"{name}.toml").write_text(
            f'[scenario]\nbaseline = "base.toml"\n\n[[edits]]\ntype = "change_line"\n'
            f'line = "relation/401"\nheadway_min = {headway}\n',
            encoding="utf-8",
        )
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_compare_refuses_a_foreign_folder_and_rewrites_its_own(town_files, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my own report")
    files = [town_files / "base.toml", town_files / "often.toml", town_files / "rarely.toml"]
    with pytest.raises(ValueError, match="mine: exists, is not empty and holds no earlier"):
        compare_files(files, mine)
    assert (mine / "report.html").read_text() == "my own report"

    out = tmp_path / "out"
    debris = tmp_path / f".out.{HOST}-{DEAD_PID}.abc123"  # a killed run's temporary folder
    debris.mkdir()
    first = compare_files(files, out)
    assert not debris.exists()
    assert {p.name for p in (out / "scenarios").iterdir()} == {"base", "often", "rarely"}
    assert all(m.exists() and m.parent == out / "maps" for m in first.maps)
    assert (out / "scenarios").stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert (out / "comparison.csv").stat().st_mode & 0o777 == 0o666 & ~_umask()

    again = compare_files(files[:2], out)  # a rerun with fewer alternatives
    assert {p.name for p in (out / "scenarios").iterdir()} == {"base", "often"}
    assert sorted(p.name for p in (out / "maps").iterdir()) == sorted(m.name for m in again.maps)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_write_removes_only_dead_processes_debris(tmp_path):
    target = tmp_path / "table.csv"
    dead = tmp_path / f".table.csv.{HOST}-{DEAD_PID}.x1.csv"
    live = tmp_path / f".table.csv.{HOST}-{os.getpid()}.x2.csv"  # a write in progress
    other_host = tmp_path / ".table.csv.elsewhere-12.x3.csv"
    for path in (dead, live, other_host):
        path.write_text("partial")
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    assert not dead.exists() and live.exists() and other_host.exists()
    live.unlink()
    assert clean_debris(tmp_path) == 0


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
