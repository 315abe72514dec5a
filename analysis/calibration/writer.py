"""The calibrated scenario as YAML text, every inferred value commented with its source.

A comment on a key's line is what the report's parameter table shows as that
parameter's source (:func:`sim.inputs.parameters.parameter_rows`), so every
number here says where it came from: the export (with counts and dates), the
registered list, or the default practice ("ASSUMPTION", kept because an
export cannot say).
"""

from __future__ import annotations

import datetime as dt
import json

import yaml

from .infer import Calibration

#: Sections taken whole from the default practice: an export cannot say these.
KEPT = ("absence", "cohorts", "follow_ups", "relationship_depth")


def _v(value) -> str:
    """A value in YAML flow style on one line."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_v(x) for x in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_v(x)}" for k, x in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _key(k) -> str:
    k = str(k)
    plain = k.replace("_", "").replace("-", "").isalnum() and not k[0].isdigit()
    return k if plain else json.dumps(k)


def _line(indent: int, key: str, value, note: str = "") -> str:
    text = f"{' ' * indent}{key}: {_v(value)}"
    return text + (f"  # {_one_line(note)}" if note else "")


def _one_line(note: str) -> str:
    return " ".join(str(note).split())


def _block(data: dict, indent: int) -> list[str]:
    text = yaml.safe_dump(data, default_flow_style=None, sort_keys=False, width=100,
                          allow_unicode=True)
    return [(" " * indent + line) if line else line for line in text.rstrip().splitlines()]


def scenario_text(cal: Calibration, base: dict, *, name: str, start_date: dt.date,
                  list_file: str | None,
                  history_file: str | None, command: str,
                  start_note: str | None = None, policy: dict | None = None) -> str:
    """The scenario file for a calibrated practice.

    Args:
        cal: what :func:`analysis.calibration.infer.calibrate` found.
        base: the default practice's scenario (parsed YAML), for what an export cannot say.
        name: the practice's name.
        start_date: the first day of the simulated period (after the export).
        list_file: the written list file, relative to the scenario, if any.
        history_file: the written history file, relative to the scenario, if any.
        command: the command that wrote it (in the header).
        start_note: how the start date was chosen (default: after the export).
        policy: the practice's booking policy today (``name``, ``params``; default
            access-first).
    """
    first, last = (t.strftime("%Y-%m-%d") for t in cal.period)
    out = [
        f"# {name}: calibrated from {cal.source}",
        f"# ({cal.counts['appointments']:,} appointments, {first} to {last}) by:",
        f"#   {command}",
        "# Every value says how it was estimated. Values marked ASSUMPTION come from the",
        "# default practice (docs/evidence.md): an appointment export cannot say them. The fit",
        "# of this scenario to the export is in the fit report written beside it.",
        "# This file holds no patient identifiers.",
        f"name: {_v(name)}",
        "description: " + _v(f"Calibrated from an appointment export, {first} to {last}."),
        _line(0, "seed", int(base.get("seed", 1))),
        _line(0, "start_date", start_date, start_note or "the Monday after the export's last "
              "day (the warm-up starts here): the simulated period follows the export"),
        _line(0, "warmup_days", int(base.get("warmup_days", 56)), "ASSUMPTION: as the default "
              "practice"),
        _line(0, "duration_days", 364, "one recorded year"),
        "",
        "practice:",
        _line(2, "name", name),
    ]
    p = cal.practice
    opening = dict(base["practice"]["opening"])
    opening["days"] = p["opening_days"].value
    out.append(_line(2, "opening", opening, p["opening_days"].note))
    starts = dict(base["practice"]["session_starts"])
    notes = []
    for half in ("am", "pm"):
        if f"session_start_{half}" in p:
            starts[half] = p[f"session_start_{half}"].value
            notes.append(p[f"session_start_{half}"].note)
    out.append(_line(2, "session_starts", starts,
                     "; ".join(notes) or "ASSUMPTION: the export has no appointment times"))
    out.append(_line(2, "bank_holidays", "england_and_wales",
                     "England and Wales bank holidays, by rule for every year of the run"))
    for key in ("booking_horizon_days", "on_the_day_release_minutes", "max_attempts"):
        out.append(_line(2, key, base["practice"][key], "ASSUMPTION: as the default practice"))
    out += ["", "population:"]
    if list_file is not None:
        out.append(_line(2, "list_file", list_file, cal.list_size.note))
    else:
        out.append(_line(2, "size", int(cal.list_size.value), cal.list_size.note))
    if history_file is not None:
        out.append(_line(2, "history_file", history_file,
                         f"consultations before the simulated period, from the "
                         f"{cal.counts['attended']:,} attended appointments"))
    elif cal.synthetic_history is not None:
        out.append(_line(2, "history", cal.synthetic_history.value, cal.synthetic_history.note))
    pop = base["population"]
    out.append("  # Age bands: England's structure (the list's own ages place its patients);")
    out.append("  # rate ratios and conditions as the default practice: ASSUMPTION.")
    out.append("  age_bands:")
    out += [f"    - {_v(b)}" for b in pop["age_bands"]]
    for key in ("ltc_rate_ratio", "values_continuity_share", "dna_propensity_shape"):
        out.append(_line(2, key, pop[key], "ASSUMPTION: as the default practice"))

    d = cal.demand
    out += ["", "demand:"]
    out.append(_line(2, "requests_per_patient_year", d["requests_per_patient_year"].value,
                     d["requests_per_patient_year"].note))
    out.append(_line(2, "rate_shape", base["demand"]["rate_shape"],
                     "ASSUMPTION: as the default practice"))
    for key in ("weekday_weights", "seasonal_amplitude", "seasonal_peak_day_of_year",
                "intraday_profile", "modes"):
        if key in d:
            out.append(_line(2, key, d[key].value, d[key].note))
        else:
            out.append(_line(2, key, base["demand"][key],
                             "ASSUMPTION: as the default practice (not in the export)"))
    out.append("  # One need per role: the requests that role saw (its share), and the roles")
    out.append("  # that may take them.")
    out.append("  needs:")
    routine_planned = base["demand"]["needs"].get("acute", {}).get("routine_planned_share", 0.1)
    for role, need in cal.needs.items():
        out.append(f"    {_key(role)}:")
        out.append(_line(6, "share", need["share"].value, need["share"].note))
        out.append(_line(6, "urgent_share", need["urgent_share"].value, need["urgent_share"].note))
        out.append(_line(6, "roles", need["roles"].value, need["roles"].note))
        if "routine_planned_share" in need:
            out.append(_line(6, "routine_planned_share", need["routine_planned_share"].value,
                             need["routine_planned_share"].note))
        else:
            out.append(_line(6, "routine_planned_share", routine_planned,
                             "ASSUMPTION: as the default practice's acute need"))
        for key in ("follow_up_probability", "follow_up_delay_days"):
            out.append(_line(6, key, need[key].value, need[key].note))
    out.append(_line(2, "planned_delay_days", base["demand"]["planned_delay_days"],
                     "ASSUMPTION: as the default practice"))

    out += ["", "planned_care:"]
    if cal.planned_care:
        for stream in cal.planned_care:
            item = {k: stream[k] for k in ("id", "need", "rate_per_year", "lead_days")}
            out.append(f"  - {_v(item)}  # {_one_line(stream['note'])}")
    else:
        out[-1] = "planned_care: []  # no planned care found in the export"

    out += ["", "dna:", "  by_lead_days:"]
    for top, est in cal.dna:
        out.append(f"    - {_v({'max_lead_days': top, 'probability': est.value})}"
                   f"  # {_one_line(est.note)}")

    out += ["", "roles:"]
    for role, r in cal.roles.items():
        out.append(f"  {_key(role)}:")
        for key in ("label", "modes", "slot_minutes", "slots_per_session", "on_the_day_share",
                    "annual_leave_weeks", "holds_list"):
            out.append(_line(4, key, r[key].value, r[key].note))

    out += ["", "# Clinicians who consulted regularly; each line's comment says from what."]
    for note in cal.clinician_notes:
        out.append(f"# {_one_line(note)}")
    out.append("clinicians:")
    for c in cal.clinicians:
        role_slots = cal.roles[c["role"]]["slots_per_session"].value
        item = {"id": c["id"], "role": c["role"], "sessions": c["sessions"]}
        if c["slots_p90"] and abs(c["slots_p90"] - role_slots) > 0.15 * role_slots:
            item["slots_per_session"] = int(max(1, min(48, round(c["slots_p90"]))))
        item["annual_leave_weeks"] = c["annual_leave_weeks"]
        out.append(f"  - {_v(item)}  # {_one_line(c['note'])}")

    out += ["", "# Micro-teams formed from the workforce: two list-holding GPs a team, other",
            "# roles shared out (team-based policies use them). ASSUMPTION.",
            "team_formation: {gps_per_team: 2}", ""]
    out.append("# Kept from the default practice: an export cannot say these (ASSUMPTION).")
    for section in KEPT:
        out += _block({section: base[section]}, 0)
    out.append("")
    out += _choice_and_emergency(cal, base)
    policy = dict(policy or {"name": "access_first"})
    out += ["", "# How the practice books today (--policy; an export cannot show it). Compare",
            "# approaches against it: gpsim compare THIS.yaml --approaches ...",
            "policy:", _line(2, "name", policy["name"], "the practice as it books today")]
    if policy.get("params"):
        out.append(_line(2, "params", policy["params"]))
    return "\n".join(out) + "\n"


def _choice_and_emergency(cal: Calibration, base: dict) -> list[str]:
    """``choice`` and ``emergency`` with their per-need tables keyed by the calibrated needs."""
    choice = dict(base["choice"])
    extra = base["choice"]["extra_days_by_need"]
    choice["extra_days_by_need"] = {
        role: (extra.get("complex", 2.4) if role == "gp" else extra.get("nursing", 4.2)
               if role in ("practice_nurse", "pharmacist", "hca") else extra.get("acute", 0.9))
        for role in cal.needs}
    emergency = json.loads(json.dumps(base["emergency"], default=str))
    tolerance = base["emergency"]["access"].get("routine_tolerance_days_by_need", {})
    emergency["access"]["routine_tolerance_days_by_need"] = {
        role: tolerance.get("complex", 7) if role == "gp" else tolerance.get("acute", 3)
        for role in cal.needs if role in ("gp", "anp", "paramedic", "physician_associate")}
    lines = ["# Patients' choices and the A&E proxies: the default practice's, with the",
             "# per-need figures given to the calibrated needs (GP: as a complex problem;",
             "# nurses, pharmacists: as a routine check; others: as an acute one). ASSUMPTION."]
    lines += _block({"choice": choice}, 0)
    lines += _block({"emergency": emergency}, 0)
    return lines
