"""What the web app does, without the web: pick a practice, change it, pick approaches, run.

Kept apart from the page (:mod:`gpsim.app`) so it is tested directly. Every
scenario the app makes goes through the same loader and strict schema as a
file on the command line (:func:`sim.inputs.loading.scenario_from_dict`,
:func:`sim.load_scenario`), so it gets the same messages, and the YAML it
hands back runs with the command line to the same numbers.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.labels import POLICIES
from sim import ScenarioError, load_scenario
from sim.inputs.files import SCENARIO, file_kind
from sim.inputs.loading import scenario_from_dict
from sim.inputs.policies import describe_policy
from sim.inputs.resolve import resolved_yaml
from sim.inputs.roots import roots_of
from sim.inputs.schema import Scenario

#: The largest scenario file the app accepts (a calibrated practice is far smaller).
MAX_UPLOAD_BYTES = 1_000_000

#: The approaches offered, with their human names (the built-in policies).
APPROACHES = {
    "access_first": "Access-first",
    "usual_gp_first": "Usual-GP-first",
    "micro_team": "Micro-teams",
    "clinical_champion": "Clinical champions for cohorts",
    "personalised_micro_teams": "Personalised micro-teams",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def shipped_scenarios(root: Path) -> dict[str, Path]:
    """The project's scenario files (not networks or sweeps), by path under ``scenarios/``."""
    found = {}
    for p in sorted((root / "scenarios").rglob("*.yaml")):
        try:
            if file_kind(p) == SCENARIO:
                found[p.relative_to(root / "scenarios").as_posix()] = p
        except ScenarioError:
            continue
    return found


#: Characters Markdown, and Streamlit's additions to it (``:red[...]``, ``$...$``), act on.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:$~=&])")


def plain(text: object) -> str:
    """Text to show as it is: every character Markdown would act on is escaped.

    Streamlit renders messages, captions and labels as Markdown, so a value from an
    uploaded file (``![x](http://...)``) would otherwise become an image fetched from
    anywhere, or a link. Line breaks are kept as spaces.
    """
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def problems_of(error: ScenarioError) -> list[str]:
    """A loader error's problems, one line each, as the command line prints them."""
    return [line for line in str(error).splitlines() if line.strip()]


#: Which form field a problem belongs beside, by the key path it names (first match wins).
FIELDS = (("population.size", "list_size"), ("population.list_file", "list_size"),
          ("practice.booking_horizon_days", "booking_horizon_days"),
          ("practice.opening", "opening_days"), ("roles", "roles"),
          ("clinicians", "clinicians"))


def by_field(problems: Sequence[str]) -> dict[str, list[str]]:
    """Problems grouped by the form field they concern (``general`` for the rest).

    A problem belongs to a field when it names that field's key path (``practice.opening.days:
    ...``); the messages are the loader's, unchanged.
    """
    out: dict[str, list[str]] = {}
    for p in problems:
        field = next((f for key, f in FIELDS
                      if re.search(rf"(^|[\s:]){re.escape(key)}(\b|[.\[:])", p)), "general")
        out.setdefault(field, []).append(p)
    return out


def read_local(path: str) -> tuple[Scenario | None, list[str]]:
    """A scenario file on this computer (a calibrated practice with its list and history).

    Read like ``gpsim validate`` reads it; the app serves this machine only.
    """
    p = Path(path.strip()).expanduser()
    if p.suffix not in (".yaml", ".yml"):
        return None, [f"{path}: give the path of a scenario file (.yaml)"]
    try:
        if file_kind(p) != SCENARIO:
            return None, [f"{path}: not a scenario file (a network or a sweep): the app "
                          "compares approaches for one practice"]
        return load_scenario(p), []
    except ScenarioError as e:
        return None, problems_of(e)


def read_upload(name: str, data: bytes) -> tuple[Scenario | None, list[str]]:
    """An uploaded scenario file: the scenario, or the command line's messages about it.

    Files over :data:`MAX_UPLOAD_BYTES` are refused unread; the rest are read
    with the safe YAML reader and the strict schema, as ``gpsim validate`` does.
    An upload may refer to no other file (``extends:``, a list file): it is read in
    a folder of its own, and only that folder is allowed (:mod:`sim.inputs.roots`).
    """
    if len(data) > MAX_UPLOAD_BYTES:
        return None, [f"{name}: {len(data):,} bytes; the app takes scenario files up to "
                      f"{MAX_UPLOAD_BYTES:,} bytes"]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    with tempfile.TemporaryDirectory(prefix="gpsim-upload-") as folder:
        path = Path(folder) / (safe or "upload.yaml")
        path.write_bytes(data)
        try:
            if file_kind(path) != SCENARIO:
                return None, [f"{name}: not a scenario file (a network or a sweep): the app "
                              "compares approaches for one practice"]
            return load_scenario(path, roots=[folder]), []
        except ScenarioError as e:
            return None, [line.replace(str(path), name).replace(
                str(Path(folder).resolve()), "the upload's own folder").replace(
                folder, "the upload's own folder") for line in problems_of(e)]


