"""Output folders: a command replaces only what it wrote, never an input, and never half.

Each case here is one a hostile-input and fault probe found losing or mixing a
user's files (issue 26, items 1, 2 and 9); the kills are real signals.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

import run as cli
from sim.files.csv_safe import read_csv, write_csv
from sim.files.outputs import (
    LEDGER,
    STAGING_PREFIX,
    OutputRefused,
    check_complete,
    claim_output,
    clean_stale_staging,
    replace_dir,
)

SMALL = ["--set", "population.size=1500", "--set", "warmup_days=7", "--set", "duration_days=14"]
POLICIES = ROOT / "scenarios" / "policies"


def gpsim(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def tree(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ 1. foreign folders


def test_compare_into_a_fresh_clones_own_folder_is_refused_and_deletes_nothing(tmp_path):
    # `gpsim compare A B --out .` in a fresh clone deleted the shipped scenarios/.
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "scenarios", clone / "scenarios")
    (clone / "README.md").write_text("my notes\n")
    before = tree(clone)
    p = gpsim("compare", "scenarios/policies/access_first.yaml",
              "scenarios/policies/usual_gp_first.yaml", "-r", "2", *SMALL, "--out", ".",
              cwd=clone)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert "holds files gpsim did not write" in p.stderr and "--force" in p.stderr
    assert tree(clone) == before


def test_a_folder_holding_a_users_data_is_refused_unless_forced_and_then_kept(tmp_path):
    project = tmp_path / "userproj"
    (project / "data").mkdir(parents=True)
    thesis = project / "data" / "my_thesis_data.csv"
    thesis.write_text("patient,outcome\n1,ok\n")
    args = ["run", str(DEFAULT), "--out", str(project), *SMALL]
    assert cli.main(args) == 2
    assert sorted(p.name for p in project.iterdir()) == ["data"]
    assert cli.main([*args, "--force"]) == 0
    assert thesis.read_text() == "patient,outcome\n1,ok\n"
    assert (project / "summary.csv").is_file()
    # A second forced run replaces its own files and still leaves the user's alone.
    assert cli.main([*args, "--force", "--seed", "5"]) == 0
    assert thesis.read_text() == "patient,outcome\n1,ok\n"
    ledger = json.loads((project / LEDGER).read_text())
    assert ledger["state"] == "complete" and "data/my_thesis_data.csv" not in ledger["files"]


def test_git_repositories_root_and_home_are_never_output_folders(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    for where in (repo, tmp_path.anchor, os.path.expanduser("~")):
        with pytest.raises(OutputRefused), claim_output(where, command="t", force=True):
            pass
    assert sorted(p.name for p in repo.iterdir()) == [".git"]


def test_a_rerun_replaces_its_own_files_and_removes_those_it_no_longer_writes(tmp_path):
    out = tmp_path / "out"
    with claim_output(out, command="t") as f, f.writing() as stage:
        (stage / "a.csv").write_text("1")
        (stage / "plots").mkdir()
        (stage / "plots" / "old.svg").write_text("svg")
    with claim_output(out, command="t") as f, f.writing() as stage:
        (stage / "a.csv").write_text("2")
        (stage / "b.csv").write_text("3")
    assert {k: v.decode() for k, v in tree(out).items() if k != LEDGER} == {"a.csv": "2",
                                                                            "b.csv": "3"}
    assert not (out / "plots").exists(), "an emptied folder of its own is removed"


def test_a_file_the_user_changed_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    with claim_output(out, command="t") as f, f.writing() as stage:
        (stage / "summary.csv").write_text("tool")
    (out / "summary.csv").write_text("edited by hand")
    for force in (False, True):
        with pytest.raises(OutputRefused, match="changed since gpsim wrote them"), \
                claim_output(out, command="t", force=force):
            pass
    assert (out / "summary.csv").read_text() == "edited by hand"


def test_a_folder_written_before_ledgers_is_still_the_tools(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "metadata.json").write_text(json.dumps({"code_version": "abc", "files": {}}))
    (old / "summary.csv").write_text("old")
    (old / "notes.txt").write_text("mine")
    with claim_output(old, command="run") as f, f.writing() as stage:
        (stage / "summary.csv").write_text("new")
    assert (old / "summary.csv").read_text() == "new"
    assert (old / "notes.txt").read_text() == "mine"


def test_named_files_refuse_a_same_named_file_the_tool_did_not_write(tmp_path):
    (tmp_path / "idx.csv").write_text("someone else's")
    with pytest.raises(OutputRefused, match="gpsim did not write"), \
            claim_output(tmp_path, command="indices", files=["idx.csv"]):
        pass
    with claim_output(tmp_path, command="indices", files=["other.csv"]) as f, \
            f.writing() as stage:
        (stage / "other.csv").write_text("ours")
    with claim_output(tmp_path, command="indices", files=["other.csv"]) as f, \
            f.writing() as stage:
        (stage / "other.csv").write_text("ours again")
    assert (tmp_path / "idx.csv").read_text() == "someone else's"
    assert (tmp_path / "other.csv").read_text() == "ours again"


# ------------------------------------------------------------------ 2. inputs


def test_indices_never_writes_over_its_own_input(tmp_path):
    visits = tmp_path / "visits.csv"
    shutil.copy(ROOT / "tests" / "data" / "visits" / "messy_export.csv", visits)
    before = visits.read_bytes()
    p = gpsim("indices", str(visits), "--out", str(visits))
    assert p.returncode == 2, p.stderr
    assert "is an input of this command" in p.stderr and "Traceback" not in p.stderr
    assert visits.read_bytes() == before


def test_a_scenario_the_tool_wrote_cannot_be_an_input_to_a_run_that_replaces_it(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["run", str(DEFAULT), "--out", str(out), *SMALL]) == 0
    resolved = out / "scenario.resolved.yaml"
    before = resolved.read_bytes()
    assert cli.main(["run", str(resolved), "--out", str(out)]) == 2
    assert resolved.read_bytes() == before


# ------------------------------------------------------------------ 9. one step, one writer

DRIVER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from sim.files import outputs
    dest, stop_after, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    real, moved = os.replace, [0]
    def replace(a, b):
        if Path(b).parent == dest and Path(b).name.startswith("f"):
            moved[0] += 1
            if moved[0] > stop_after:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(a, b)
    outputs.os.replace = replace
    with outputs.claim_output(dest, command="test") as f, f.writing() as stage:
        for i in range(15):
            (stage / f"f{i:02d}.csv").write_text(f"{tag} {i}")
        (stage / "comparison.json").write_text("{}")
""")


