"""End-to-end tests of the command line, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import yaml
from conftest import BAD, DEFAULT, ROOT

import run as cli
from analysis import SUMMARY_COLUMNS
from sim import load_scenario

SMALL = ["--set", "population.size=2000", "--set", "warmup_days=14", "--set", "duration_days=28"]


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_validate_good_file_exits_0():
    p = sh("validate", str(DEFAULT))
    assert p.returncode == 0, p.stderr
    assert "ok:" in p.stdout


def test_validate_bad_files_exit_2_without_traceback():
    p = sh("validate", str(DEFAULT), str(BAD / "unknown_key.yaml"), str(BAD / "unsafe_tag.yaml"),
           str(BAD / "empty.yaml"))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "did you mean 'population'" in p.stderr
    assert "unsafe or unknown YAML tag" in p.stderr
    assert "3 of 4 file(s) invalid" in p.stderr


def test_run_bad_scenario_exits_2(tmp_path):
    p = sh("run", str(BAD / "wrong_type.yaml"), "--out", str(tmp_path / "out"))
    assert p.returncode == 2
    assert "population.size" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_run_bad_set_exits_2(tmp_path):
    p = sh("run", str(DEFAULT), "--set", "nonsense", "--out", str(tmp_path))
    assert p.returncode == 2 and "KEY=VALUE" in p.stderr


def test_run_writes_every_output(tmp_path):
    out = tmp_path / "res"
    p = sh("run", str(DEFAULT), "--out", str(out), "--seed", "42", *SMALL)
    assert p.returncode == 0, p.stderr
    assert str(out) in p.stdout
    from analysis.outputs import RUN_FILES

    for name in RUN_FILES:
        assert (out / name).stat().st_size > 0, name
    assert set(json.loads((out / "metadata.json").read_text())["files"]) == set(RUN_FILES) - {
        "metadata.json"}
    summary = pd.read_csv(out / "summary.csv")
    required = ["consultations_per_patient_year", "same_day_share", "routine_wait_mean_days",
                "routine_wait_p90_days", "urgent_same_day_share", "unmet_requests", "dna_rate",
                "utilisation"]
    assert set(required) <= set(summary.columns)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    for col in ("ae_per_1000", "ae_access_per_1000", "ae_continuity_per_1000",
                "admissions_per_1000"):
        assert "PROXY" in SUMMARY_COLUMNS[col]
    by_cohort = pd.read_csv(out / "summary_by_cohort.csv")
    assert by_cohort["cohort"].tolist()[0] == "all"
    appts = pd.read_parquet(out / "appointments.parquet")
    for col in ("patient_id", "clinician_id", "role", "requested_at", "appointment_at",
                "wait_days", "urgency", "mode", "attended"):
        assert col in appts.columns
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["seed"] == 42
    assert resolved["population"]["size"] == 2000
    # The resolved scenario reproduces the run.
    assert load_scenario(out / "scenario.resolved.yaml").seed == 42
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 42 and len(meta["scenario_sha256"]) == 64
    assert set(meta["files"]) >= {"summary.csv", "appointments.parquet"}
    assert (out / "wait_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert sh("run", str(DEFAULT), "--out", str(out), "--seed", "9", *SMALL).returncode == 0
    for name in ("summary.csv",):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(a / "appointments.parquet"),
                                  pd.read_parquet(b / "appointments.parquet"))


def test_failed_run_leaves_existing_results_untouched(tmp_path, monkeypatch):
    out = tmp_path / "res"
    assert cli.main(["run", str(DEFAULT), "--out", str(out), *SMALL]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("analysis.plots.wait_distribution", broken)
    code = cli.main(["run", str(DEFAULT), "--out", str(out), *SMALL, "--seed", "99"])
    assert code == 1
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before, "the earlier results are as they were, and nothing half-written"
    assert not [p for p in out.iterdir() if p.is_dir()], "no staging folder left"


def test_schema_command_prints_json_schema():
    p = sh("schema")
    assert p.returncode == 0
    schema = json.loads(p.stdout)
    assert schema["additionalProperties"] is False
    assert {"population", "demand", "clinicians", "roles"} <= set(schema["properties"])


def test_validate_recognises_and_checks_every_shipped_file():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").rglob("*.yaml"))
    assert len(files) >= 11
    p = sh("validate", *files)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("ok: ") == len(files)
    assert "network 'BNSSG" in p.stdout and "40 practices" in p.stdout
    assert "sweep 'Booking approach by GP capacity': 9 points x 5 replications = 45 runs" \
        in p.stdout


def test_a_file_of_the_wrong_kind_gets_a_one_line_hint(tmp_path):
    p = sh("network", str(DEFAULT), "--out", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.count("error:") == 1
    assert "this is a scenario file: use it with 'run', 'compare' or 'validate'" in p.stderr
    p = sh("sweep", str(ROOT / "scenarios" / "networks" / "example_pcn.yaml"))
    assert p.returncode == 2 and "this is a network file" in p.stderr


def test_help_says_no_command_runs_the_default_comparison():
    p = sh("--help")
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    assert "'run.py' with no command runs the default comparison" in text
    assert "--debug" in text


def test_the_installed_module_command_matches_run_py():
    p = subprocess.run([sys.executable, "-m", "gpsim", "validate", str(DEFAULT)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0 and "ok: " in p.stdout, p.stderr
    p = subprocess.run([sys.executable, "-m", "gpsim", "--help"], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert "usage: gpsim" in p.stdout


def test_pyproject_declares_the_console_command():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["gpsim"] == "gpsim.cli:entry"
    assert meta["build-system"]["build-backend"] == "setuptools.build_meta"


def test_the_entry_point_exits_with_the_commands_status_and_all_its_output(tmp_path):
    """``entry`` (the console command) exits as main() returns, output flushed."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n", encoding="utf-8")
    for args, status in (([str(DEFAULT)], 0), ([str(bad)], 2)):
        p = subprocess.run([sys.executable, "-m", "gpsim", "validate", *args], cwd=ROOT,
                           capture_output=True, text=True)
        assert p.returncode == status, p.stderr
        assert ("ok: " in p.stdout) if status == 0 else ("YAML syntax error" in p.stderr)


def test_the_scenario_reference_is_generated_from_the_schema():
    """docs/scenario-reference.md cannot drift: it must equal what the schema gives now."""
    from gpsim.reference import render_reference

    text = render_reference()
    assert (ROOT / "docs" / "scenario-reference.md").read_text() == text, (
        "regenerate: python run.py schema --markdown --out docs/scenario-reference.md")
    for key in ("booking_horizon_days", "values_continuity_share", "care_plan_reviews",
                "team_wait_days", "max_list_size"):
        assert f"`{key}`" in text
