"""A practice's appointment export: one row per appointment, read safely in one pass.

The canonical columns (any order, extra columns ignored):

* ``patient_id``, ``clinician_id``, ``role``: text (identifiers keep leading
  zeros; roles in any case, with stray spaces: ``GP``, `` Practice Nurse``);
* ``booked_at``, ``appointment_at``: ISO or UK dates, with or without a time
  (:mod:`sim.inputs.dates`);
* ``status``: attended, dna or cancelled (and the usual words for them:
  "Finished", "Did Not Attend", "Cancelled by Patient", ...); rows still
  "Booked" or "Available" are set aside and counted;
* optional ``mode`` (face_to_face, telephone, online, home_visit),
  ``slot_type`` and ``usual_gp``.

EMIS Web and SystmOne reports are read through the mappings in
``formats/`` (found by their headings, or named with ``--columns``); a
practice's own mapping file has the same form. Everything unreadable is
reported at once: file, line, column and problem, capped with a count.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.files.csv_read import (
    FileProblems,
    duplicate_problems,
    name_problems,
    read_csv_text,
)
from sim.inputs.dates import FORMS, DateColumnError, parse_dates
from sim.inputs.problems import ScenarioError
from sim.inputs.yaml_files import read_yaml

REQUIRED = ("patient_id", "clinician_id", "role", "booked_at", "appointment_at", "status")
OPTIONAL = ("mode", "slot_type", "usual_gp")
STATUSES = ("attended", "dna", "cancelled", "ignore")
MODES = ("face_to_face", "telephone", "online", "home_visit")
FORMATS_DIR = Path(__file__).parent / "formats"

#: Words every format accepts for each status (compared without case or spaces).
COMMON_STATUSES = {
    "attended": ("attended", "seen", "finished", "arrived", "completed", "left"),
    "dna": ("dna", "did not attend", "did not arrive", "no show"),
    "cancelled": ("cancelled", "canceled"),
    "ignore": ("booked", "available", "free", "unbooked"),
}
COMMON_MODES = {
    "face_to_face": ("face_to_face", "face to face", "face-to-face", "f2f", "in person"),
    "telephone": ("telephone", "phone", "tel"),
    "online": ("online", "video", "e-consultation", "econsultation", "written"),
    "home_visit": ("home_visit", "home visit"),
}

#: Role names seen in exports, mapped to the simulator's role keys (any case, spaces ignored).
ROLE_ALIASES = {
    "gp": ("gp", "general practitioner", "gp partner", "salaried gp", "locum gp", "gp locum",
           "gp registrar", "gp trainee", "doctor", "partner"),
    "practice_nurse": ("practice nurse", "nurse", "treatment room nurse", "pn"),
    "anp": ("anp", "advanced nurse practitioner", "nurse practitioner", "advanced practitioner"),
    "pharmacist": ("pharmacist", "clinical pharmacist", "practice pharmacist"),
    "paramedic": ("paramedic", "first contact paramedic", "advanced paramedic practitioner"),
    "physician_associate": ("physician associate", "pa"),
    "hca": ("hca", "healthcare assistant", "health care assistant", "phlebotomist"),
}


class ExportError(FileProblems):
    """An export that cannot be used: every problem, each naming the file, line and column."""


def _fold(text: str) -> str:
    return re.sub(r"[\s_]+", " ", str(text).strip().casefold())


def role_key(text: str) -> str:
    """The simulator's key for an export's role name (``" Practice Nurse"``: ``practice_nurse``)."""
    folded = _fold(text)
    for key, names in ROLE_ALIASES.items():
        if folded in names:
            return key
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_") or "unknown"


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    """How an export's headings and words map onto the canonical columns.

    ``columns`` maps a canonical column to the headings tried (first found
    wins), or for a date-time to ``{"date": [...], "time": [...]}``.
    """

    name: str
    columns: dict
    statuses: dict[str, tuple[str, ...]]
    modes: dict[str, tuple[str, ...]]
    source: str = ""
    roles: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def role_words(self) -> dict[str, str]:
        """Folded role name -> role key, from this format's ``roles:`` table (first key wins)."""
        return _word_table(dict(reversed(list(self.roles.items()))))

    def role_of(self, text: str, words: dict[str, str] | None = None) -> str:
        """The role key of a role name: this format's ``roles:`` words first, then the usual.

        ``words``: :meth:`role_words`, if already made (reading a file maps every row).
        """
        words = self.role_words() if words is None else words
        return words.get(_fold(text)) or role_key(text)

    def status_words(self) -> dict[str, str]:
        """Folded word -> status, this format's and the common ones."""
        return _word_table(COMMON_STATUSES, self.statuses)

    def mode_words(self) -> dict[str, str]:
        """Folded word -> mode, this format's and the common ones."""
        return _word_table(COMMON_MODES, self.modes)