def _drive(tmp_path, dest, stop_after: int, tag: str) -> int:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), str(dest), str(stop_after), tag],
                          env=env, timeout=60).returncode


def test_a_write_killed_half_way_is_known_for_what_it_is_and_the_next_run_mends_it(tmp_path):
    dest = tmp_path / "out"
    assert _drive(tmp_path, dest, 99, "A") == 0
    assert check_complete(dest) is None
    assert _drive(tmp_path, dest, 7, "B") == -signal.SIGKILL
    contents = [p.read_text().split()[0] for p in sorted(dest.glob("f*.csv"))]
    assert contents.count("B") == 7 and contents.count("A") == 8, "killed mid-move, for real"
    assert "stopped while moving its files" in check_complete(dest)
    p = gpsim("report", str(dest))
    assert p.returncode == 2 and "may come from two runs" in p.stderr
    assert _drive(tmp_path, dest, 99, "C") == 0, "the next run takes over the mixed folder"
    assert {p.read_text().split()[0] for p in dest.glob("f*.csv")} == {"C"}
    assert check_complete(dest) is None
    assert not list(dest.glob(STAGING_PREFIX + "*"))


def test_a_second_command_writing_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from sim.files.outputs import claim_output
            with claim_output({str(out)!r}, command="compare"):
                print("claimed", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "claimed"
        p = gpsim("compare", str(POLICIES / "access_first.yaml"),
                  str(POLICIES / "usual_gp_first.yaml"), "-r", "2", *SMALL, "--out", str(out))
        assert p.returncode == 2, p.stderr
        assert "another gpsim command is writing into this folder" in p.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_folder_swapped_whole_and_one_set_aside_by_a_dead_writer_is_put_back(tmp_path):
    target = tmp_path / "practices" / "p1"
    with replace_dir(target) as stage:
        (stage / "old.csv").write_text("old")
    with replace_dir(target) as stage:
        (stage / "new.csv").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.csv"]
    dead = _dead_pid()
    from sim.files.outputs import _host

    aside = target.parent / f"{STAGING_PREFIX}{_host()}-{dead}-old-p2"
    aside.mkdir()
    (aside / "kept.csv").write_text("kept")
    clean_stale_staging(target.parent)
    assert (target.parent / "p2" / "kept.csv").read_text() == "kept"
    assert sorted(p.name for p in target.parent.iterdir()) == ["p1", "p2"]


def _dead_pid() -> int:
    pid = 2**22 + 12345
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


# ------------------------------------------------------------------ 6. disks


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_is_a_message_and_changes_nothing(tmp_path, monkeypatch, code):
    out = tmp_path / "out"
    assert cli.main(["run", str(DEFAULT), "--out", str(out), *SMALL]) == 0
    before = tree(out)
    import pyarrow.parquet as pq  # where every Parquet writer ends, pandas's included

    real = pq.write_table

    def full(table, where, *args, **kwargs):
        if "emergency" in str(where):
            raise OSError(code, os.strerror(code), str(where))
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", full)
    assert cli.main(["run", str(DEFAULT), "--out", str(out), *SMALL, "--seed", "3"]) == 2
    assert tree(out) == before


def test_an_output_folder_that_cannot_be_made_is_refused_before_anything_runs(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    t0 = time.perf_counter()
    assert cli.main(["run", str(DEFAULT), "--out", str(blocker / "out")]) == 2
    assert time.perf_counter() - t0 < 5, "refused before the simulation"
    assert "cannot make the output folder" in capsys.readouterr().err


# ------------------------------------------------------------------ 8. formula cells


def test_formula_like_text_cells_are_neutralised_in_written_csvs_and_read_back_whole(tmp_path):
    df = pd.DataFrame({"clinician_id": ["=cmd|' /C calc'!A0", "@SUM(1)", "+x", "-y", "Dr Adams"],
                       "value": [-1.5, 2, 3, 4, 5], "text_number": ["-3", "+4", "1e5", "x", "y"]})
    write_csv(df, tmp_path / "t.csv", index=False)
    raw = (tmp_path / "t.csv").read_text()
    assert "'=cmd" in raw and "'@SUM" in raw and "'+x" in raw and "'-y" in raw
    assert ",-1.5," in raw and ",-3\n" in raw, "numbers are left as numbers"
    pd.testing.assert_frame_equal(read_csv(tmp_path / "t.csv"), df.astype({"value": float}))


@pytest.mark.parametrize("rows", [5, 2000])
def test_short_and_long_text_columns_are_neutralised_alike(tmp_path, monkeypatch, rows):
    """Short columns are searched cell by cell, long ones by pandas: the same cells either way."""
    import sim.files.csv_safe as csv_safe

    cells = ["=A1", "ok", None, "-2", "@x", "+y"]
    df = pd.DataFrame({
        "text": (cells * rows)[:rows],
        "mixed": ([1, "=B2", 2.5, None, "z", "-q"] * rows)[:rows],
        "strings": pd.array((["-x", "y", None] * rows)[:rows], dtype="string"),
        "team": pd.Categorical((["=T", "team_1"] * rows)[:rows]),
        "numbers_as_objects": pd.Series(([1, 2, 3] * rows)[:rows], dtype=object),
        "=name": range(rows)})
    written = {}
    for short in (0, 10**6):   # every column searched by pandas, then every one cell by cell
        monkeypatch.setattr(csv_safe, "_SHORT", short)
        write_csv(df, tmp_path / f"{short}.csv", index=False)
        written[short] = (tmp_path / f"{short}.csv").read_bytes()
    assert written[0] == written[10**6]
    first = written[0].decode().splitlines()[:3]
    assert first[0] == "text,mixed,strings,team,numbers_as_objects,'=name"
    assert first[1] == "'=A1,1,'-x,'=T,1,0" and first[2] == "ok,'=B2,y,team_1,2,1"
    back = read_csv(tmp_path / "0.csv")
    assert list(back.columns) == list(df.columns)
    assert back["text"].tolist()[:2] == ["=A1", "ok"] and back["team"].tolist()[:2] == ["=T",
                                                                                        "team_1"]


def test_the_code_version_is_asked_of_git_once_per_process(monkeypatch):
    """Every run of a sweep records it; git checks the whole checkout each time it is asked."""
    from sim.files import provenance

    asked = []
    real = subprocess.run

    def counting(*args, **kwargs):
        asked.append(args[0])
        return real(*args, **kwargs)

    provenance.code_version.cache_clear()
    monkeypatch.setattr(provenance.subprocess, "run", counting)
    try:
        first = provenance.code_version()
        assert [provenance.code_version() for _ in range(3)] == [first] * 3
        assert len(asked) == 1 and asked[0][:2] == ["git", "-C"]
    finally:
        provenance.code_version.cache_clear()


def test_a_runs_tables_are_dictionary_encoded_only_where_they_are_categories(tmp_path):
    """Unique ids, times and waits are stored plain; each table reads back as before."""
    import pyarrow.parquet as pq

    from analysis.outputs import write_events
    from sim import load_scenario, run

    result = run(load_scenario(DEFAULT, {"population.size": 1500, "warmup_days": 7,
                                         "duration_days": 28}))
    for name in ("appointments", "requests", "patients", "emergency"):
        table = result.tables[name]
        path = tmp_path / f"{name}.parquet"
        write_events(table, path)
        table.to_parquet(tmp_path / "every_column.parquet", index=False)  # pyarrow's default
        pd.testing.assert_frame_equal(pd.read_parquet(path),
                                      pd.read_parquet(tmp_path / "every_column.parquet"),
                                      obj=name)
        assert len(table) and path.stat().st_size < (tmp_path / "every_column.parquet").stat(
        ).st_size
        meta = pq.ParquetFile(path).metadata.row_group(0)
        for i in range(meta.num_columns):
            column = meta.column(i)
            dictionary = column.dictionary_page_offset is not None
            categorical = isinstance(table[column.path_in_schema].dtype, pd.CategoricalDtype)
            assert dictionary == categorical, (name, column.path_in_schema)


def test_a_runs_tables_are_the_bytes_pandas_would_write(tmp_path):
    """Converted on one thread, each table is byte for byte ``to_parquet``'s file."""
    from analysis.outputs import write_events
    from sim import load_scenario, run

    result = run(load_scenario(DEFAULT, {"population.size": 1500, "warmup_days": 7,
                                         "duration_days": 28}))
    attrs = pd.DataFrame({"x": [1.5, np.nan], "s": ["a", None]})
    attrs.attrs = {"note": "kept"}
    for name, table in [*((n, result.tables[n]) for n in (
            "appointments", "requests", "unmet", "clinician_days", "patients", "emergency")),
            ("with attrs", attrs)]:
        ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
        write_events(table, ours)
        table.to_parquet(theirs, index=False, use_dictionary=[
            c for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)])
        assert ours.read_bytes() == theirs.read_bytes(), name