def practice_form(s: Scenario) -> dict[str, Any]:
    """The settings of a practice the app lets a user change, as they are in ``s``."""
    return {
        "name": s.practice.name,
        "list_size": s.population.size,
        "clinicians": {c.id: {"role": c.role, "sessions_per_week": len(c.sessions)}
                       for c in s.clinicians},
        "booking_horizon_days": s.practice.booking_horizon_days,
        "opening_days": list(s.practice.opening.days),
        "roles": {name: {"label": r.label, "slots_per_session": r.slots_per_session,
                         "on_the_day_share": r.on_the_day_share,
                         "clinicians": sum(c.role == name for c in s.clinicians),
                         "sessions_per_week": sum(len(c.sessions) for c in s.clinicians
                                                  if c.role == name)}
                  for name, r in s.roles.items()},
    }


def with_practice(s: Scenario, form: Mapping[str, Any]) -> tuple[Scenario | None, list[str]]:
    """``s`` with the form's settings, validated as a scenario file would be.

    Returns the scenario, or the loader's messages (key path and what is wrong).
    """
    data = s.model_dump(mode="json", by_alias=True)
    data["population"]["size"] = int(form["list_size"])
    if data["population"].get("list_file") and int(form["list_size"]) != s.population.size:
        return None, ["population.size: this practice's list comes from its list file; "
                      "change the file, not the size"]
    data["practice"]["booking_horizon_days"] = int(form["booking_horizon_days"])
    data["practice"]["opening"]["days"] = list(form["opening_days"])
    problems = []
    for c in data["clinicians"]:
        wanted = form.get("clinicians", {}).get(c["id"], {}).get("sessions_per_week")
        if wanted is None or int(wanted) == len(c["sessions"]):
            continue
        c["sessions"], problem = _resize_sessions(c["id"], list(c["sessions"]), int(wanted),
                                                  list(form["opening_days"]),
                                                  list(s.practice.session_starts))
        problems += [problem] if problem else []
    if problems:
        return None, problems
    for name, values in form.get("roles", {}).items():
        role = data["roles"][name]
        role["slots_per_session"] = int(values["slots_per_session"])
        role["on_the_day_share"] = float(values["on_the_day_share"])
    try:
        return scenario_from_dict(data, source="the practice form", roots=roots_of(s)), []
    except ScenarioError as e:
        return None, problems_of(e)


def _resize_sessions(cid: str, sessions: list[str], wanted: int, days: list[str],
                     starts: list[str]) -> tuple[list[str], str]:
    """A clinician's sessions made ``wanted`` long: the last ones dropped, or free ones added.

    Added sessions are the practice's sessions on its opening days that the
    clinician does not yet work, in week order (Monday morning first).
    """
    if wanted < len(sessions):
        return sessions[:wanted], ""
    free = [f"{d}_{t}" for d in days for t in starts if f"{d}_{t}" not in sessions]
    if wanted - len(sessions) > len(free):
        return sessions, (f"clinicians.{cid}.sessions: {wanted} sessions a week is more than "
                          f"the {len(sessions) + len(free)} the practice opens")
    return sessions + free[: wanted - len(sessions)], ""


def approach_scenario(base: Scenario, policy: str, params: Mapping[str, Any],
                      rollout: Mapping[str, Any] | None = None
                      ) -> tuple[Scenario | None, list[str]]:
    """The practice ``base`` under ``policy`` with ``params``: validated as a file would be.

    With ``rollout`` (``{"from": date, "weeks": n}``) the practice keeps its own
    policy until that date and then changes to this one, its receptionist
    adherence (if it has one) building up from 0 over ``n`` weeks: the
    scenario's ``policy_changes``, as a file would give them.
    """
    data = base.model_dump(mode="json", by_alias=True)
    data["policy"] = {"name": policy, "params": dict(params)}
    data["policy_changes"] = []
    if rollout is not None:
        data["policy"] = base.policy.model_dump(mode="json")
        weeks = float(rollout.get("weeks", 0))
        ramp = ([{"param": "adherence", "start": 0.0, "weeks": weeks}]
                if weeks > 0 and "adherence" in params else [])
        data["policy_changes"] = [{"from": str(rollout["from"]),
                                   "policy": {"name": policy, "params": dict(params)},
                                   "ramp": ramp}]
    data["name"] = f"{base.practice.name}, {POLICIES.get(policy, policy)}"
    try:
        return scenario_from_dict(data, source=f"the {APPROACHES.get(policy, policy)} "
                                  "settings", roots=roots_of(base)), []
    except ScenarioError as e:
        return None, problems_of(e)


