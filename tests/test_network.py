"""Many practices in one scenario: summaries that add up, and the same results in any process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT, ROOT

from analysis.network import network_summaries
from sim import ScenarioError
from sim.inputs.networks import load_network, practice_seed
from sim.runs.network import largest_first, run_network, run_network_replications

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


def test_network_summary_from_parts_equals_summarising_the_pooled_tables(two_practices):
    """Adding the practices' parts gives what pooling every row would (incl. the p90 wait)."""
    from analysis.network import pool_tables
    from analysis.summary import summarise, summarise_by_cohort

    _, results = two_practices
    table, by_cohort = network_summaries(results)
    pooled = pool_tables(results)
    s = results[0][1].scenario
    roles = tuple(r for r, role in s.roles.items() if role.holds_list)
    expect = summarise(pooled, 4000, s.duration_days, roles, s.relationship_depth.points)
    got = table.iloc[[-1]][list(expect.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expect, check_dtype=False, rtol=1e-12)
    expect_c = summarise_by_cohort(pooled, s.duration_days, roles, s.relationship_depth.points)
    pd.testing.assert_frame_equal(by_cohort, expect_c, check_dtype=False, rtol=1e-12)


def test_compare_reduces_a_network_practice_by_practice_as_if_pooled(two_practices):
    """Compare keeps the same tables of a network whether practices are pooled or added up."""
    from types import SimpleNamespace

    from analysis.compare import DATA_TABLES, reduce_network, reduce_practice, reduce_run
    from analysis.network import pool_tables

    _, results = two_practices
    by_practice = reduce_network([(pid, reduce_practice(pid, r)) for pid, r in results])
    first = results[0][1].scenario
    population = first.population.model_copy(update={"size": 4000})
    pooled = reduce_run(SimpleNamespace(
        scenario=first.model_copy(update={"population": population}),
        tables=pool_tables(results)))
    for name in DATA_TABLES:
        a = by_practice[name].reset_index(drop=True)
        b = pooled[name].reset_index(drop=True)
        if name == "patient_continuity":
            a, b = (x.sort_values("patient_id").reset_index(drop=True) for x in (a, b))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False,
                                      rtol=1e-6, obj=name)


def test_one_process_or_several_give_identical_results(tmp_path, two_practices):
    net, seq = two_practices
    par = list(run_network(net, workers=2))
    assert [pid for pid, _ in par] == ["p0", "p1"]
    for (_, a), (_, b) in zip(seq, par, strict=True):
        pd.testing.assert_frame_equal(a.appointments, b.appointments)
        pd.testing.assert_frame_equal(a.emergency, b.emergency)


def test_workers_start_the_largest_practices_first(tmp_path):
    net = load_network(network_file(tmp_path, sizes=(1000, 2500, 1500, 2500)))
    practices = list(net.practices)
    # most patients first; the two of 2,500 in the network's order
    assert largest_first(practices) == [1, 3, 2, 0]
    longer = [(pid, s.model_copy(update={"duration_days": s.duration_days * 3}))
              if pid == "p0" else (pid, s) for pid, s in practices]
    assert largest_first(longer)[0] == 0  # 1,000 patients for three times as long
    # started in that order, the results still come in the network's order
    assert [pid for pid, _ in run_network(net, workers=2)] == ["p0", "p1", "p2", "p3"]


def test_replications_in_one_batch_are_each_replications_own_run(tmp_path):
    """All replications' practices go to the workers at once, and come back as run one by one."""
    from analysis.network import PracticeParts
    from gpsim.network import PracticeSummary

    net = load_network(network_file(tmp_path, sizes=(1000, 2500, 1500)))
    ks = range(3, 6)
    summary = PracticeSummary(net.hub_ids)
    together = list(run_network_replications(net, ks, workers=2,
                                             reducers=dict.fromkeys(ks, summary)))
    # Replication by replication, each in the network's order.
    assert [(k, pid) for k, pid, _ in together] == [(k, p) for k in ks for p in ("p0", "p1", "p2")]
    for k in ks:
        alone = list(run_network(net, k, workers=1, reducer=summary))
        for (pid, a), (_, got_pid, b) in zip(alone, [t for t in together if t[0] == k],
                                             strict=True):
            assert isinstance(b, PracticeParts) and pid == got_pid
            assert network_summaries([(pid, a)])[0].equals(network_summaries([(pid, b)])[0])