def _word_table(*tables: dict) -> dict[str, str]:
    """Folded word -> key from tables of key -> words (later tables win)."""
    return {_fold(w): key for table in tables for key, words in table.items() for w in words}


CANONICAL = ExportFormat("canonical columns", {c: (c,) for c in (*REQUIRED, *OPTIONAL)}, {}, {})


def load_format(path: str | Path) -> ExportFormat:
    """Read a column mapping (the form of ``formats/emis_web.yaml``); every problem at once.

    Raises:
        ExportError: naming the file, the line and the key.
    """
    try:
        doc = read_yaml(path, what="a column mapping")
    except ScenarioError as e:
        raise ExportError([str(p) for p in e.problems]) from None
    data, problems = doc.data, []

    def where(*key) -> str:
        line = doc.lines.get(tuple(key))
        return f"{doc.file}:{line}" if line else doc.file

    for key in data:
        if key not in ("name", "columns", "statuses", "modes", "roles"):
            problems.append(f"{where(key)}: {key}: unknown key; a mapping has name, columns, "
                            "statuses, modes and roles")
    columns = {}
    raw_cols = data.get("columns")
    if not isinstance(raw_cols, dict):
        problems.append(f"{where('columns')}: columns: give a mapping of canonical column -> "
                        "heading(s)")
        raw_cols = {}
    for col, value in raw_cols.items():
        if col not in (*REQUIRED, *OPTIONAL):
            problems.append(f"{where('columns', col)}: columns.{col}: not a canonical column "
                            f"(one of {', '.join((*REQUIRED, *OPTIONAL))})")
        elif col in ("booked_at", "appointment_at") and isinstance(value, dict):
            parts = {}
            for part, names in value.items():
                if part not in ("date", "time"):
                    problems.append(f"{where('columns', col, part)}: columns.{col}.{part}: "
                                    "give date and (optionally) time")
                else:
                    parts[part] = _names(names)
            if "date" not in parts:
                problems.append(f"{where('columns', col)}: columns.{col}: a date heading is needed")
            columns[col] = parts
        else:
            names = _names(value)
            if not names:
                problems.append(f"{where('columns', col)}: columns.{col}: give a heading or a "
                                "list of headings")
            columns[col] = names
    words = {}
    for table, allowed in (("statuses", STATUSES), ("modes", MODES)):
        raw = data.get(table) or {}
        if not isinstance(raw, dict):
            problems.append(f"{where(table)}: {table}: give a mapping of "
                            f"{' / '.join(allowed)} -> words")
            raw = {}
        for key in raw:
            if key not in allowed:
                problems.append(f"{where(table, key)}: {table}.{key}: not one of "
                                f"{', '.join(allowed)}")
        words[table] = {k: _names(v) for k, v in raw.items() if k in allowed}
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        problems.append(f"{where('roles')}: roles: give a mapping of role key -> the export's "
                        "role names (e.g. gp: [Locum, Registrar])")
        roles = {}
    for key in roles:
        if not re.fullmatch(r"[a-z0-9_]+", str(key)):
            problems.append(f"{where('roles', key)}: roles.{key}: a role key is lower case "
                            "letters, digits and _ (gp, practice_nurse, ...)")
    if problems:
        raise ExportError(problems)
    return ExportFormat(str(data.get("name", Path(path).stem)), columns, words["statuses"],
                        words["modes"], source=str(path),
                        roles={str(k): _names(v) for k, v in roles.items()})


def _names(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if str(v).strip())
    return ()


def shipped_formats() -> dict[str, ExportFormat]:
    """The mappings shipped in ``formats/``, by file stem (``emis_web``, ``systmone``)."""
    return {p.stem: load_format(p) for p in sorted(FORMATS_DIR.glob("*.yaml"))}


@dataclasses.dataclass(frozen=True)
class Export:
    """An appointment export in canonical form, and what reading it set aside.

    ``table`` has ``patient_id, clinician_id, role, role_label, booked_at,
    appointment_at, status`` (attended, dna or cancelled), ``lead_days`` and
    the optional columns present. ``notes`` counts rows set aside.
    """

    path: str
    format: str
    table: pd.DataFrame
    notes: dict[str, int]
    has_times: bool

    @property
    def attended(self) -> pd.DataFrame:
        """Attended appointments."""
        return self.table[self.table["status"] == "attended"]

    @property
    def kept(self) -> pd.DataFrame:
        """Appointments that took a slot: attended and DNA (cancelled ones freed theirs)."""
        return self.table[self.table["status"] != "cancelled"]