def default_rollout_date(s: Scenario):
    """A quarter of the way into the recorded year: a default date for a rollout."""
    import datetime as dt

    return s.start_date + dt.timedelta(days=s.warmup_days + 7 * 13)


def describe(policy: str, params: Mapping[str, Any]) -> str:
    """What an approach does with these settings, in plain words (as the report says it)."""
    return describe_policy(policy, params)


def run_app_comparison(scenarios: Sequence[Scenario], out: Path, replications: int,
                       on_progress: Callable[[int, int], None] | None = None,
                       workers: int | None = None):
    """Compare the approaches with the same executor as ``gpsim compare``.

    The first is the baseline. Returns :class:`gpsim.compare.ComparisonResult`.
    """
    from gpsim.compare import ComparisonRequest, run_comparison

    return run_comparison(ComparisonRequest(
        list(scenarios), out, replications=replications, workers=workers,
        title=f"{scenarios[0].practice.name}: {len(scenarios)} booking approaches",
        progress=False), on_progress=on_progress)


@dataclasses.dataclass(frozen=True)
class Answer:
    """A finished comparison, held in memory for the page (its files are gone).

    Attributes:
        labels: each approach's label, the baseline first.
        seed: the master seed every approach ran with.
        runs: runs made; seconds: how long they took.
        verdict: the verdict's sentences; table: the headline table.
        plots: (title, PNG bytes) of the plots the page shows.
        report: the full report (one self-contained HTML file).
    """

    labels: list[str]
    seed: int
    runs: int
    seconds: float
    verdict: list[str]
    table: Any
    plots: list[tuple[str, bytes]]
    report: bytes


def answer(scenarios: Sequence[Scenario], replications: int,
           on_progress: Callable[[int, int], None] | None = None,
           workers: int | None = None) -> Answer:
    """Compare the approaches (:func:`run_app_comparison`) in a temporary folder; keep the answer.

    Everything the page shows and offers to download is read into memory and the
    folder is removed, also when the comparison is stopped or fails: the app
    leaves nothing behind in the system's temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="gpsim-app-") as folder:
        out = Path(folder) / "comparison"
        result = run_app_comparison(scenarios, out, replications, on_progress, workers)
        shown = results_for_page(out)
        return Answer(labels=list(result.labels), seed=result.seed, runs=result.runs,
                      seconds=result.seconds, verdict=list(shown["verdict"]),
                      table=shown["table"],
                      plots=[(title, png.read_bytes()) for title, png in shown["plots"]],
                      report=(out / "report.html").read_bytes())


def scenario_yaml(s: Scenario, seed: int) -> str:
    """A scenario as YAML to take away, with the comparison's seed.

    Run with the command line, it gives the same numbers.
    """
    return resolved_yaml(s.model_copy(update={"seed": seed}))


#: The plots the app shows, in order (file, title).
APP_PLOTS = (("tradeoff.png", "Continuity against waiting"), ("waits.png", "Waiting times"),
             ("continuity.png", "Continuity per patient"),
             ("emergency.png", "A&E and admissions (proxies)"),
             ("monthly.png", "Month by month"))


def results_for_page(folder: Path) -> dict[str, Any]:
    """A finished comparison, for the page: the verdict, the headline table, the key plots."""
    from analysis.compare import load_comparison
    from analysis.labels import (
        HEADLINE_GROUPS,
        capital,
        difference,
        measure,
        number,
        short_names,
    )
    from analysis.report import after_change
    from analysis.verdict import verdict

    c = load_comparison(folder)
    labels = [s["label"] for s in c["meta"]["scenarios"]]
    within = short_names({s["label"]: s["name"] for s in c["meta"]["scenarios"]})
    comp = c["comparison"].set_index(["scenario", "metric"])
    diff = c["differences"].set_index(["scenario", "metric"])
    rows = []
    for lb in labels:
        row = {"approach": capital(within[lb]) + (" (baseline)" if lb == labels[0] else "")}
        for metric in (m for group in HEADLINE_GROUPS.values() for m in group):
            if (lb, metric) in comp.index:
                r = comp.loc[(lb, metric)]
                cell = (f"{number(metric, r['mean'])} ({number(metric, r['low'])} to "
                        f"{number(metric, r['high'])})")
                if (lb, metric) in diff.index:
                    cell += f"; {difference(metric, diff.loc[(lb, metric), 'difference'])}"
                row[measure(metric).heading] = cell
        rows.append(row)
    import pandas as pd

    return {
        "verdict": verdict(c["comparison"], c["data"]["runs"], labels, within,
                           int(c["meta"]["replications"]), c["meta"].get("precision"),
                           after=after_change(c, labels, labels[0])),
        "table": pd.DataFrame(rows),
        "plots": [(title, folder / "plots" / f) for f, title in APP_PLOTS
                  if (folder / "plots" / f).is_file()],
    }