def test_a_batch_sends_each_network_practice_as_a_task_of_its_own(tmp_path, monkeypatch):
    """Compare's batches: a network's practices fill the workers, reduced as one run."""
    import sim.runs.batch as batch
    from gpsim.network import PracticeSummary

    net = load_network(network_file(tmp_path, sizes=(1000, 2500, 1500)))
    summary = PracticeSummary(net.hub_ids)
    sent = []
    execute = batch.execute

    def recorded(tasks, fn, **kw):
        sent.extend(tasks)
        return execute(tasks, fn, **kw)

    monkeypatch.setattr(batch, "execute", recorded)
    got = list(batch.run_batch([("a", net, 0), ("b", net, 1)], None, workers=2,
                               network_reducer=network_summaries, practice_reducer=summary))
    # Six tasks, one per practice and replication: largest first within each network.
    assert [(task[1], task[2]) for task in sent] == [(0, "p1"), (0, "p2"), (0, "p0"),
                                                    (1, "p1"), (1, "p2"), (1, "p0")]
    assert sorted((label, k) for label, k, _ in got) == [("a", 0), ("b", 1)]
    for label, k, (table, by_cohort) in got:
        # The network reduced from its practices in the network's order, as one run.
        alone, alone_cohort = network_summaries(list(run_network(net, k, reducer=summary)))
        assert list(table["practice_id"]) == ["p0", "p1", "p2", "network"], label
        pd.testing.assert_frame_equal(table, alone)
        pd.testing.assert_frame_equal(by_cohort, alone_cohort)
    with pytest.raises(ValueError, match="network_reducer"):
        next(batch.run_batch([("a", net, 0)], None))


def test_adding_a_practice_leaves_the_others_unchanged(tmp_path, two_practices):
    _, before = two_practices
    net = load_network(network_file(tmp_path, sizes=(1500, 2500, 1000)))
    after = dict(run_network(net, workers=1))
    pd.testing.assert_frame_equal(before[0][1].appointments, after["p0"].appointments)


def test_bad_network_files(tmp_path):
    f = network_file(tmp_path, extra="")
    f.write_text(f.read_text().replace("population.size", "population.sise", 1))
    with pytest.raises(ScenarioError, match=r"net\.yaml:\d+: practices\[0\]\.set\."
                       r"population\.sise: unknown key 'sise'; did you mean 'size'\? "
                       r"\(practice p0\)"):
        load_network(f)
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: a, scenario: {DEFAULT}}}\n")
    with pytest.raises(ScenarioError, match="practice ids must be unique"):
        load_network(f)
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: b, scenario: {DEFAULT}, set: {{duration_days: 30}}}}\n")
    with pytest.raises(ScenarioError, match="different start_date, warmup_days or duration"):
        load_network(f)


def test_on_spec_sees_the_network_file_before_its_practices_are_read(tmp_path):
    seen = []
    net = load_network(network_file(tmp_path, sizes=(1500, 2500, 900)),
                       on_spec=lambda spec: seen.append([p.id for p in spec.practices]))
    assert seen == [["p0", "p1", "p2"]] and len(net.practices) == 3
    # A practice's bad key is found after: the file itself was read and valid.
    f = network_file(tmp_path)
    f.write_text(f.read_text().replace("population.size", "population.sise", 1))
    seen.clear()
    with pytest.raises(ScenarioError, match="unknown key 'sise'"):
        load_network(f, on_spec=lambda spec: seen.append(len(spec.practices)))
    assert seen == [2]
    # A bad network file: nothing to start for.
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: a, scenario: {DEFAULT}}}\n")
    with pytest.raises(ScenarioError, match="practice ids must be unique"):
        load_network(f, on_spec=seen.append)
    assert seen == [2]


@pytest.mark.parametrize("replications, started", [(1, 2), (2, 4)])
def test_the_network_command_starts_no_more_workers_than_it_has_runs(
        tmp_path, monkeypatch, capsys, replications, started):
    import run as cli
    import sim.runs.executor as executor

    real, asked = executor.kept_workers, []

    def kept_workers(workers, prepare=None):
        asked.append(workers)
        return real(workers, prepare)

    monkeypatch.setattr(executor, "kept_workers", kept_workers)
    assert cli.main(["network", str(network_file(tmp_path)), "--out", str(tmp_path / "out"),
                     "--summary-only", "--workers", "8",
                     "--replications", str(replications)]) == 0
    assert asked == [started], "two practices: as many workers as runs, not eight"
    assert f"{started} process(es)" in capsys.readouterr().out