def _resolve(df: pd.DataFrame, fmt: ExportFormat) -> tuple[dict, list[str]]:
    """Canonical column -> the file's heading(s) found; and the canonical columns missing."""
    found = {c.casefold(): c for c in df.columns}
    out, missing = {}, []
    for col in (*REQUIRED, *OPTIONAL):
        spec = fmt.columns.get(col, (col,) if fmt is CANONICAL else ())
        if isinstance(spec, dict):
            date = next((found[n.casefold()] for n in spec["date"] if n.casefold() in found), None)
            time = next((found[n.casefold()] for n in spec.get("time", ())
                         if n.casefold() in found), None)
            if date is not None:
                out[col] = (date, time)
        else:
            hit = next((found[n.casefold()] for n in spec if n.casefold() in found), None)
            if hit is not None:
                out[col] = hit
        if col in REQUIRED and col not in out:
            missing.append(col)
    return out, missing


def _choose_format(df: pd.DataFrame, fmt: ExportFormat | None, path: Path
                   ) -> tuple[ExportFormat, dict]:
    if fmt is not None:
        cols, missing = _resolve(df, fmt)
        if missing:
            wanted = "; ".join(f"{c} (headings tried: {', '.join(_tried(fmt, c))})"
                               for c in missing)
            raise ExportError(f"{path}: missing column(s) for {fmt.name}: {wanted}; found: "
                              f"{', '.join(df.columns[:12])}")
        return fmt, cols
    candidates = [CANONICAL, *shipped_formats().values()]
    best, found = None, None
    for f in candidates:  # the format naming most of the file's columns (required ones all)
        cols, missing = _resolve(df, f)
        if not missing and (found is None or len(cols) > len(found[1])):
            found = (f, cols)
        if best is None or len(missing) < len(best[1]):
            best = (f, missing)
    if found is not None:
        return found
    f, missing = best
    raise ExportError(
        f"{path}: the columns are not an appointment export this program knows: "
        f"missing {', '.join(missing)} (closest: {f.name}); found: "
        f"{', '.join(df.columns[:12]) or 'none'}. Give the canonical columns "
        f"{', '.join(REQUIRED)}, or a mapping of your headings with --columns "
        "(see docs/calibration.md)")


def _tried(fmt: ExportFormat, col: str) -> list[str]:
    spec = fmt.columns.get(col, (col,))
    return list(spec["date"]) if isinstance(spec, dict) else list(spec)


