"""``gpsim calibrate``: a practice's appointment export -> a scenario, its history, and its fit.

Reads the export (and the registered list, if given), infers the practice
(:mod:`analysis.calibration.infer`), writes the scenario with every value's
source as a comment, the list (with usual GPs) and the history of
consultations beside it, checks the scenario with the same loader as every
other command, runs it and writes the fit report. Nothing is written unless
everything succeeded: files are staged and moved into place together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration.export import ExportError, ExportFormat, load_format, read_export
from analysis.calibration.fit import (
    access_by_need,
    fit_page,
    fit_plot,
    fit_table,
    measures,
    run_measures,
    solve_access,
)
from analysis.calibration.infer import Calibration, Estimate, calibrate
from analysis.calibration.writer import scenario_text
from analysis.plots import role_name
from sim.files.csv_read import line_numbers, read_csv_text
from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output
from sim.inputs.loading import load_scenario
from sim.inputs.problems import ScenarioError
from sim.inputs.yaml_files import read_yaml
from sim.processes import usable_cores
from sim.runs.batch import run_batch
from sim.runs.executor import kept_workers

LIST_COLUMNS = ("patient_id", "age", "age_band", "sex", "n_ltc", "housebound")


class CalibrationError(ValueError):
    """Input that cannot be calibrated; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_list_file(path: str | Path) -> pd.DataFrame:
    """The registered list: ``patient_id`` and ``age`` or ``age_band`` at least; all problems."""
    path = Path(path)
    df = read_csv_text(path, ExportError, missing="no such file", empty="the file is empty")
    problems = []
    if "patient_id" not in df.columns:
        problems.append(f"{path}: missing column patient_id (found: {', '.join(df.columns[:10])})")
    if "age" not in df.columns and "age_band" not in df.columns:
        problems.append(f"{path}: missing column age or age_band")
    if problems:
        raise ExportError(problems)
    lines = df.attrs.pop("lines")
    kept = ~(df.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    lines = lines[kept]
    df = df[kept].copy()
    df["patient_id"] = df["patient_id"].str.strip()
    blank = (df["patient_id"] == "").to_numpy()
    if blank.any():
        problems.append(f"{path}: column patient_id: blank at {line_numbers(blank, lines)}")
    dup = df["patient_id"].duplicated(keep=False).to_numpy() & ~blank
    if dup.any():
        problems.append(f"{path}: column patient_id: the same patient twice at "
                        f"{line_numbers(dup, lines)}")
    if len(df) == 0:
        problems.append(f"{path}: the file has a header but no patients")
    if problems:
        raise ExportError(problems)
    return df.reset_index(drop=True)


def default_base(root: Path) -> dict:
    """The default practice's scenario, parsed (what an export cannot say comes from it)."""
    return read_yaml(root / "scenarios" / "default.yaml").data


def export_table(cal: Calibration, export_table: pd.DataFrame) -> pd.DataFrame:
    """The export's last year in canonical form with scenario ids and usual GPs, for the fit."""
    t = export_table.copy()
    end = cal.period[1] + pd.Timedelta(days=1)
    t = t[t["appointment_at"] >= end - pd.Timedelta(days=364)]
    t["clinician_id"] = t["clinician_id"].map(cal.clinician_ids)
    t["usual_gp"] = t["patient_id"].map(cal.usual_gp)
    return t


@dataclasses.dataclass
class Prepared:
    """An export read and inferred, before anything is written."""

    cal: Calibration
    export: object
    people: pd.DataFrame | None
    base: dict

    @property
    def natural_start(self) -> dt.date:
        """The Monday after the export's last day: where its simulated period begins."""
        first_day = (self.cal.period[1] + pd.Timedelta(days=1)).date()
        return first_day + dt.timedelta(days=(7 - first_day.weekday()) % 7)


@dataclasses.dataclass(frozen=True)
class CalibrationRequest:
    """What ``gpsim calibrate`` is asked for (:func:`prepare`, :func:`run_calibrate`).

    Attributes:
        export: the appointment export (CSV).
        out: the scenario to write (``.yaml``; its list, history and fit report go beside it).
        root: the project folder (its default practice is the base).
        list_file: the registered list (CSV), if given.
        columns: a mapping of the export's headings and words (YAML), if given.
        dayfirst: read slashed dates as day/month/year.
        list_size: patients on the list when no list is given.
        unmet_share: share of requests that never became an appointment.
        pool_first_contact: GPs, ANPs, paramedics and PAs take each other's requests.
        duplicates, clinician_names: what to do with repeated rows and near-duplicate
            clinician names (:func:`analysis.calibration.export.read_export`).
        replications, workers: the fit report's runs and processes.
        fit: write the fit report.
        fit_urgent: fit the urgent and routine planned shares by simulation (access).
        name: the practice's name (default: from ``out``).
        argv: the command as typed (recorded in the scenario).
        start_date: the simulated period's first day (default: the Monday after the export).
        policy: how the practice books today (a policy name: a shipped approach brings its
            whole ``policy:`` block, as ``compare --approaches`` does).
    """

    export: str
    out: str
    root: Path
    list_file: str | None = None
    columns: str | None = None
    dayfirst: bool = True
    list_size: int | None = None
    unmet_share: float = 0.0
    pool_first_contact: bool = True
    duplicates: str = "refuse"
    clinician_names: str = "refuse"
    replications: int = 5
    workers: int | None = None
    fit: bool = True
    fit_urgent: bool = True
    name: str | None = None
    argv: tuple[str, ...] | None = None
    start_date: dt.date | None = None
    policy: str = "access_first"


def prepare(request: CalibrationRequest) -> Prepared:
    """Read the export (and list, and mapping) and infer the practice; write nothing.

    Raises:
        CalibrationError: every problem with the files, or an export too thin to use.
    """
    r = request
    export_path, list_path, columns, root = r.export, r.list_file, r.columns, r.root
    try:
        fmt: ExportFormat | None = load_format(columns) if columns else None
        export = read_export(export_path, fmt, dayfirst=r.dayfirst, duplicates=r.duplicates,
                             clinician_names=r.clinician_names)
        people = read_list_file(list_path) if list_path else None
    except ExportError as e:
        raise CalibrationError(e.problems) from None
    base = default_base(root)
    cal = calibrate(export, people, list_size=r.list_size, unmet_share=r.unmet_share,
                    default_roles=base["roles"], pool_first_contact=r.pool_first_contact)
    if not cal.clinicians:
        raise CalibrationError([f"{export_path}: no clinician consulted regularly (8 or more "
                                "weeks with a session worked in half of them): too short an "
                                "export to calibrate from"])
    if "gp" not in cal.roles:
        raise CalibrationError([f"{export_path}: no GP found among the roles "
                                f"({', '.join(sorted(cal.roles))}); name GPs 'GP' in the role "
                                "column"])
    return Prepared(cal, export, people, base)


def run_calibrate(request: CalibrationRequest, *, prepared: Prepared | None = None,
                  say: Callable[[str], None] = print) -> dict[str, Path]:
    """Calibrate, write and fit; return the paths written.

    ``prepared``: the export already read (:func:`prepare`); ``say`` hears progress.

    Raises:
        CalibrationError: an unusable export, list or mapping (every problem),
            or a scenario that does not load (its problems).
        sim.files.outputs.OutputRefused: files it may not write.
    """
    r = request
    export_path, out, root, start_date, policy = r.export, r.out, r.root, r.start_date, r.policy
    name, argv, fit, fit_urgent = r.name, r.argv, r.fit, r.fit_urgent
    replications, workers = r.replications, r.workers
    out_path = Path(out)
    if out_path.suffix not in (".yaml", ".yml"):
        raise CalibrationError([f"--out {out}: name a .yaml file for the scenario"])
    if prepared is None:
        prepared = prepare(r)
    cal, export, people, base = (prepared.cal, prepared.export, prepared.people,
                                 prepared.base)
    say(f"Read {export.format}: {cal.counts['appointments']:,} appointments, "
        f"{cal.period[0]:%d/%m/%Y} to {cal.period[1]:%d/%m/%Y} "
        f"({cal.counts['attended']:,} attended, {cal.counts['dna']:,} DNA, "
        f"{cal.counts['cancelled']:,} cancelled"
        + (f"; {cal.counts['not_yet_happened']:,} still booked or free, set aside"
           if cal.counts.get("not_yet_happened") else "") + ").")
    stem = out_path.stem
    list_name = f"{stem}.list.csv" if people is not None else None
    history_name = f"{stem}.history.parquet" if people is not None else None
    start = start_date or prepared.natural_start
    policy_block = policy_of(policy, root)
    start_note = (None if start_date is None else "shared by the network's practices: the "
                  "Monday after its latest export (the warm-up starts here)")
    command = "gpsim calibrate " + " ".join(shlex.quote(a) for a in (argv or [export_path]))
    practice_name = name or stem.replace("_", " ").capitalize()
    text = scenario_text(cal, base, name=practice_name,
                         start_date=start, list_file=list_name,
                         history_file=history_name, command=command, start_note=start_note,
                         policy=policy_block)
    dest = out_path.parent if str(out_path.parent) else Path(".")
    written: dict[str, Path] = {}
    names = [out_path.name, *(n for n in (list_name, history_name) if n),
             *((f"{stem}_fit/{n}" for n in ("fit.csv", "fit.png", "fit.html")) if fit else ())]
    # The access fit's rounds and the fit's runs share one set of workers.
    with claim_output(dest, command="calibrate", files=names) as folder, \
            folder.writing() as stage, kept_workers(workers or usable_cores()):
        (stage / out_path.name).write_text(text, encoding="utf-8")
        if people is not None:
            _write_list(people, cal, stage / list_name)
            if history_name:
                _write_history(cal, people, stage / history_name)
        scenario = _load(stage / out_path.name, stage, dest)
        if fit_urgent:
            scenario = _fit_access(cal, scenario, stage / out_path.name, workers, say)
            text = scenario_text(cal, base, name=practice_name, start_date=start,
                                 list_file=list_name,
                                 history_file=history_name, command=command, start_note=start_note,
                         policy=policy_block)
            (stage / out_path.name).write_text(text, encoding="utf-8")
            scenario = _load(stage / out_path.name, stage, dest)
        written["scenario"] = dest / out_path.name
        if list_name:
            written["list"] = dest / list_name
            if history_name:
                written["history"] = dest / history_name
        if fit:
            fit_dir = stage / f"{stem}_fit"
            fit_dir.mkdir()
            say(f"Running the calibrated model ({replications} replications) to check its fit...")
            runs = [kept for _, _, kept in run_batch(
                [("fit", scenario, k) for k in range(replications)], run_measures,
                workers=workers or usable_cores(), progress=None,
                description="fit runs")]
            ours = measures(export_table(cal, export.table), int(cal.list_size.value),
                            min(cal.days, 364), cal.utilisation)
            table = fit_table(ours, runs)
            write_csv(table, fit_dir / "fit.csv", index=False)
            plot = fit_plot(table, fit_dir / "fit.png")
            fit_page(table, plot, name=scenario.name, source=str(export_path),
                     scenario=str(dest / out_path.name), notes=_notes(cal, export),
                     path=fit_dir / "fit.html")
            written["fit"] = dest / f"{stem}_fit" / "fit.html"
            inside = int(table["within_tolerance"].sum())
            say(f"Fit: {inside} of {len(table)} measures within tolerance of the export.")
    return written


def policy_of(name: str, root: Path) -> dict:
    """A policy block by name: the shipped approach's (``scenarios/policies/NAME.yaml``) if any."""
    shipped = root / "scenarios" / "policies" / f"{name}.yaml"
    if shipped.is_file():
        return dict(read_yaml(shipped).data.get("policy", {"name": name}))
    return {"name": name}


def _load(path: Path, stage: Path, dest: Path):
    """The written scenario, loaded and checked like any other (problems named at ``dest``)."""
    try:
        return load_scenario(path)
    except ScenarioError as e:
        raise CalibrationError([str(p).replace(str(stage), str(dest)) for p in e.problems]
                               ) from None


#: Correction rounds and replications per round when fitting access. The fitting runs use
#: replications from FITTING_REPLICATIONS on, so the fit report (replications 0, 1, ...) is
#: judged on random numbers the fitting never saw.
ACCESS_ROUNDS = 3
ACCESS_REPLICATIONS = 3
FITTING_REPLICATIONS = 1000

#: What a bound that held the access fit means, for the scenario's comment and the fit report.
ACCESS_BOUNDS = {
    "no urgent requests": "the export books fewer of this role's appointments on the day than "
    "the model's routine requests alone would take, so none is urgent and more of the routine "
    "ones are for a later day (routine_planned_share)",
    "all urgent": "the export books more on the day than even all-urgent demand gives",
    "all routine planned": "the export books fewer on the day than the model gives even when "
    "almost every routine request is for a later day",
    "no routine": "no routine request of this role wanting the soonest slot found one in the "
    "fitting runs",
}


def _fit_access(cal: Calibration, scenario, path: Path, workers: int | None, say) -> object:
    """Fit each need's urgent share (and, in a quiet practice, its routine planned share).

    An export shows which appointments were booked for the same day, not which
    requests had to be: some routine requests find a slot today too. Each round
    runs the scenario, reads how each kind of request was booked
    (:func:`analysis.calibration.fit.access_by_need`) and solves for the shares
    that give the export's same-day share
    (:func:`analysis.calibration.fit.solve_access`). A bound that held the fit
    is said in the scenario and the fit report (:data:`ACCESS_BOUNDS`).
    """
    same = {role: need["urgent_share"].value for role, need in cal.needs.items()}
    urgent = dict(same)
    base = {role: float(n.routine_planned_share) for role, n in scenario.demand.needs.items()}
    planned = dict(base)
    bounds: dict[str, str] = {}
    for _ in range(ACCESS_ROUNDS):
        runs = [kept for _, _, kept in run_batch(
            [("access", scenario, FITTING_REPLICATIONS + k) for k in range(ACCESS_REPLICATIONS)],
            access_by_need,
            workers=workers or usable_cores(), progress=None, description="access fit")]
        for role in urgent:
            rows = [r[role] for r in runs if role in r]
            if not rows:
                continue
            stats = {k: float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
                     for k in rows[0] for v in [np.array([r[k] for r in rows])]}
            u, p, word = solve_access(same[role], stats, base[role])
            urgent[role], planned[role] = round(u, 3), round(p, 3)
            bounds.pop(role, None)
            if word:
                bounds[role] = word
        scenario = load_scenario(path, {
            **{f"demand.needs.{r}.urgent_share": u for r, u in urgent.items()},
            **{f"demand.needs.{r}.routine_planned_share": p for r, p in planned.items()}})
    for role in urgent:
        need = cal.needs[role]
        held = f"; {ACCESS_BOUNDS[bounds[role]]}" if role in bounds else ""
        need["urgent_share"].value = urgent[role]
        need["urgent_share"].note = (
            f"fitted by simulation so that {100 * same[role]:.0f}% of requests are booked for "
            f"the same day, as in the export (the rest of them are routine requests that "
            f"found a slot today){held}")
        if planned[role] != base[role]:
            need["routine_planned_share"] = Estimate(planned[role], (
                f"fitted with urgent_share (above), from {base[role]:g} (the default "
                "practice's); the day wanted is drawn from demand.planned_delay_days"))
    cal.access_bounds = {role: ACCESS_BOUNDS[w] for role, w in bounds.items()}
    say("Urgent shares fitted to the export's same-day bookings: " + ", ".join(
        f"{r} {u:.2f}" + (f" (routine for a later day {planned[r]:.2f})"
                          if planned[r] != base[r] else "") for r, u in urgent.items()) + ".")
    return scenario


def _notes(cal: Calibration, export) -> list[str]:
    notes = [
        f"Export read as {export.format}; {cal.counts['kept']:,} appointments that took a slot "
        f"(attended or DNA) over {cal.days} days.",
        f"List size: {cal.list_size.value:,} ({cal.list_size.note}).",
        f"Usual GPs: {cal.usual_gp_note}.",
        cal.demand["requests_per_patient_year"].note.capitalize() + ".",
        *[n[0].upper() + n[1:] + "." for n in cal.clinician_notes],
    ]
    if export.notes.get("repeated_rows_dropped"):
        notes.append(f"{export.notes['repeated_rows_dropped']:,} rows that repeated an earlier "
                     "row in every column were dropped (--duplicates drop).")
    if export.notes.get("repeated_rows_note"):
        notes.append(export.notes["repeated_rows_note"][0].upper()
                     + export.notes["repeated_rows_note"][1:] + ".")
    if export.notes.get("clinician_names_merged"):
        notes.append(f"{export.notes['clinician_names_merged']:,} spellings of clinician names "
                     "that differed only in capitals, spaces or punctuation were merged "
                     "(--clinician-names merge).")
    if cal.counts.get("booked_after_appointment"):
        notes.append(f"{cal.counts['booked_after_appointment']:,} appointments were recorded as "
                     "booked after they happened; their lead time is taken as 0.")
    by_reason: dict[str, list[str]] = {}
    for role, why in sorted(cal.access_bounds.items()):
        by_reason.setdefault(why, []).append(role_name(role))
    for why, roles in by_reason.items():
        notes.append(f"Same-day access ({', '.join(roles)}): the fit held at a bound: {why}."
                     + (" Every request of these roles is then routine, within a continuity "
                        "approach's reach: read approaches' gains for them with that in mind."
                        if "none is urgent" in why else ""))
    if "slicc" not in cal.usual_gp_note and "saw most" in cal.usual_gp_note:
        notes.append("SLICC of the export uses usual GPs taken from the export itself (the GP "
                     "seen most), which flatters it: read the model's SLICC against it with care.")
    return notes


def _write_list(people: pd.DataFrame, cal: Calibration, path: Path) -> None:
    keep = [c for c in people.columns if c in LIST_COLUMNS or c.startswith("cohort_")]
    out = people[keep].copy()
    out["usual_gp"] = out["patient_id"].map(cal.usual_gp).fillna("")
    write_csv(out, path, index=False)


def _write_history(cal: Calibration, people: pd.DataFrame, path: Path) -> None:
    h = cal.history
    h = h[h["patient_id"].isin(set(people["patient_id"]))
          & h["clinician_id"].isin({c["id"] for c in cal.clinicians})]
    h.reset_index(drop=True).to_parquet(path, index=False)


def main_calibrate(args, root: Path) -> int:
    """The command line's ``calibrate``."""
    try:
        written = run_calibrate(CalibrationRequest(
            args.appointments, args.out, root, list_file=args.list, columns=args.columns,
            dayfirst=args.dayfirst, list_size=args.list_size, unmet_share=args.unmet_share,
            pool_first_contact=not args.separate_roles, duplicates=args.duplicates,
            clinician_names=args.clinician_names, replications=args.replications,
            workers=args.workers, fit=not args.no_fit, name=args.name,
            argv=tuple(sys.argv[2:]), policy=args.policy))
    except CalibrationError as e:
        for p in e.problems:
            print(f"error: {p}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2
    print("Written: " + "; ".join(f"{k} {v}" for k, v in written.items()))
    if "fit" in written:
        print(f"Read the fit report first: {written['fit']}")
    print(f"Then compare approaches: gpsim compare {written['scenario']} --approaches default")
    return 0


#: Bumped when calibration changes, so practices of a network are calibrated afresh.
CALIBRATION_VERSION = "1"


def _inputs_key(item) -> str:
    """A hash of everything a network practice's calibration reads."""
    h = hashlib.sha256(CALIBRATION_VERSION.encode())
    for path in (item.appointments, item.list_file, item.columns):
        h.update(b"\0" if path is None else Path(path).read_bytes() if Path(path).is_file()
                 else str(path).encode())
    return h.hexdigest()


def _network_request(item, root: Path) -> CalibrationRequest:
    """The calibration of a network's practice given by its export (no fit report)."""
    return CalibrationRequest(str(item.appointments), "", root,
                              list_file=str(item.list_file) if item.list_file else None,
                              columns=str(item.columns) if item.columns else None, fit=False)


def calibrate_network_practices(network: Path, items: list, *, root: Path | None = None,
                                say: Callable[[str], None] = print) -> dict[str, Path | list[str]]:
    """Calibrate the practices of a network given by their exports, on one calendar.

    Each is written to ``calibrated/<id>.yaml`` beside the network file (with its
    list and history), without a fit report (run ``calibrate`` on one practice
    for that). They share the simulated period: it starts on the Monday after
    the latest export's end. A practice whose export, list and mapping are
    unchanged since it was last calibrated (``calibrated/<id>.calibration.json``)
    is not calibrated again.

    Returns:
        Per practice id, the scenario file, or the problems found.
    """
    if root is None:
        from gpsim.paths import project_root

        root = project_root()
    folder = Path(network).parent / "calibrated"
    out: dict[str, Path | list[str]] = {}
    prepared: dict[str, Prepared] = {}
    natural: dict[str, dt.date] = {}
    meta: dict[str, dict] = {}
    keys: dict[str, str] = {}
    for item in items:
        keys[item.id] = _inputs_key(item)
        meta_file = folder / f"{item.id}.calibration.json"
        if meta_file.is_file() and (folder / f"{item.id}.yaml").is_file():
            old = json.loads(meta_file.read_text(encoding="utf-8"))
            if old.get("inputs") == keys[item.id]:
                meta[item.id] = old
                natural[item.id] = dt.date.fromisoformat(old["natural_start"])
                continue
        try:
            prepared[item.id] = p = prepare(_network_request(item, root))
        except CalibrationError as e:
            out[item.id] = e.problems
            continue
        natural[item.id] = p.natural_start
    if not natural:
        return out
    start = max(natural.values())
    for item in items:
        if item.id in out:
            continue
        scenario = folder / f"{item.id}.yaml"
        if item.id in meta and meta[item.id].get("start") == start.isoformat():
            out[item.id] = scenario
            continue
        say(f"Calibrating practice {item.id} from {item.appointments} ...")
        try:
            request = dataclasses.replace(_network_request(item, root), out=str(scenario),
                                          start_date=start, name=item.id, fit=False,
                                          argv=(str(item.appointments), "--out", str(scenario)))
            written = run_calibrate(request, prepared=prepared.get(item.id) or prepare(request),
                                    say=lambda _: None)
        except CalibrationError as e:
            out[item.id] = e.problems
            continue
        record = f"{item.id}.calibration.json"
        with claim_output(folder, command="calibrate", files=[record]) as claimed, \
                claimed.writing() as stage:
            (stage / record).write_text(json.dumps({
                "inputs": keys[item.id], "natural_start": natural[item.id].isoformat(),
                "start": start.isoformat()}, indent=1), encoding="utf-8")
        out[item.id] = written["scenario"]
    return out