def test_the_network_s_tail_forks_with_no_thread_of_the_workers_beside(tmp_path, monkeypatch):
    """The command keeps its workers for the runs only: their pool's threads are gone by the tail.

    The tail forks processes to draw the practices' figure and write the monthly
    tables; the kept workers' pool (its manager and queue-feeder threads) once
    ran until the command ended, beside those forks.
    """
    import contextlib
    import threading

    import analysis.report
    import run as cli

    real, seen = analysis.report.written_aside, []

    @contextlib.contextmanager
    def counted(*writes, **kwargs):
        seen.append(threading.active_count())
        with real(*writes, **kwargs):
            yield

    monkeypatch.setattr(analysis.report, "written_aside", counted)
    before = threading.active_count()
    assert cli.main(["network", str(network_file(tmp_path)), "--out", str(tmp_path / "out"),
                     "--summary-only", "--workers", "2"]) == 0
    assert seen == [before]
    assert (tmp_path / "out" / "plots" / "practices.png").is_file()


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
    # --summary-only: the same summary tables, and no practice files.
    brief = tmp_path / "brief"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network",
                        str(network_file(tmp_path)), "--out", str(brief), "--summary-only"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    for name in ("network_summary.csv", "network_summary_by_cohort.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(brief / name), pd.read_csv(out / name))
    assert not (brief / "practices").exists()


def test_network_report_over_replications(tmp_path):
    """--replications 2: the first replication's tables as before, intervals, and a report."""
    import html5lib

    out = tmp_path / "reps"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network",
                        str(network_file(tmp_path)), "--out", str(out), "-r", "2",
                        "--summary-only"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "replications 0 to 1" in p.stdout and str(out / "report.html") in p.stdout
    reps = pd.read_csv(out / "network_replications.csv")
    assert sorted(reps["replication"].unique()) == [0, 1]
    first = reps[reps["replication"] == 0].drop(columns="replication").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, pd.read_csv(out / "network_summary.csv"))
    assert not reps[reps["replication"] == 1].drop(columns="replication").reset_index(
        drop=True).equals(first)
    intervals = pd.read_csv(out / "network_intervals.csv")
    row = intervals[(intervals["practice_id"] == "network")
                    & (intervals["metric"] == "upc_mean")].iloc[0]
    values = reps.loc[reps["practice_id"] == "network", "upc_mean"]
    assert row["n"] == 2 and row["mean"] == pytest.approx(values.mean())
    assert row["low"] < row["mean"] < row["high"]
    report = (out / "report.html").read_text()
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(report)
    assert [img.get("src")[:22] for img in tree.findall(".//img")] == ["data:image/png;base64,"]
    text = " ".join(tree.itertext())
    assert "test network" in text and "mean of 2 replications" in text
    assert "p0" in text and "p1" in text and "The network as a whole" in text
    # the default practice records a warm-up check of 175 days; these practices warm up 7
    assert "after a 7-day warm-up" in text and "shorter than the 175 days" in text


# ------------------------------------------------------------------ extended-access hub

HUB = """hub:
  session_starts: {ev: "18:30"}
  clinicians:
    - {id: hub_gp_1, role: gp, sessions: [mon_ev, wed_ev, fri_ev], slots_per_session: 9}
    - {id: hub_gp_2, role: gp, sessions: [tue_ev, thu_ev]}
"""


def test_allocation_shares_every_slot():
    from sim.inputs.networks import allocate

    assert allocate(9, [8000, 12000, 10000]) == [2, 4, 3]
    assert allocate(16, [1500, 2500]) == [6, 10]
    assert allocate(1, [10, 10, 10]) == [1, 0, 0]


def _slot_times(world, cid):
    from sim.engine.calendar import Calendar

    cal = Calendar(world.slots)
    c = world.workforce.ids.index(cid)
    times = []
    for pool in (0, 1):
        for d in range(cal.n_days):
            k = pool * cal.n_cells + c * cal.n_days + d
            times += cal._times[cal._start[k]:cal._end[k]]
    return times


@pytest.fixture(scope="module")
def hub_network(tmp_path_factory):
    f = network_file(tmp_path_factory.mktemp("hub"), sizes=(1500, 2500), extra=HUB)
    net = load_network(f)
    return net, list(run_network(net, workers=2))


def test_hub_slots_are_shared_without_overlap(hub_network):
    from sim import build_world

    net, _ = hub_network
    models = [build_world(s) for _, s in net.practices]
    for cid, per_session in (("hub_gp_1", 9), ("hub_gp_2", 16)):
        per_practice = [set(_slot_times(m, cid)) for m in models]
        assert not per_practice[0] & per_practice[1], "a hub slot offered to two practices"
        union = per_practice[0] | per_practice[1]
        days = {int(t) for t in union}
        assert len(union) == per_session * len(days)  # every slot of every session, once
        assert min(t % 1 for t in union) == pytest.approx(18.5 / 24)
    # Hub clinicians hold no list, and are never off (the hub covers its own absence).
    for m in models:
        c = m.workforce.ids.index("hub_gp_1")
        assert not m.workforce.holds_list[c]
        assert not (m.patients.usual_clinician == c).any()
        assert not m.leave[c].any()
        assert all(sp[1] != c for sp in m.spells)


def test_every_practice_books_the_hub_and_no_slot_twice(hub_network):
    net, results = hub_network
    booked = []
    for pid, res in results:
        a = res.appointments
        a = a[a["clinician_id"].astype(str).isin(net.hub_ids)
              & (a["status"] != "cancelled_by_practice")]
        assert len(a) > 0, pid  # every practice can and does book the hub
        assert (a["appointment_at"].dt.strftime("%H:%M") >= "18:30").all()
        booked.append(a[["clinician_id", "appointment_at"]].astype({"clinician_id": str}))
    both = pd.concat(booked)
    assert not both.duplicated().any()
    table, _ = network_summaries(results, net.hub_ids)
    assert table["hub_appointments"].iloc[-1] == table["hub_appointments"].iloc[:-1].sum() > 0