def read_export(path: str | Path, fmt: ExportFormat | None = None,
                dayfirst: bool = True, duplicates: str = "refuse",
                clinician_names: str = "refuse") -> Export:
    """Read an appointment export; every problem found in one pass.

    Args:
        path: the CSV file.
        fmt: how its columns map (default: the canonical columns, else the
            shipped format whose headings are all present).
        dayfirst: read ``dd/mm/yyyy`` (UK, default) rather than ``mm/dd/yyyy``.
        duplicates: rows that repeat an earlier row in every column (they would
            double the demand): ``refuse`` (a problem naming their lines), ``drop``
            or ``keep``.
        clinician_names: clinician names that differ only in capitals, spaces or
            punctuation: ``refuse``, ``merge`` (into the first spelling) or ``keep``.

    Raises:
        ExportError: with every problem (file, line, column, what is wrong).
    """
    path = Path(path)
    df = read_csv_text(path, ExportError, missing="no such file", empty="the file is empty")
    lines = df.attrs.pop("lines")
    fmt, cols = _choose_format(df, fmt, path)
    blank = (df.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    lines = lines[~blank]   # file line of each kept row
    df = df[~blank].reset_index(drop=True)
    if len(df) == 0:
        raise ExportError(f"{path}: the file has a header but no appointments")

    def at(mask: np.ndarray) -> str:
        rows = lines[mask][:5].tolist()
        more = int(mask.sum()) - len(rows)
        return ("line" + ("s " if len(rows) > 1 else " ") + ", ".join(map(str, rows))
                + (f" and {more} more" if more > 0 else ""))

    date_col, time_col = (cols["appointment_at"] if isinstance(cols["appointment_at"], tuple)
                          else (cols["appointment_at"], None))
    timed = time_col is not None or bool(df[date_col].str.contains(":", regex=False).any())
    kept, problems, note = duplicate_problems(path, df, lines, "appointment", duplicates, timed)
    repeats = int((~kept).sum())
    df, lines = df[kept].reset_index(drop=True), lines[kept]
    named = [cols[c] for c in ("clinician_id", "usual_gp") if c in cols]
    rename, found = name_problems(path, cols["clinician_id"],
                                  pd.concat([df[c] for c in named], ignore_index=True),
                                  np.tile(lines, len(named)), clinician_names)
    problems += found
    for c in named:
        if rename:
            df[c] = df[c].str.strip().replace(rename)
    out = pd.DataFrame(index=df.index)
    words = fmt.status_words()
    status = df[cols["status"]].map(lambda s: words.get(_fold(s)))
    # Free or future slots ("Available", "Booked") are set aside: they need no patient or
    # booking date, so only the other rows are checked for them.
    used = (status != "ignore").to_numpy()
    for col in ("patient_id", "clinician_id", "role"):
        values = df[cols[col]].str.strip()
        bad = (values == "").to_numpy() & (used if col == "patient_id" else True)
        if bad.any():
            problems.append(f"{path}: column {cols[col]!r} ({col}): blank at {at(bad)}")
        out[col] = values
    has_times = True
    for col in ("booked_at", "appointment_at"):
        date_col, time_col = cols[col] if isinstance(cols[col], tuple) else (cols[col], None)
        text = df[date_col].str.strip()
        label = date_col
        if time_col is not None:
            text = (text + " " + df[time_col].str.strip()).str.strip()
            label = f"{date_col} + {time_col}"
        try:
            values, bad = parse_dates(text, dayfirst=dayfirst)
        except DateColumnError as e:
            problems.append(f"{path}: column {label!r} ({col}): {e}")
            continue
        bad = bad & (used if col == "booked_at" else True)
        if bad.any():
            problems.append(f"{path}: column {label!r} ({col}): unreadable date at {at(bad)} "
                            f"(e.g. {text.to_numpy()[bad][0]!r}); {FORMS}")
        out[col] = values
        if col == "appointment_at" and (values.dt.normalize() == values).all():
            has_times = False
    bad = status.isna().to_numpy()
    if bad.any():
        unknown = pd.Series(df[cols["status"]].to_numpy()[bad]).value_counts()
        listed = ", ".join(f"{v!r} ({n})" for v, n in unknown.head(6).items())
        problems.append(f"{path}: column {cols['status']!r} (status): unknown status at "
                        f"{at(bad)}: {listed}; known: attended, dna, cancelled (or a "
                        "mapping's words, --columns)")
    out["status"] = status
    if "mode" in cols:
        mwords = fmt.mode_words()
        raw_mode = df[cols["mode"]].str.strip()
        mode = raw_mode.map(lambda s: mwords.get(_fold(s)) if s else None)
        bad = (mode.isna() & (raw_mode != "")).to_numpy()
        if bad.any():
            unknown = pd.Series(raw_mode.to_numpy()[bad]).value_counts()
            listed = ", ".join(f"{v!r} ({n})" for v, n in unknown.head(6).items())
            problems.append(f"{path}: column {cols['mode']!r} (mode): unknown mode at "
                            f"{at(bad)}: {listed}; known: {', '.join(MODES)}")
        out["mode"] = mode
    for col in ("slot_type", "usual_gp"):
        if col in cols:
            out[col] = df[cols[col]].str.strip().replace("", np.nan)
    if problems:
        raise ExportError(problems)
    notes = {"rows": int(blank.size), "blank_rows": int(blank.sum()),
             "repeated_rows_dropped": repeats, "clinician_names_merged": len(rename),
             "repeated_rows_note": note}
    ignored = (out["status"] == "ignore").to_numpy()
    notes["not_yet_happened"] = int(ignored.sum())
    out = out[~ignored].reset_index(drop=True)
    out["role_label"] = out["role"]
    role_words = fmt.role_words()
    out["role"] = out["role"].map(lambda text: fmt.role_of(text, role_words))
    lead = (out["appointment_at"].dt.normalize() - out["booked_at"].dt.normalize()).dt.days
    notes["booked_after_appointment"] = int((lead < 0).sum())
    out["lead_days"] = lead.clip(lower=0).astype(np.int64)
    out = out.sort_values(["appointment_at", "clinician_id"], kind="stable").reset_index(drop=True)
    out["status"] = out["status"].astype(str)
    return Export(str(path), fmt.name, out, notes, has_times)
