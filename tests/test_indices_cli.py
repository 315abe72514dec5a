"""`run.py indices`: a practice's own visit export through the same index code.

The messy export (tests/data/visits/messy_export.csv) has unsorted rows,
dates and date-times in three ISO spellings, spaces after commas, leading
zeros in identifiers and a single-visit patient. Expected values by hand:

* patient 0007, all roles, in time order: A (Jan 3), A (Feb 11 08:15),
  B (Feb 11 16:45), B (Mar 30), N (Apr 20): N=5, counts A2 B2 N1.
  UPC 2/5; COC (4+4+1-5)/(5*4) = 0.2; SECON 2/4 (AA, BB); HHI (4+4+1)/25 = 0.36;
  MMCI (1 - 3/5.1)/(1 - 1/5.1); usual share 2/5.
* patient 00042: A (Jan 5), B (Feb 10), A (Mar 2): UPC 2/3, COC 1/3, SECON 0,
  HHI 5/9, MMCI (1 - 2/3.1)/(1 - 1/3.1), usual share 2/3.
* patient 1: one visit, every index undefined (empty cells).
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from sim.files.outputs import LEDGER

DATA = ROOT / "tests" / "data" / "visits"


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def read_out(path):
    return pd.read_csv(path, dtype={"patient_id": str}, keep_default_na=True)


def mmci(m, n):
    return (1 - m / (n + 0.1)) / (1 - 1 / (n + 0.1))


def test_messy_export_gives_hand_computed_indices(tmp_path):
    out = tmp_path / "indices.csv"
    p = sh("indices", str(DATA / "messy_export.csv"), "--out", str(out))
    assert p.returncode == 0, p.stderr
    t = read_out(out)
    assert list(t.columns) == ["patient_id", "n_visits", "n_clinicians", "upc", "coc", "secon",
                               "hhi", "mmci", "usual_share"]
    assert t["patient_id"].tolist() == ["00042", "0007", "1"]  # kept exactly as written
    r = t.set_index("patient_id")
    expected = {
        "0007": [5, 3, 2 / 5, 0.2, 2 / 4, 0.36, mmci(3, 5), 2 / 5],
        "00042": [3, 2, 2 / 3, 1 / 3, 0.0, 5 / 9, mmci(2, 3), 2 / 3],
    }
    cols = ["n_visits", "n_clinicians", "upc", "coc", "secon", "hhi", "mmci", "usual_share"]
    for pid, values in expected.items():
        assert r.loc[pid, cols].tolist() == pytest.approx(values), pid
    assert r.loc["1", "n_visits"] == 1
    assert r.loc["1", cols[2:]].isna().all()  # undefined, written as empty cells
    line = out.read_text().splitlines()[-1]
    assert line == "1,1,1,,,,,,"
    assert "SLICC" in p.stdout and "OPR" in p.stdout


def test_practice_summary_is_written_beside_and_the_page_on_request(tmp_path):
    import html5lib

    out = tmp_path / "indices.csv"
    p = sh("indices", str(DATA / "messy_export.csv"), "--out", str(out), "--html")
    assert p.returncode == 0, p.stderr
    summary = pd.read_csv(tmp_path / "indices_summary.csv").set_index("measure")["value"]
    patients = read_out(out)
    assert summary["patients"] == len(patients) == 3
    assert summary["patients_with_indices"] == patients["upc"].notna().sum() == 2
    assert summary["upc_mean"] == pytest.approx(patients["upc"].mean())
    # The printed figures are the written ones.
    assert f"{summary['upc_mean']:.3f}" in p.stdout and "indices_summary.csv" in p.stdout
    page = (tmp_path / "indices.html").read_text()
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    assert tree.find(".//img").get("src").startswith("data:image/png;base64,")
    without = tmp_path / "plain" / "i.csv"
    assert sh("indices", str(DATA / "messy_export.csv"), "--out", str(without)).returncode == 0
    assert sorted(x.name for x in without.parent.iterdir() if x.name != LEDGER) == [
        "i.csv", "i_summary.csv"]


def test_min_visits_and_role_filter(tmp_path):
    out = tmp_path / "gp.csv"
    p = sh("indices", str(DATA / "messy_export.csv"), "--out", str(out), "--roles", "gp",
           "--min-visits", "4")
    assert p.returncode == 0, p.stderr
    r = read_out(out).set_index("patient_id")
    # GP visits only: 0007 has A A B B (4 visits), 00042 three (below the minimum).
    assert r.loc["0007", "upc"] == pytest.approx(0.5)
    assert r.loc["0007", "secon"] == pytest.approx(2 / 3)
    assert pd.isna(r.loc["00042", "upc"]) and r.loc["00042", "n_visits"] == 3
    # SLICC: GP visits with the usual GP, 2 of 4 (0007) + 2 of 3 (00042) + 1 of 1 (1) = 5/8;
    # OPR: DrA and DrC hold lists and see only their own patients.
    assert "SLICC (visits with the usual clinician)          0.625" in p.stdout
    assert "OPR (list-holders' visits with their own list)   1.000" in p.stdout


def test_observation_window(tmp_path):
    out = tmp_path / "window.csv"
    p = sh("indices", str(DATA / "messy_export.csv"), "--out", str(out), "--from", "2024-02-01",
           "--to", "2024-04-01")
    assert p.returncode == 0, p.stderr
    r = read_out(out).set_index("patient_id")
    assert r.loc["0007", "n_visits"] == 3  # Feb 11 (x2) and Mar 30
    assert "1" not in r.index  # the May visit is outside the window


@pytest.mark.parametrize(("content", "message"), [
    ("", "the file is empty"),
    ("patient_id,clinician_id\n1,A\n", "missing column(s) date"),
    ("patient_id,date,clinician_id\n", "header but no visits"),
    ("patient_id,date,clinician_id\n1,2024-01-01,A\n2,2024-13-01,A\n3,soon,B\n",
     "column date: unreadable at lines 3, 4"),
    ("patient_id,date,clinician_id\n1,2024-01-01,A\n2,31/01/2024,A\n",
     "column date: mixes ISO dates (e.g. '2024-01-01' on line 2) and dates with slashes "
     "(e.g. '31/01/2024' on line 3)"),
    ("patient_id,date,clinician_id\n1,2024-01-01,\n", "column clinician_id: blank at line 2"),
    ('patient_id,date,clinician_id\n1,"2024-01-01,A\n2,2024-01-02,B\n', "not a readable CSV"),
])
def test_bad_exports_exit_2_with_a_clear_message(tmp_path, content, message):
    f = tmp_path / "visits.csv"
    f.write_text(content)
    out = tmp_path / "out.csv"
    p = sh("indices", str(f), "--out", str(out))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert message in p.stderr, p.stderr
    assert str(f) in p.stderr
    assert not out.exists()


def test_binary_file_and_missing_file(tmp_path):
    f = tmp_path / "export.xlsx"
    f.write_bytes(b"PK\x03\x04\x00\x00binary")
    p = sh("indices", str(f), "--out", str(tmp_path / "o.csv"))
    assert p.returncode == 2 and "not a CSV text file" in p.stderr
    p = sh("indices", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv"))
    assert p.returncode == 2 and "no such file" in p.stderr
    p = sh("indices", str(DATA / "messy_export.csv"), "--out", str(tmp_path / "o.csv"),
           "--min-visits", "1")
    assert p.returncode == 2 and "--min-visits" in p.stderr


def test_every_problem_is_reported_in_one_pass(tmp_path):
    """A bad date on line 3 and a blank clinician on line 5: both, in one run."""
    f = tmp_path / "visits.csv"
    f.write_text("patient_id,date,clinician_id\n1,2024-01-01,A\n2,2024-02-30,A\n"
                 "3,2024-03-01,B\n4,2024-03-02,\n")
    p = sh("indices", str(f), "--out", str(tmp_path / "o.csv"))
    assert p.returncode == 2
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert any("column date: unreadable at line 3" in e for e in errors), p.stderr
    assert any("column clinician_id: blank at line 5" in e for e in errors), p.stderr


def test_many_problems_are_capped_with_a_count():
    from analysis.visits import MAX_PROBLEMS, VisitsError

    e = VisitsError([f"problem {i}" for i in range(MAX_PROBLEMS + 7)])
    lines = str(e).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == "... and 7 more problem(s)"


def test_uk_dates_are_read_day_first(tmp_path):
    """31/03/2024 09:30 is 31 March; 04/05/2024 is 4 May, or 5 April with --monthfirst."""
    f = tmp_path / "uk.csv"
    f.write_text("patient_id,date,clinician_id,role\n"
                 "1,04/05/2024,A,GP\n1,31/03/2024 09:30,A, gp\n1,01/06/2024 10:00:15,B,Nurse\n")
    out = tmp_path / "o.csv"
    p = sh("indices", str(f), "--out", str(out), "--from", "2024-04-15")
    assert p.returncode == 0, p.stderr
    assert read_out(out).set_index("patient_id").loc["1", "n_visits"] == 2  # 4 May, 1 June
    assert "1 before 2024-04-15" in p.stdout
    p = sh("indices", str(f), "--out", str(out), "--from", "2024-04-15", "--monthfirst")
    assert p.returncode == 2 and "column date: unreadable at line 3" in p.stderr  # month 31


def test_roles_are_compared_without_case_and_exclusions_are_counted(tmp_path):
    f = tmp_path / "roles.csv"
    f.write_text("patient_id,date,clinician_id,role\n"
                 "1,2024-01-01,A,GP\n1,2024-01-02,A, gp\n1,2024-01-03,B,Nurse\n"
                 "1,2024-01-04,C,Gp \n")
    out = tmp_path / "o.csv"
    p = sh("indices", str(f), "--out", str(out), "--roles", "gp")
    assert p.returncode == 0, p.stderr
    assert read_out(out).set_index("patient_id").loc["1", "n_visits"] == 3
    assert "4 visits read; left out: 1 with a role other than gp." in p.stdout