def test_adding_a_hub_leaves_the_practices_streams_alone(two_practices, hub_network):
    _, plain = two_practices
    _, hub = hub_network
    for (_, a), (_, b) in zip(plain, hub, strict=True):
        # Same patients and the same demand; only the booking differs.
        pd.testing.assert_frame_equal(a.patients.astype(str), b.patients.astype(str))
        assert len(a.requests) == pytest.approx(len(b.requests), rel=0.05)


def test_hub_role_must_exist_everywhere(tmp_path):
    f = network_file(tmp_path, extra=HUB.replace("role: gp, sessions: [tue_ev",
                                                  "role: surgeon, sessions: [tue_ev"))
    with pytest.raises(ScenarioError, match=r"hub\.clinicians\[1\]\.role.*'surgeon'"):
        load_network(f)


def test_a_practice_with_the_hub_and_a_rollout_is_its_data_validated_afresh(tmp_path):
    """A network's practice is what validating its whole data from scratch gives.

    The hub's clinicians and a wave's change join each practice's validated
    scenario without the rest of it being validated again (``revalidated``).
    """
    from sim import scenario_from_dict
    from sim.inputs.resolve import resolved_yaml

    rollout = ("rollout: {policy: {name: personalised_micro_teams}, ramp: [{param: "
               "adherence, start: 0.05, weeks: 4}]}\nwaves: [{from: 2024-04-01, practices: "
               "[p0]}]\n")
    net = load_network(network_file(tmp_path, extra=rollout + HUB))
    for pid, s in net.practices:
        afresh = scenario_from_dict(s.model_dump(mode="json", by_alias=True))
        assert afresh == s, pid
        assert resolved_yaml(afresh) == resolved_yaml(s), pid
        assert {"hub_gp_1", "hub_gp_2"} <= {c.id for c in s.clinicians}
        assert "ev" in s.practice.session_starts
    changes = {pid: [c.policy.name for c in s.policy_changes] for pid, s in net.practices}
    assert changes == {"p0": ["personalised_micro_teams"], "p1": []}
    # the ramp's end is written into the change, as for a scenario file's own changes
    assert net.practices[0][1].policy_changes[0].policy.params["adherence"] > 0.05


def test_practices_sharing_a_file_are_what_loading_each_on_its_own_gives(tmp_path,
                                                                         monkeypatch):
    """A file several practices name is read once (ScenarioVariants): the same practices.

    BNSSG (five files, eight practices each), and practices of one file with their own
    sizes, a rollout and a hub.
    """
    import sim.inputs.networks as networks
    from sim import load_scenario
    from sim.inputs.resolve import resolved_yaml

    rollout = ("rollout: {policy: {name: personalised_micro_teams}}\n"
               "waves: [{from: 2024-04-01, practices: [p1]}]\n")
    paths = [ROOT / "scenarios" / "networks" / "bnssg.yaml",
             network_file(tmp_path, sizes=(1500, 2500, 1800), extra=rollout + HUB)]
    shared = [load_network(path) for path in paths]
    monkeypatch.setattr(networks, "_practice_scenario", lambda file, overrides, origins,
                        policies, *_: load_scenario(file, overrides, policies, origins))
    for net, path in zip(shared, paths, strict=True):
        alone = load_network(path)
        assert [pid for pid, _ in net.practices] == [pid for pid, _ in alone.practices]
        for (pid, a), (_, b) in zip(net.practices, alone.practices, strict=True):
            assert a == b and resolved_yaml(a) == resolved_yaml(b), pid


def test_a_hub_clinician_clashing_with_a_practice_is_named_by_its_key_path(tmp_path):
    f = network_file(tmp_path, extra=HUB.replace("id: hub_gp_2", "id: gp_adams"))
    with pytest.raises(ScenarioError, match=r"net\.yaml:\d+: hub: practice 'p0': duplicate "
                       r"clinician id 'gp_adams' \(also clinicians\[0\]\) \(at "
                       r"clinicians\[\d+\]\.id\)"):
        load_network(f)


