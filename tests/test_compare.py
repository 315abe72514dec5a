"""`run.py compare` and `run.py report`: replications, intervals, plots, the HTML report."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from analysis.compare import COMPARED
from analysis.report import HEADLINE, PLOTS

POLICY_DIR = ROOT / "scenarios" / "policies"
QUICK = ["--set", "population.size=2500", "--set", "warmup_days=14", "--set",
         "duration_days=56"]
PNG = b"\x89PNG\r\n\x1a\n"


def sh(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "two"
    p = sh("compare", str(POLICY_DIR / "access_first.yaml"),
           str(POLICY_DIR / "usual_gp_first.yaml"), "-r", "3", "--workers", "2",
           "--out", str(out), *QUICK)
    assert p.returncode == 0, p.stderr
    assert "run/s" not in p.stderr and "%|" not in p.stderr, "no progress bar when piped"
    return out, p


def test_comparison_tables_cover_every_scenario_and_metric(comparison):
    out, p = comparison
    assert str(out / "report.html") in p.stdout
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["scenario"]) == {"access_first", "usual_gp_first"}
    assert set(comp["metric"]) == set(COMPARED)
    assert (comp["n"] == 3).all()
    diff = pd.read_csv(out / "differences.csv")
    assert set(diff["scenario"]) == {"usual_gp_first"}
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6 and sorted(runs["replication"].unique()) == [0, 1, 2]
    # The interval in the table is the one computed from the runs.
    from analysis.stats import mean_ci

    row = comp[(comp["scenario"] == "usual_gp_first") & (comp["metric"] == "upc_mean")].iloc[0]
    mean, low, high, _ = mean_ci(runs.loc[runs["scenario"] == "usual_gp_first", "upc_mean"])
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((mean, low, high))


def test_every_plot_is_a_png_and_the_report_is_self_contained(comparison):
    out, _ = comparison
    for f, *_ in PLOTS:
        data = (out / "plots" / f).read_bytes()
        assert data[:8] == PNG and len(data) > 5000, f
    report = (out / "report.html").read_text()
    assert report.count('src="data:image/png;base64,') == len(PLOTS)
    assert "src=\"http" not in report and "<link" not in report
    for name in ("Default practice, access-first", "Default practice, usual-GP-first"):
        assert name in report
    for _, label, _, _ in HEADLINE:
        assert label.replace("&", "&amp;").replace("'", "&#x27;") in report
    for metric in COMPARED:
        assert f"<td>{metric}</td>" in report
    assert "proxies for comparing policies, not forecasts" in report
    assert "STRESS-DES" in report and "policy.name" in report


def test_report_rerenders_from_saved_results(comparison):
    out, _ = comparison
    before = (out / "comparison.csv").read_bytes()
    (out / "report.html").unlink()
    for f, *_ in PLOTS:
        (out / "plots" / f).unlink()
    p = sh("report", str(out))
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").stat().st_size > 10000
    assert all((out / "plots" / f).read_bytes()[:8] == PNG for f, *_ in PLOTS)
    assert (out / "comparison.csv").read_bytes() == before


def test_report_of_a_folder_that_is_not_a_comparison_exits_2(tmp_path):
    p = sh("report", str(tmp_path))
    assert p.returncode == 2 and "not a comparison folder" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_parallel_equals_sequential(comparison, tmp_path):
    out, _ = comparison
    p = sh("compare", str(POLICY_DIR / "access_first.yaml"),
           str(POLICY_DIR / "usual_gp_first.yaml"), "-r", "3", "--workers", "1",
           "--out", str(tmp_path / "seq"), *QUICK)
    assert p.returncode == 0, p.stderr
    a = pd.read_csv(out / "runs.csv")
    b = pd.read_csv(tmp_path / "seq" / "runs.csv")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_run_with_no_arguments_writes_the_default_comparison():
    p = sh(timeout=900)
    assert p.returncode == 0, p.stderr
    out = ROOT / "results" / "default_comparison"
    assert str(out / "report.html") in p.stdout
    comp = pd.read_csv(out / "comparison.csv")
    assert list(dict.fromkeys(comp["scenario"])) == [
        "access_first", "usual_gp_first", "clinical_champion", "personalised_micro_teams"]
    assert (comp.dropna(subset=["mean"])["n"] == 10).all()
    validation = pd.read_csv(out / "validation.csv")
    base = validation[validation["scenario"] == "access_first"]
    assert len(base) >= 15 and base["within"].all()


def test_run_comparison_from_python_without_the_cli(tmp_path):
    """The library call behind `compare`: loaded scenarios in, a comparison folder out."""
    import json

    from gpsim.compare import run_comparison
    from sim import load_scenario

    quick = {"population.size": 1500, "warmup_days": 7, "duration_days": 28}
    a = load_scenario(POLICY_DIR / "access_first.yaml", quick)
    b = load_scenario(POLICY_DIR / "micro_team.yaml", quick)
    seen = []
    result = run_comparison([a, b], tmp_path / "out", replications=2, seed=3,
                            on_start=lambda labels, runs, procs: seen.append((labels, runs)))
    assert seen == [(result.labels, 4)] and result.runs == 4 and result.seed == 3
    assert result.labels[0].startswith("Default_practice")
    comp = pd.read_csv(result.out / "comparison.csv")
    assert set(comp["scenario"]) == set(result.labels)
    manifest = json.loads((result.out / "metadata.json").read_text())["files"]
    assert "report.html" in manifest and "comparison.csv" in manifest
    meta = json.loads((result.out / "comparison.json").read_text())
    assert meta["seeds"] == [3] and meta["replications"] == 2


def test_run_network_study_from_python(tmp_path):
    from gpsim.network import run_network_study

    net = tmp_path / "net.yaml"
    net.write_text("name: two\nseed: 5\npractices:\n"
                   f"  - {{id: a, scenario: {POLICY_DIR / 'access_first.yaml'}, set: "
                   "{population.size: 1200, warmup_days: 7, duration_days: 21}}\n"
                   f"  - {{id: b, scenario: {POLICY_DIR / 'usual_gp_first.yaml'}, set: "
                   "{population.size: 1500, warmup_days: 7, duration_days: 21}}\n")
    result = run_network_study(net, tmp_path / "out", workers=1, summary_only=True)
    assert list(result.summary["practice_id"]) == ["a", "b", "network"]
    assert result.summary.iloc[-1]["patients"] == 2700
    assert (result.out / "network_summary.csv").is_file()
    assert not (result.out / "practices").exists()
