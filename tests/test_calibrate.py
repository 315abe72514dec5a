"""`calibrate`: a round trip from a known practice, through its export, back to a scenario.

The default practice is simulated (one year, the truth), its appointments are
written as exports (EMIS Web headings and words with UK dates and split
date/time columns; SystmOne; canonical columns made messy: a byte-order mark,
stray spaces and odd case in roles, an extra column, blank trailing rows),
calibrated, and what comes back is checked against the truth with these
tolerances:

* every clinician's weekly sessions: exactly; slots per session and slot
  length by role: exactly; session start times: exactly;
* leave by role: within 1.5 weeks of the whole weeks the role's clinicians
  were away in the recorded year (median; leave and sickness are drawn, so
  one year's weeks away are not the allowance, and an export cannot tell a
  week of sickness from a week of leave);
* patients' own requests per patient-year: within 5% of the scenario's 4.1;
  planned care per patient-year: within 10% of what the scenario's streams
  give this list; follow-ups booked with the clinician who asked: within 10%
  of those in the run;
* DNA by lead-time band: within 1 point of the scenario's probabilities;
* the calibrated model against the export (fit.csv): every measure within
  its stated tolerance (consultations 10%, lead bands and same-day share 5
  points, DNA 1.5 points, weekdays 3, months 2, utilisation 10, UPC and
  SLICC 0.05);
* the calibrated model's yearly summary against the original's (means of
  three replications each; single years differ: the original's own spread
  14-20% in the 8-14-day band), on the measures an export can show, with the
  fit report's tolerances: consultations within 5%, same-day share and
  lead-time bands within 5 points, DNA rate within 1.5 points, UPC within 0.05.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.calibration.export import ExportError, load_format, read_export, role_key
from analysis.calibration.synthetic import export_from_appointments, list_from_patients
from gpsim.calibrate import CalibrationError, CalibrationRequest, run_calibrate
from sim import load_scenario
from sim.runs.batch import run_batch
from sim.runs.single import run
from sim.world.build import build_world

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def sh(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def truth():
    scenario = load_scenario(ROOT / "scenarios" / "default.yaml")
    return scenario, run(scenario, replication=0)


@pytest.fixture(scope="module")
def exports(truth, tmp_path_factory):
    _, result = truth
    d = tmp_path_factory.mktemp("exports")
    export_from_appointments(result.appointments, "emis_web").to_csv(d / "emis.csv", index=False)
    export_from_appointments(result.appointments, "systmone").to_csv(d / "s1.csv", index=False)
    messy = export_from_appointments(result.appointments, "canonical")
    messy["role"] = "  " + messy["role"].str.upper() + " "
    messy["practice_code"] = "L81000"  # an extra column, ignored
    text = messy.to_csv(index=False) + "," * 8 + "\n" + "," * 8 + "\n"
    (d / "messy.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    list_from_patients(result.patients, usual_gp=True).to_csv(d / "list.csv", index=False)
    return d


@pytest.fixture(scope="module")
def calibrated(exports, tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrated") / "my_practice.yaml"
    written = run_calibrate(CalibrationRequest(str(exports / "emis.csv"), str(out), ROOT,
                                               list_file=str(exports / "list.csv"),
                                               replications=3, workers=2), say=lambda _: None)
    return written, load_scenario(written["scenario"])


def test_exports_in_every_form_read_alike(exports):
    emis = read_export(exports / "emis.csv")
    s1 = read_export(exports / "s1.csv")
    messy = read_export(exports / "messy.csv")
    assert emis.format.startswith("EMIS Web") and s1.format.startswith("SystmOne")
    assert messy.format == "canonical columns" and messy.notes["blank_rows"] == 2
    for other in (s1, messy):
        for col in ("patient_id", "clinician_id", "role", "booked_at", "appointment_at",
                    "status", "lead_days"):
            assert (emis.table[col].to_numpy() == other.table[col].to_numpy()).all(), col
    assert emis.table["patient_id"].str.len().eq(7).all()  # leading zeros kept
    assert set(emis.table["status"]) == {"attended", "dna", "cancelled"}


def _weeks_away(scenario) -> np.ndarray:
    """Whole weeks in the recorded year in which each clinician worked no day."""
    world = build_world(scenario, 0)
    away = world.leave.copy()
    for day, c, length in world.spells:
        away[c, day:day + length] = True
    days = np.arange(scenario.warmup_days, world.end_day)
    week, weekday = np.divmod(days + scenario.start_date.weekday(), 7)
    out = np.zeros(len(scenario.clinicians))
    for c, clin in enumerate(scenario.clinicians):
        works = np.isin(weekday, [WEEKDAYS.index(x[:3]) for x in clin.sessions])
        out[c] = sum(bool(away[c, days[(week == k) & works]].all()) for k in np.unique(week))
    return out


def test_recovered_workforce_matches_the_truth(truth, calibrated):
    scenario, _ = truth
    _, cal = calibrated
    true = {c.id.split("_", 1)[1]: c for c in scenario.clinicians}
    got = {c.id.split("_", 1)[1] if c.role == "gp" else c.id.split("_")[0]: c
           for c in cal.clinicians}  # dr_adams, iqbal_advanced_nurse_practitioner
    assert set(got) == set(true)
    for name, c in got.items():
        assert set(c.sessions) == set(true[name].sessions), name
        assert c.role == true[name].role
    taken = _weeks_away(scenario)
    for role, r in cal.roles.items():
        t = scenario.roles[role]
        assert r.slots_per_session == t.slots_per_session, role
        assert r.slot_minutes == t.slot_minutes, role
        took = np.median([taken[i] for i, c in enumerate(scenario.clinicians) if c.role == role])
        assert abs(r.annual_leave_weeks - took) <= 1.5, (role, r.annual_leave_weeks, took)
    assert cal.practice.session_starts == scenario.practice.session_starts
    assert cal.practice.opening.days == scenario.practice.opening.days


def test_recovered_demand_and_dna_match_the_truth(truth, calibrated):
    scenario, result = truth
    _, cal = calibrated
    assert cal.demand.requests_per_patient_year == pytest.approx(
        scenario.demand.requests_per_patient_year, rel=0.05)
    p = result.patients
    expected = 0.0
    for stream in scenario.planned_care:
        rate = stream.rate_per_year + stream.rate_per_ltc_year * p["n_ltc"].to_numpy(float)
        if stream.cohort:
            rate = np.where(p[f"cohort_{stream.cohort}"].to_numpy(), rate, 0.0)
        expected += rate.mean()
    got = sum(s.rate_per_year for s in cal.planned_care)
    assert got == pytest.approx(expected, rel=0.10)
    # Follow-ups booked with the clinician who asked for them (those booked with another,
    # when the first had no slot within a week, are indistinguishable from new requests).
    a = result.appointments
    a = a[a["in_window"].to_numpy() & (a["status"] != "booked").to_numpy()]
    req = result.requests.set_index("request_id")
    asked = a["request_id"].map(req["asked_by_clinician_id"].astype(object))
    same = (a["urgency"] == "follow_up").to_numpy() & (
        asked.to_numpy() == a["clinician_id"].astype(object).to_numpy())
    attended = a[(a["status"] == "attended").to_numpy()]
    seen_by = attended.groupby("role", observed=True).size()
    got = sum(n.follow_up_probability * seen_by[r] for r, n in cal.demand.needs.items())
    assert got == pytest.approx(same.sum(), rel=0.10)
    for band, true_band in zip(cal.dna.by_lead_days, scenario.dna.by_lead_days, strict=True):
        assert band.max_lead_days == true_band.max_lead_days
        assert abs(band.probability - true_band.probability) <= 0.01


def test_calibrated_model_fits_its_export(calibrated):
    written, _ = calibrated
    fit = pd.read_csv(written["fit"].with_name("fit.csv"))
    assert len(fit) >= 30 and fit["replications"].eq(3).all()
    outside = fit.loc[~fit["within_tolerance"], "measure"].tolist()
    assert outside == []
    page = written["fit"].read_text(encoding="utf-8")
    assert f"{len(fit)} of {len(fit)} measures" in page and "data:image/png;base64," in page


SUMMARY = ("consultations_per_patient_year", "same_day_share", "dna_rate", "upc_mean",
           "lead_next_day_share", "lead_2_7_days_share", "lead_8_14_days_share",
           "lead_15_21_days_share", "lead_over_28_days_share")


def yearly_summary(result) -> dict:
    from analysis.summary import run_summaries

    row = run_summaries(result)[0].iloc[0]
    return {k: float(row[k]) for k in SUMMARY}


def test_calibrated_model_summary_matches_the_original(truth, calibrated):
    scenario, _ = truth
    _, cal = calibrated
    means = {}
    for label, s in (("original", scenario), ("calibrated", cal)):
        runs = [kept for _, _, kept in run_batch([(label, s, k) for k in range(3)],
                                                  yearly_summary, workers=2)]
        means[label] = {k: np.mean([r[k] for r in runs]) for k in SUMMARY}
    orig, new = means["original"], means["calibrated"]
    assert new["consultations_per_patient_year"] == pytest.approx(
        orig["consultations_per_patient_year"], rel=0.05)
    assert abs(new["same_day_share"] - orig["same_day_share"]) <= 0.05
    assert abs(new["dna_rate"] - orig["dna_rate"]) <= 0.015
    assert abs(new["upc_mean"] - orig["upc_mean"]) <= 0.05
    for key in SUMMARY[4:]:
        assert abs(new[key] - orig[key]) <= 0.05, key
    # Not compared: the wait of requests the model labels routine. An export shows when an
    # appointment was booked for, not whether the request could have waited, nor which other
    # roles could have taken it; docs/calibration.md says how far apart they come out.


def test_scenario_says_where_every_value_came_from(calibrated):
    written, _ = calibrated
    text = written["scenario"].read_text(encoding="utf-8")
    assert "requests_per_patient_year:" in text and "per patient-year" in text
    for line in text.splitlines():
        if line.lstrip().startswith(("slots_per_session:", "urgent_share:",
                                     "follow_up_probability:", "- {max_lead_days")):
            assert "#" in line, line
    listed = pd.read_csv(written["list"], dtype=str)
    assert not any(pid in text for pid in listed["patient_id"])  # no patient identifiers
    # The comments are the sources the report's parameter table shows.
    from sim.inputs.parameters import parameter_sources

    sources = parameter_sources(written["scenario"])
    assert sources["roles.gp.slots_per_session"].startswith("90th percentile of appointments")
    assert "kept appointments neither planned care nor follow-ups" in sources[
        "demand.requests_per_patient_year"]


def test_the_fit_page_is_strict_html(calibrated):
    import html5lib

    written, _ = calibrated
    html5lib.HTMLParser(strict=True).parse(written["fit"].read_text(encoding="utf-8"))


def test_messy_canonical_export_calibrates_without_a_list(exports, tmp_path):
    out = tmp_path / "p.yaml"
    r = sh("calibrate", str(exports / "messy.csv"), "--out", str(out), "--no-fit")
    assert r.returncode == 0, r.stderr
    s = load_scenario(out)
    assert s.population.list_file is None
    assert "CAVEAT" in out.read_text(encoding="utf-8")  # the list size is distinct patients
    assert s.population.size == int(read_export(exports / "messy.csv").table["patient_id"]
                                     .nunique())


def test_role_names_in_any_case_and_spacing():
    assert role_key("  Practice Nurse ") == "practice_nurse"
    assert role_key("GP") == role_key("gp partner") == "gp"
    assert role_key("Advanced Nurse Practitioner") == "anp"
    assert role_key("Health  Visitor") == "health_visitor"


BAD = """patient_id,clinician_id,role,booked_at,appointment_at,status
001,Dr A,GP,01/04/2024 09:00,01/04/2024 09:30,attended
,Dr A,GP,01/04/2024 09:00,01/04/2024 09:40,attended
003,Dr A,GP,31/02/2024,01/04/2024 09:50,Finished
004,,GP,01/04/2024 09:00,01/04/2024 10:00,maybe
005,Dr A,GP,01/04/2024 09:00,2024-04-01 10:10,dna
"""


def test_bad_export_names_every_problem_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    out = tmp_path / "out" / "p.yaml"
    r = sh("calibrate", str(bad), "--out", str(out))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    err = r.stderr
    assert "column 'patient_id' (patient_id): blank at line 3" in err
    assert "column 'clinician_id' (clinician_id): blank at line 5" in err
    assert "column 'booked_at' (booked_at): unreadable date at line 4" in err
    assert "column 'appointment_at' (appointment_at): mixes ISO dates" in err
    assert "unknown status at line 5: 'maybe' (1)" in err
    assert "Nothing was written." in err
    assert not out.exists() and not any(out.parent.glob("*")) if out.parent.exists() else True


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"\x00\x01binary", "binary data"),
    (b"patient_id,clinician_id,role,booked_at,appointment_at,status\n", "no appointments"),
    (b"Patient,Doctor,When\n1,A,01/01/2024\n", "missing patient_id, clinician_id, role"),
])
def test_unusable_files_are_refused(tmp_path, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(ExportError) as e:
        read_export(bad)
    assert message in str(e.value)


def test_too_short_an_export_is_refused_cleanly(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text(BAD.splitlines()[0] + "\n" + BAD.splitlines()[1] + "\n", encoding="utf-8")
    with pytest.raises(CalibrationError) as e:
        run_calibrate(CalibrationRequest(str(short), str(tmp_path / "p.yaml"), ROOT),
                      say=lambda _: None)
    assert "too short an export" in str(e.value)
    assert not (tmp_path / "p.yaml").exists()


def test_a_mapping_file_with_mistakes_is_refused_with_lines(tmp_path):
    m = tmp_path / "mine.yaml"
    m.write_text("name: mine\ncolumns:\n  patient: [Patient]\n  status: Status\n"
                 "statuses:\n  seen: [Seen]\ncolour: red\n", encoding="utf-8")
    with pytest.raises(ExportError) as e:
        load_format(m)
    text = str(e.value)
    assert f"{m}:3: columns.patient: not a canonical column" in text
    assert f"{m}:6: statuses.seen: not one of attended" in text
    assert f"{m}:7: colour: unknown key" in text


def test_a_practices_own_mapping_reads_its_headings(tmp_path, exports):
    emis = pd.read_csv(exports / "emis.csv", dtype=str).head(200)
    emis = emis.rename(columns={"Session Holder": "Who", "Slot Status": "Outcome code"})
    emis["Session Holder Role"] = emis["Session Holder Role"].replace({"GP": "Sessional"})
    emis["Outcome code"] = emis["Outcome code"].map({"Left": "S", "DNA": "D",
                                                     "Cancelled by Unit": "X"})
    f = tmp_path / "own.csv"
    emis.to_csv(f, index=False)
    m = tmp_path / "own.yaml"
    m.write_text("name: our system\ncolumns:\n  patient_id: Patient ID\n  clinician_id: Who\n"
                 "  role: Session Holder Role\n"
                 "  booked_at: {date: Booked Date, time: Booked Time}\n"
                 "  appointment_at: {date: Appointment Date, time: Appointment Time}\n"
                 "  status: Outcome code\nstatuses:\n  attended: [S]\n  dna: [D]\n"
                 "  cancelled: [X]\nroles:\n  gp: [Sessional]\n", encoding="utf-8")
    got = read_export(f, load_format(m))
    assert got.format == "our system" and len(got.table) == 200
    assert set(got.table["status"]) <= {"attended", "dna", "cancelled"}
    # The practice's own job titles, mapped to roles by the mapping's roles: table.
    sessional = got.table["role_label"] == "Sessional"
    assert sessional.any() and set(got.table.loc[sessional, "role"]) == {"gp"}


def test_history_is_written_beside_the_scenario_keyed_by_the_list(calibrated, exports):
    written, cal = calibrated
    h = pd.read_parquet(written["history"])
    assert list(h.columns) == ["patient_id", "clinician_id", "consultations", "last_year",
                               "years_since_first"]
    listed = set(pd.read_csv(exports / "list.csv", dtype=str)["patient_id"])
    assert set(h["patient_id"]) <= listed
    assert cal.population.history_file == str(written["history"].resolve())
    export = read_export(exports / "emis.csv").table
    assert h["consultations"].sum() == (export["status"] == "attended").sum()
    assert (h["last_year"] <= h["consultations"]).all()
    text = written["scenario"].read_text(encoding="utf-8")
    assert "history_file:" in text and "list_file:" in text


def test_a_network_of_practices_given_by_their_exports(exports, tmp_path):
    import shutil

    for name in ("emis.csv", "s1.csv", "list.csv"):
        shutil.copy(exports / name, tmp_path / name)
    (tmp_path / "net.yaml").write_text(
        "name: Two practices from their exports\nseed: 5\npractices:\n"
        "  - {id: north, appointments: emis.csv, list: list.csv}\n"
        "  - {id: south, appointments: s1.csv, list: list.csv,"
        " set: {policy.name: usual_gp_first}}\n", encoding="utf-8")
    r = sh("network", str(tmp_path / "net.yaml"), "--summary-only", "--out",
           str(tmp_path / "out"), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "Calibrating practice north" in r.stdout and "Calibrating practice south" in r.stdout
    summary = pd.read_csv(tmp_path / "out" / "network_summary.csv")
    assert {"north", "south"} <= set(summary["practice_id"])
    north = load_scenario(tmp_path / "calibrated" / "north.yaml")
    south = load_scenario(tmp_path / "calibrated" / "south.yaml")
    assert north.start_date == south.start_date
    assert north.population.history_file is not None
    # Unchanged exports are not calibrated again.
    again = sh("validate", str(tmp_path / "net.yaml"))
    assert again.returncode == 0, again.stderr
    assert "Calibrating" not in again.stdout


def test_a_bad_export_in_a_network_is_named_at_its_line(tmp_path):
    (tmp_path / "bad.csv").write_text(BAD, encoding="utf-8")
    (tmp_path / "net.yaml").write_text(
        "name: n\npractices:\n  - {id: a, scenario: x.yaml}\n"
        "  - {id: b, appointments: bad.csv}\n", encoding="utf-8")
    r = sh("validate", str(tmp_path / "net.yaml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{tmp_path / 'net.yaml'}:4: practices[1].appointments: practice 'b':" in r.stderr
    assert "unknown status" in r.stderr
    assert not (tmp_path / "calibrated").exists()


def test_an_export_without_times_still_calibrates(exports, tmp_path):
    e = pd.read_csv(exports / "s1.csv", dtype=str).drop(columns=["Booked Time", "Start Time"])
    e.to_csv(tmp_path / "dates.csv", index=False)
    written = run_calibrate(CalibrationRequest(str(tmp_path / "dates.csv"),
                                               str(tmp_path / "p.yaml"), ROOT,
                                               list_file=str(exports / "list.csv"), fit=False,
                                               fit_urgent=False), say=lambda _: None)
    s = load_scenario(written["scenario"])
    text = written["scenario"].read_text(encoding="utf-8")
    assert "the export has no times" in text  # slot lengths and session starts assumed
    gp = next(c for c in s.clinicians if c.id == "dr_adams")
    assert all(f"{d}_am" in gp.sessions and f"{d}_pm" in gp.sessions
               for d in ("mon", "tue", "wed", "thu"))  # a day worked: both its sessions
    assert s.roles["gp"].slots_per_session <= 16  # a day's appointments shared by two sessions


def test_rounded_shares_always_sum_to_one():
    from analysis.calibration.infer import _rounded_shares

    for shares in ({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, {"x": 0.8334, "y": 0.0833, "z": 0.0833},
                   {"only": 1.0}):
        got = _rounded_shares(shares, 3)
        assert sum(got.values()) == pytest.approx(1.0, abs=1e-12)
        assert all(abs(got[k] - v) < 0.002 for k, v in shares.items())


def test_free_and_future_slots_are_set_aside_without_a_patient(tmp_path):
    rows = [*BAD.splitlines()[:2],
            ",Dr A,GP,,02/04/2024 09:30,Available",          # a free slot: no patient, no booking
            "009,Dr A,GP,01/04/2024 10:00,03/04/2024 09:30,Booked"]  # not happened yet
    f = tmp_path / "slots.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = read_export(f)
    assert len(got.table) == 1 and got.notes["not_yet_happened"] == 2


def test_the_fit_page_says_when_the_export_shows_a_full_book(tmp_path):
    from analysis.calibration.fit import fit_page, fit_plot, fit_table

    full = {"lead same day": 0.30, "lead 2-7 days": 0.02, "lead 15-21 days": 0.18,
            "lead 22-28 days": 0.47, "dna next day": float("nan")}
    model = {"lead same day": 0.31, "lead 2-7 days": 0.20, "lead 15-21 days": 0.15,
             "lead 22-28 days": 0.09, "dna next day": 0.04}
    table = fit_table(full, [model, {k: v + 0.01 for k, v in model.items()}])
    assert "dna next day" not in set(table["measure"])  # nothing to compare it with
    page = fit_page(table, fit_plot(table, tmp_path / "f.png"), name="p", source="x.csv",
                    scenario="p.yaml", notes=[], path=tmp_path / "f.html").read_text()
    assert "The export's book looks full (65% of appointments booked more than two weeks" in page
    calm = fit_table({**full, "lead 22-28 days": 0.05, "lead 15-21 days": 0.05}, [model, model])
    page = fit_page(calm, tmp_path / "f.png", name="p", source="x.csv", scenario="p.yaml",
                    notes=[], path=tmp_path / "g.html").read_text()
    assert "looks full" not in page


def test_the_fit_page_advises_only_what_the_export_supports(tmp_path):
    """Continuity off without a usual-GP column: add the list, do not change the policy."""
    from analysis.calibration.fit import fit_page, fit_plot, fit_table

    export = {"lead same day": 0.40, "upc_mean": 0.50}
    model = {"lead same day": 0.41, "upc_mean": 0.70}
    table = fit_table(export, [model, {k: v + 0.005 for k, v in model.items()}])
    page = fit_page(table, fit_plot(table, tmp_path / "f.png"), name="p", source="x.csv",
                    scenario="p.yaml", notes=[], path=tmp_path / "f.html").read_text()
    page = " ".join(page.split())
    assert "The export names no usual GP" in page and "usual_gp column" in page
    assert "do not change <code>--policy</code> on its account" in page
    with_usual = fit_table({**export, "slicc": 0.30}, [{**model, "slicc": 0.45}] * 2)
    page = fit_page(with_usual, tmp_path / "f.png", name="p", source="x.csv",
                    scenario="p.yaml", notes=[], path=tmp_path / "g.html").read_text()
    page = " ".join(page.split())
    assert "names no usual GP" not in page and "if you know it does" in page


@pytest.mark.slow
def test_the_readmes_calibrate_example_runs_as_written(tmp_path):
    """The README's own-practice command, word for word, on the shipped example export.

    Run in a folder holding a copy of examples/ and scenarios/ (so its output lands
    there, not in the checkout): the example files exist, are read, and fit.
    """
    import shlex
    import shutil

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("gpsim calibrate "))
    args = shlex.split(line)[1:]
    for name in ("examples", "scenarios"):
        shutil.copytree(ROOT / name, tmp_path / name)
    p = sh(*args, "--replications", "3", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "measures within tolerance of the export" in p.stdout
    out = tmp_path / args[args.index("--out") + 1]
    assert load_scenario(out).population.size > 0


def test_the_example_export_is_what_its_script_makes(tmp_path):
    """examples/export/: the shipped files are the script's output, byte for byte."""
    import importlib.util

    here = ROOT / "examples" / "export"
    spec = importlib.util.spec_from_file_location("make_example", here / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("appointments.csv", "list.csv"):
        assert (tmp_path / name).read_bytes() == (here / name).read_bytes(), name
    head = (here / "appointments.csv").read_text().splitlines()[0]
    assert head.startswith("Patient ID,Session Holder,Session Holder Role,Booked Date")


#: A quieter practice than the default: fewer requests, fewer of them urgent, more of them
#: for a later day, so routine callers often get a slot the same day.
QUIET = {"demand.requests_per_patient_year": 2.2, "demand.needs.acute.urgent_share": 0.3,
         "demand.needs.acute.routine_planned_share": 0.4,
         "demand.needs.complex.routine_planned_share": 0.5,
         "demand.needs.complex.urgent_share": 0.1}


def test_a_quieter_practice_round_trips_its_same_day_access(tmp_path):
    """Its routine callers alone book more on the day than its export shows: the fit says so.

    Before the fit could move routine requests to a later day, this practice came back
    booking 48% on the day against its export's 38%.
    """
    truth = load_scenario(ROOT / "scenarios" / "default.yaml", QUIET)
    result = run(truth, replication=0)
    export_from_appointments(result.appointments, "canonical").to_csv(tmp_path / "e.csv",
                                                                     index=False)
    list_from_patients(result.patients, usual_gp=True).to_csv(tmp_path / "l.csv", index=False)
    written = run_calibrate(CalibrationRequest(str(tmp_path / "e.csv"), str(tmp_path / "q.yaml"),
                                               ROOT, list_file=str(tmp_path / "l.csv"),
                                               replications=3, workers=2), say=lambda _: None)
    fit = pd.read_csv(written["fit"].with_name("fit.csv")).set_index("measure")
    assert fit["within_tolerance"].all(), fit.index[~fit["within_tolerance"]].tolist()
    cal = load_scenario(written["scenario"])
    means = {}
    for label, s in (("truth", truth), ("calibrated", cal)):
        runs = [kept for _, _, kept in run_batch([(label, s, k) for k in range(3)],
                                                  yearly_summary, workers=2)]
        means[label] = {k: np.mean([r[k] for r in runs]) for k in SUMMARY}
    for key in ("same_day_share", "lead_2_7_days_share", "lead_8_14_days_share"):
        assert abs(means["calibrated"][key] - means["truth"][key]) <= 0.05, key
    # Where the urgent share could not go below nothing, the scenario and the report say so.
    text = written["scenario"].read_text(encoding="utf-8")
    held = [n for n, need in cal.demand.needs.items() if need.urgent_share == 0.0]
    assert held and "so none is urgent" in text
    assert all(cal.demand.needs[n].routine_planned_share > 0.1 for n in held)
    page = " ".join(written["fit"].read_text(encoding="utf-8").split())
    assert "Same-day access (" in page and "held at a bound" in page