def test_many_small_practices_all_get_hub_slots(tmp_path):
    """Pooled over clinicians: 10 practices share 3 clinicians' 9-slot sessions (27 slots)."""
    from sim.inputs.networks import Hub, _with_hub

    net = load_network(network_file(tmp_path, sizes=(1000,) * 10))
    hub = Hub.model_validate({
        "session_starts": {"ev": "18:30"},
        "clinicians": [{"id": f"h{i}", "role": "gp", "sessions": ["mon_ev"],
                        "slots_per_session": 9} for i in range(3)]})
    from sim.inputs.yaml_files import YamlDoc

    practices = _with_hub("net.yaml", hub, net.practices, YamlDoc("net.yaml", {}, {}), None)
    shares = [sum(c.slots_per_session for c in s.clinicians if c.extended_access)
              for _, s in practices]
    assert sum(shares) == 27 and min(shares) == 2 and max(shares) == 3
    seen = set()
    for _, s in practices:
        for c in s.clinicians:
            if c.extended_access:
                slots = {(c.id, c.first_slot + k) for k in range(c.slots_per_session)}
                assert not slots & seen
                seen |= slots
    assert len(seen) == 27


def test_light_tables_give_the_same_network_summary(two_practices, tmp_path):
    from analysis.network import write_and_reduce

    _, results = two_practices
    light = [(pid, write_and_reduce(res, tmp_path / pid)) for pid, res in results]
    full_table, full_cohorts = network_summaries(results)
    light_table, light_cohorts = network_summaries(light)
    pd.testing.assert_frame_equal(full_table, light_table)
    pd.testing.assert_frame_equal(full_cohorts, light_cohorts)
    assert (tmp_path / "p0" / "appointments.parquet").is_file()


def test_compare_works_for_networks(tmp_path):
    from sim.inputs.networks import with_network_seed

    a = network_file(tmp_path, sizes=(1500, 2500))
    b = tmp_path / "net_b.yaml"
    b.write_text(a.read_text().replace("name: test network", "name: test network B")
                 .replace(f"scenario: {DEFAULT}", f"scenario: {ROOT}/scenarios/policies/"
                          "usual_gp_first.yaml"))
    out = tmp_path / "cmp"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(a), str(b),
                        "-r", "2", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["scenario"]) == {"net", "net_b"} and (runs["patients"] == 4000).all()
    # Replication 0 of network A is exactly the network's own run with the same seed.
    net = with_network_seed(load_network(a), 11)
    table, _ = network_summaries(list(run_network(net, replication=0)))
    row = runs[(runs["scenario"] == "net") & (runs["replication"] == 0)].iloc[0]
    for col in ("requests", "appointments", "gave_up_requests"):
        assert row[col] == table.iloc[-1][col], col
    assert row["upc_mean"] == pytest.approx(table.iloc[-1]["upc_mean"])
    report = (out / "report.html").read_text()
    assert "test network B" in report
    # Each practice of each network, over the replications, as small multiples.
    practices = pd.read_parquet(out / "data" / "practices.parquet")
    assert len(practices) == 2 * 2 * 2  # networks x replications x practices
    assert set(practices["practice_id"]) == {"p0", "p1"}
    assert practices["requests"].sum() == runs["requests"].sum()
    assert "<h2>Each practice</h2>" in report and (out / "plots" / "practices.png").is_file()


def test_hub_can_work_weekends(tmp_path):
    hub = """hub:
  session_starts: {wkend: "09:00"}
  clinicians:
    - {id: hub_sat, role: gp, sessions: [sat_wkend], slots_per_session: 18}
"""
    net = load_network(network_file(tmp_path, sizes=(3000, 3000), extra=hub))
    results = list(run_network(net, workers=1))
    saturdays = 0
    for _, res in results:
        a = res.appointments
        hub_appts = a[(a["clinician_id"].astype(str) == "hub_sat")
                      & (a["status"] != "cancelled_by_practice")]
        assert (hub_appts["appointment_at"].dt.day_of_week == 5).all()
        assert (hub_appts["pool"] == "ahead").all()  # nobody asks on a Saturday: none held
        saturdays += len(hub_appts)
        days = res.clinician_days
        sat = days[days["clinician_id"].astype(str) == "hub_sat"]
        assert len(sat) > 0 and (pd.to_datetime(sat["date"]).dt.day_of_week == 5).all()
        assert (sat["rostered_slots"] == 9).all()
    assert saturdays > 0
    # An ordinary clinician still may not work when the practice is shut.
    with pytest.raises(ScenarioError, match="on a day the practice is shut"):
        from sim import load_scenario

        load_scenario(DEFAULT, {"clinicians": [{"id": "gp_x", "role": "gp",
                                                "sessions": ["sat_am"]}]})


def test_one_message_per_problem_at_the_line_it_was_written(tmp_path):
    """A typo in every practice's set: is reported once, at the network file's own line."""
    lines = ["name: typos", "practices:"]
    for i in range(12):
        lines.append(f"  - {{id: p{i}, scenario: {DEFAULT}, set: {{duration_adys: 30}}}}")
    f = tmp_path / "net.yaml"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_network(f)
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    text = str(problems[0])
    assert text.startswith(f"{f}:3: practices[0].set.duration_adys: unknown key "
                           "'duration_adys'; did you mean 'duration_days'?"), text
    assert "(12 practices: p0, p1, p2 and 9 more); also at lines 4, 5, 6, 7, 8, ..." in text


