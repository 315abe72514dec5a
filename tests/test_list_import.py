"""A real list as the population: round trip, and refusal of bad files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from sim import ScenarioError, load_scenario, run

SHORT = {"warmup_days": 7, "duration_days": 28}


def scenario_with_list(tmp_path, csv_text: str | None = None, df: pd.DataFrame | None = None):
    f = tmp_path / "list.csv"
    if df is not None:
        df.to_csv(f, index=False)
    else:
        f.write_text(csv_text)
    s = tmp_path / "practice.yaml"
    s.write_text(f"extends: {DEFAULT}\npopulation:\n  list_file: list.csv\n")
    return s


def test_list_round_trips(tmp_path):
    base = run(load_scenario(DEFAULT, {**SHORT, "population.size": 1200}))
    p = base.patients
    export = pd.DataFrame({
        "patient_id": [f"{i:06d}" for i in range(len(p))],  # leading zeros
        "age_band": p["age_band"].astype(str), "sex": np.where(p.index % 2, "F", "M"),
        "n_ltc": p["n_ltc"], "housebound": p["housebound"].map({True: "yes", False: "no"}),
        "usual_gp": p["usual_clinician_id"].astype(str),
        "cohort_frequent_attenders": p.index < 50,
    })
    s = load_scenario(scenario_with_list(tmp_path, df=export), SHORT)
    assert s.population.size == 1200
    res = run(s)
    q = res.patients
    assert q["list_patient_id"].tolist() == export["patient_id"].tolist()
    assert q["sex"].tolist() == export["sex"].tolist()
    for col in ("age_band", "n_ltc", "housebound"):
        assert q[col].astype(str).tolist() == p[col].astype(str).tolist(), col
    assert q["usual_clinician_id"].astype(str).tolist() == export["usual_gp"].tolist()
    # Flags in the file define the cohort, not the search rule.
    assert q["cohort_frequent_attenders"].tolist() == export["cohort_frequent_attenders"].tolist()
    assert len(res.appointments) > 500


def test_ages_and_blank_usual_gps(tmp_path):
    text = ("patient_id,age,n_ltc,housebound,usual_gp\n"
            + "".join(f"{i},{a},0,,\n" for i, a in enumerate([0, 4, 5, 44, 45, 85, 101] * 300)))
    s = load_scenario(scenario_with_list(tmp_path, text), SHORT)
    res = run(s)
    bands = res.patients["age_band"].astype(str).tolist()[:7]
    assert bands == ["0-4", "0-4", "5-14", "25-44", "45-64", "85+", "85+"]
    sizes = res.patients["usual_clinician_id"].astype(str).value_counts()
    assert sizes.sum() == 2100 and len(sizes) == 8  # everyone got a usual GP, all 8 GPs


@pytest.mark.parametrize(("text", "message"), [
    ("", "the list file is empty"),
    ("patient_id,sex\n1,F\n", "missing column age_band (or age)"),
    ("age_band\n", "header but no patients"),
    ("age_band\n25-44\n26-44\n", "column age_band: unknown band at line 3"),
    ("age\n40\nforty\n-3\n", "column age: not an age in years at lines 3, 4"),
    ("age_band,n_ltc\n25-44,1\n25-44,1.5\n", "column n_ltc: not a whole number >= 0 at line 3"),
    ("age_band,housebound\n25-44,maybe\n", "column housebound: not true/false at line 2"),
    ("age_band,usual_gp\n25-44,gp_nobody\n", "column usual_gp: not a list-holding clinician"),
    ("age_band,usual_gp\n25-44,pn_khan\n", "column usual_gp: not a list-holding clinician"),
    ("age_band,cohort_vips\n25-44,yes\n", "the scenario has no cohort 'vips'"),
    ("patient_id,age_band\n7,25-44\n7,25-44\n", "column patient_id: repeated at line 3"),
])
def test_bad_list_files_are_refused(tmp_path, text, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_with_list(tmp_path, text))
    msg = str(info.value)
    assert "population.list_file" in msg and "list.csv" in msg
    assert message in msg, msg


def test_bad_list_file_from_the_cli_exits_2(tmp_path):
    f = scenario_with_list(tmp_path, "age_band\nold\n")
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(f)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "unknown band at line 2" in p.stderr


def test_missing_list_file(tmp_path):
    s = tmp_path / "practice.yaml"
    s.write_text(f"extends: {DEFAULT}\npopulation:\n  list_file: nowhere.csv\n")
    with pytest.raises(ScenarioError, match="list file not found"):
        load_scenario(s)
