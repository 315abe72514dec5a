"""Many practices in one scenario: summaries that add up, and the same results in any process."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from analysis.network import network_summaries
from sim import ScenarioError
from sim.network import load_network, practice_seed, run_network

SMALL = "{population.size: %d, warmup_days: 7, duration_days: 42}"


def network_file(tmp_path, sizes=(1500, 2500), extra=""):
    lines = ["name: test network", "seed: 11", "practices:"]
    for i, n in enumerate(sizes):
        lines.append(f"  - {{id: p{i}, scenario: {DEFAULT}, set: {SMALL % n}}}")
    f = tmp_path / "net.yaml"
    f.write_text("\n".join(lines) + "\n" + extra)
    return f


@pytest.fixture(scope="module")
def two_practices(tmp_path_factory):
    net = load_network(network_file(tmp_path_factory.mktemp("net")))
    return net, list(run_network(net, workers=1))


def test_practices_get_their_own_seeds(two_practices):
    net, _ = two_practices
    seeds = [s.seed for _, s in net.practices]
    assert seeds == [practice_seed(11, "p0"), practice_seed(11, "p1")]
    assert seeds[0] != seeds[1]


def test_network_summary_adds_up(two_practices):
    _, results = two_practices
    table, by_cohort = network_summaries(results)
    assert table["practice_id"].tolist() == ["p0", "p1", "network"]
    per, net = table.iloc[:2], table.iloc[2]
    for col in ("patients", "requests", "appointments", "unmet_requests", "gave_up_requests",
                "cancelled_by_practice"):
        assert net[col] == per[col].sum(), col
    years = 42 / 365.25
    for col in ("ae_per_1000", "admissions_per_1000", "consultations_per_patient_year"):
        # Rates: the list-weighted mean of the practices' rates.
        assert net[col] == pytest.approx((per[col] * per["patients"]).sum() / net["patients"])
    events = sum(len(r.emergency) for _, r in results)
    assert (net["ae_per_1000"] + net["admissions_per_1000"]) * net["patients"] * years / 1000 \
        == pytest.approx(events)
    assert by_cohort.set_index("cohort").loc["all", "patients"] == 4000


def test_one_process_or_several_give_identical_results(tmp_path, two_practices):
    net, seq = two_practices
    par = list(run_network(net, workers=2))
    assert [pid for pid, _ in par] == ["p0", "p1"]
    for (_, a), (_, b) in zip(seq, par, strict=True):
        pd.testing.assert_frame_equal(a.appointments, b.appointments)
        pd.testing.assert_frame_equal(a.emergency, b.emergency)


def test_adding_a_practice_leaves_the_others_unchanged(tmp_path, two_practices):
    _, before = two_practices
    net = load_network(network_file(tmp_path, sizes=(1500, 2500, 1000)))
    after = dict(run_network(net, workers=1))
    pd.testing.assert_frame_equal(before[0][1].appointments, after["p0"].appointments)


def test_bad_network_files(tmp_path):
    f = network_file(tmp_path, extra="")
    f.write_text(f.read_text().replace("population.size", "population.sise", 1))
    with pytest.raises(ScenarioError, match=r"net\.yaml: practices\[0\]: practice 'p0'.*sise"):
        load_network(f)
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: a, scenario: {DEFAULT}}}\n")
    with pytest.raises(ScenarioError, match="practice ids must be unique"):
        load_network(f)
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: b, scenario: {DEFAULT}, set: {{duration_days: 30}}}}\n")
    with pytest.raises(ScenarioError, match="different start_date, warmup_days or duration"):
        load_network(f)


def test_network_cli(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network",
                        str(network_file(tmp_path)), "--out", str(out), "--workers", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    table = pd.read_csv(out / "network_summary.csv")
    assert table["practice_id"].tolist() == ["p0", "p1", "network"]
    assert (out / "practices" / "p0" / "summary.csv").is_file()
    assert (out / "network_summary_by_cohort.csv").is_file()