def test_a_misspelt_practice_key_gets_a_line_and_a_suggestion(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n"
                 f"  - {{id: b, scenaro: {DEFAULT}}}\n")
    with pytest.raises(ScenarioError) as info:
        load_network(f)
    text = str(info.value)
    assert f"{f}:3: practices[1].scenaro: unknown key 'scenaro'; did you mean 'scenario'?" \
        in text
    f.write_text(f"practices:\n  - {{id: a, scenario: {DEFAULT}}}\n  - {{id: b}}\n")
    with pytest.raises(ScenarioError) as info:
        load_network(f)
    assert (f"{f}:3: practices[1]: give scenario (a file) or appointments (an export), one "
            "of them") in str(info.value)


def test_a_scenario_given_as_a_network_gets_a_one_line_hint():
    with pytest.raises(ScenarioError) as info:
        load_network(DEFAULT)
    assert len(info.value.problems) == 1
    assert "this is a scenario file: use it with 'run', 'compare' or 'validate'" \
        in str(info.value)


def test_practice_plots_are_titled_with_the_practice_id(tmp_path, monkeypatch, two_practices):
    import analysis.plots  # where analysis.outputs takes it from, when it draws
    from analysis.network import write_and_reduce

    titles = []
    monkeypatch.setattr(analysis.plots, "wait_distribution",
                        lambda appts, path, title="": titles.append(title) or path)
    _, results = two_practices
    pid, result = results[0]
    write_and_reduce(result, tmp_path / pid)
    assert titles == [f"Practice {pid} (access_first): wait from request to appointment"]


def test_a_networks_practices_get_their_wait_plot_only_when_asked(tmp_path, two_practices):
    from gpsim.network import PracticeWriter

    _, results = two_practices
    pid, result = results[0]
    PracticeWriter(tmp_path / "plain")(pid, result)
    PracticeWriter(tmp_path / "plotted", plots=True)(pid, result)
    assert not (tmp_path / "plain" / pid / "wait_distribution.png").exists()
    assert (tmp_path / "plain" / pid / "appointments.parquet").exists()
    assert (tmp_path / "plotted" / pid / "wait_distribution.png").read_bytes()[:4] == b"\x89PNG"



def test_waves_and_periods_in_words():
    from analysis.network_report import approach_text, waves_of

    periods = {"a": [["2025-03-03", "access_first"],
                     ["2025-09-01", "personalised_micro_teams"]],
               "b": [["2025-03-03", "access_first"], ["2026-03-02", "usual_gp_first"]],
               "c": [["2025-03-03", "access_first"]],
               "d": [["2025-03-03", "access_first"],
                     ["2025-09-01", "personalised_micro_teams"]]}
    waves, changes = waves_of(periods)
    assert waves == {"wave 1, from 1 September 2025": ["a", "d"],
                     "wave 2, from 2 March 2026": ["b"], "no change": ["c"]}
    assert changes["wave 2, from 2 March 2026"] == "2026-03-02"
    assert approach_text(periods["b"]) == "access-first, then usual-GP-first from 2 March 2026"


@pytest.mark.slow
def test_a_rollout_network_report_shows_the_rollout(tmp_path):
    import html5lib

    out = tmp_path / "waves"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network",
                        str(ROOT / "scenarios" / "rollout" / "two_waves.yaml"), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    text = " ".join(html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(
        (out / "report.html").read_text()).itertext())
    text = " ".join(text.split())
    assert "The rollout, month by month" in text
    assert "clifton wave 2, from 2 March 2026 access-first, then personalised micro-teams " \
           "from 2 March 2026" in text
    assert (out / "plots" / "rollout.png").read_bytes()[:4] == b"\x89PNG"
    monthly = pd.read_csv(out / "network_monthly_by_practice.csv")
    assert set(monthly["practice_id"]) == {"ashley", "barton", "clifton", "downend"}
    # a practice below the report's thresholds is named, with the measure that put it there
    reps = pd.read_csv(out / "network_replications.csv").set_index("practice_id")
    low = reps.index[reps["routine_within_14_days_share"] < 0.5].tolist()
    assert low and all(f"{pid} : routine appointments within 2 weeks" in text
                       or f"{pid}: routine appointments within 2 weeks" in text for pid in low)


@pytest.mark.slow
def test_a_network_on_a_dask_cluster_gives_the_same_tables(tmp_path):
    import distributed

    net = ROOT / "scenarios" / "networks" / "example_pcn.yaml"
    local = tmp_path / "local"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network", str(net),
                        "--summary-only", "--workers", "1", "--out", str(local)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        dask = tmp_path / "dask"
        p = subprocess.run([sys.executable, str(ROOT / "run.py"), "network", str(net),
                            "--summary-only", "--scheduler", cluster.scheduler_address,
                            "--out", str(dask)], capture_output=True, text=True, cwd=ROOT,
                           timeout=600)
    assert p.returncode == 0, p.stderr
    for name in ("network_summary.csv", "network_summary_by_cohort.csv",
                 "network_monthly_by_practice.csv"):
        assert (local / name).read_bytes() == (dask / name).read_bytes(), name


def test_a_network_added_up_as_it_arrives_gives_the_tables_of_every_practice_at_once(
        two_practices):
    """NetworkTotals adds practices one at a time; the same tables as pooling their parts."""
    from analysis.monthly import combine_monthly_parts, monthly_from_parts
    from analysis.network import NetworkTotals, combine_cohort_parts, practice_parts
    from analysis.summary import cohorts_from_parts, combine_parts, summary_from_parts
    _, results = two_practices
    totals = NetworkTotals()
    for pid, result in results:
        totals.add(pid, result)
    reduced = [practice_parts(r) for _, r in results]
    table, by_cohort = totals.summaries()
    expect = summary_from_parts(combine_parts([r.parts for r in reduced]))
    got = table[table["practice_id"] == "network"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expect.columns], expect, check_exact=True)
    pd.testing.assert_frame_equal(
        by_cohort, cohorts_from_parts(combine_cohort_parts([r.cohorts for r in reduced]),
                                      reduced[0].window_days), check_exact=True)
    pd.testing.assert_frame_equal(
        totals.monthly(),
        monthly_from_parts(combine_monthly_parts([r.full_monthly() for r in reduced])),
        check_exact=True)
    assert list(totals.practice_monthly()["practice_id"].unique()) == [p for p, _ in results]


@pytest.mark.parametrize("parts", [
    [np.arange(5, dtype=np.int32), np.arange(3, dtype=np.int32)],
    [np.empty(0, dtype=np.int32), np.array([1.5, np.nan]), np.arange(4, dtype=np.int32)],
    [np.array([2, 3], dtype=np.int32), np.empty(0), np.array([7], dtype=np.int32)],
    [np.random.default_rng(1).random(n) for n in (1, 0, 700, 3, 5000, 1)],
    [np.empty(0, dtype=np.int32)],
])
def test_waits_joined_as_they_come_are_numpy_s_concatenation(parts):
    """The network's waits are joined as each practice comes (``_Joined``), growing in place.

    The same values, order and type as joining them all at the end.
    """
    from analysis.network import _Joined

    joined = _Joined()
    for part in parts:
        joined.add(part)
    got, expect = joined.whole(), np.concatenate(parts)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    np.testing.assert_array_equal(got, expect)
    assert got.tobytes() == expect.tobytes()  # (NaN included, bit for bit)


def test_a_practice_s_own_tables_made_where_it_ran_are_those_the_parent_would_make(
        two_practices):
    """A worker makes each practice's summary row and monthly table; the parent only adds.

    The same tables as the parent making them from the practice's parts, and the
    tables a worker sent are not changed by adding them up.
    """
    import pickle

    from analysis.network import NetworkTotals, practice_parts
    _, results = two_practices
    from_parts, made = NetworkTotals(), NetworkTotals()
    for pid, result in results:
        from_parts.add(pid, practice_parts(result))
        kept = pickle.loads(pickle.dumps(practice_parts(result, tables="monthly")))
        assert kept.summary is not None and kept.monthly_table is not None
        made.add(pid, kept)
        assert "practice_id" not in kept.summary and "practice_id" not in kept.monthly_table
    for got, expect in zip(made.summaries(), from_parts.summaries(), strict=True):
        pd.testing.assert_frame_equal(got, expect, check_exact=True)
    pd.testing.assert_frame_equal(made.practice_monthly(), from_parts.practice_monthly(),
                                  check_exact=True)
    pd.testing.assert_frame_equal(made.monthly(), from_parts.monthly(), check_exact=True)
    summary_only = practice_parts(results[0][1], tables="summary")
    assert summary_only.summary is not None and summary_only.monthly_table is None


def test_a_practice_sends_its_routine_waits_once_and_its_months_give_them_back(two_practices):
    """A practice's monthly parts travel without their routine waits, with their months.

    The summary parts hold the same waits; put back, they are :func:`monthly_parts`'
    own. The urgent and same-day waits are whole seconds, exactly the hours.
    """
    from analysis.monthly import monthly_parts
    from analysis.network import practice_parts
    from analysis.summary import summary_parts
    _, results = two_practices
    for _, result in results:
        s = result.scenario
        reduced = practice_parts(result)
        assert all("routine_waits" not in part for part in reduced.monthly.values())
        assert reduced.routine_months.dtype == np.int16
        expect = monthly_parts(result.tables, s.start_date, s.warmup_days, s.end_day,
                               s.population.size)
        got = reduced.full_monthly()
        assert list(got) == list(expect)
        for month, part in expect.items():
            assert set(got[month]) == set(part)
            for key, value in part.items():
                assert np.array_equal(got[month][key], value), (month, key)
        assert sum(p["routine_waits"].size for p in got.values()) > 0
        a = result.tables["appointments"]
        happened = a["in_window"] & a["status"].isin(["attended", "dna"])
        # each month's routine waits, found from the table itself, in its rows' order
        month = a["appointment_at"].dt.strftime("%Y-%m")
        routine = happened & (a["urgency"] == "routine")
        for m, part in got.items():
            assert np.array_equal(part["routine_waits"],
                                  a.loc[routine & (month == m), "wait_days"].to_numpy(float)), m
        assert sum(p["routine_waits"].size for p in got.values()) == int(routine.sum())
        parts = summary_parts(result.tables, s.population.size, s.duration_days)
        hours = ((a["appointment_at"] - a["requested_at"])[happened & (a["urgency"] == "urgent")]
                 / pd.Timedelta(hours=1)).to_numpy()
        assert parts["urgent_wait_seconds"].dtype == np.int32
        assert np.array_equal((parts["urgent_wait_seconds"] / 3600).view(np.int64),
                              hours.view(np.int64))


def test_waits_are_whole_seconds_in_32_bits_when_they_can_be_and_exact_hours_always():
    from analysis.summary import wait_seconds
    whole = np.array([0, 59, 3600, 86_400 * 400], dtype="timedelta64[s]")
    got = wait_seconds(whole)
    assert got.dtype == np.int32 and got.tolist() == [0, 59, 3600, 86_400 * 400]
    assert np.array_equal((got / 3600).view(np.int64),
                          (whole / np.timedelta64(1, "h")).view(np.int64))
    # parts of a second, a missing time, or too long for 32 bits: 64-bit seconds
    assert wait_seconds(np.array([1500], dtype="timedelta64[ms]")).tolist() == [1.5]
    missing = wait_seconds(np.array([5, "NaT"], dtype="timedelta64[s]"))
    assert missing[0] == 5 and np.isnan(missing[1])
    assert wait_seconds(np.array([2**31], dtype="timedelta64[s]")).dtype == np.float64


@pytest.mark.parametrize("seed", range(8))
def test_wait_percentiles_from_whole_seconds_are_numpy_s_bit_for_bit(seed):
    """The urgent and same-day medians and 90th percentiles, taken from the seconds' order.

    Odd and even counts, one and two waits, many ties and none: numpy's
    ``median`` and ``quantile`` of the hours, bit for bit; the seconds are left
    as they were.
    """
    from analysis.summary import _spread, _spread_hours
    rng = np.random.default_rng(seed)
    for n in (1, 2, 3, 4, 10, 11, *rng.integers(5, 3000, 20)):
        for top in (2, 90, 7200, 300_000, 2**31 - 1):
            seconds = rng.integers(0, top, n).astype(np.int32)
            kept = seconds.copy()
            got = _spread_hours(seconds, "w")
            want = _spread(seconds / 3600, "w")
            assert got.keys() == want.keys()
            for key in got:
                assert np.float64(got[key]).tobytes() == np.float64(want[key]).tobytes(), (
                    n, top, key)
            assert np.array_equal(seconds, kept)


def test_the_network_table_without_its_wait_columns_is_the_same_otherwise(two_practices):
    """``without_wait_columns``: the summaries' table, its network row's WAIT_COLUMNS NaN."""
    from analysis.network import NetworkTotals
    from analysis.summary import WAIT_COLUMNS
    _, results = two_practices
    totals = NetworkTotals()
    for pid, result in results:
        totals.add(pid, result)
    quick = totals.without_wait_columns()
    table, _ = totals.summaries()
    assert list(quick.columns) == list(table.columns)
    assert quick.iloc[-1][list(WAIT_COLUMNS)].isna().all()
    assert table.iloc[-1][list(WAIT_COLUMNS)].notna().all()
    rest = [c for c in table.columns if c not in WAIT_COLUMNS]
    pd.testing.assert_frame_equal(quick[rest], table[rest], check_exact=True)
    pd.testing.assert_frame_equal(quick.iloc[:-1], table.iloc[:-1], check_exact=True)


def test_the_practices_figure_needs_none_of_the_network_s_wait_columns(tmp_path, two_practices):
    """The figure drawn while the network's percentiles are computed: the same bytes."""
    from analysis.network import NetworkTotals
    from analysis.network_report import practices_figure
    _, results = two_practices
    totals = NetworkTotals()
    for pid, result in results:
        totals.add(pid, result)
    meta = {"replications": 1}
    full = practices_figure(tmp_path / "full", totals.summaries()[0].assign(replication=0), meta)
    quick = practices_figure(tmp_path / "quick",
                             totals.without_wait_columns().assign(replication=0), meta)
    assert full.read_bytes() == quick.read_bytes()
