"""How well a calibrated model reproduces its export: the same measures, side by side.

One function (:func:`measures`) computes every measure from an appointment
table in canonical form, so the export and each simulated run are measured
by the same code. :func:`fit_table` sets the export beside the model's mean
and 95% interval over replications and flags each measure within or outside
its stated tolerance (:data:`TOLERANCES`); :func:`fit_page` writes fit.html.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from ..continuity import patient_indices, slicc
from ..plots import role_name
from ..stats import mean_ci

LEAD_BANDS = ((0, 0, "same day"), (1, 1, "next day"), (2, 7, "2-7 days"), (8, 14, "8-14 days"),
              (15, 21, "15-21 days"), (22, 28, "22-28 days"), (29, None, "over 28 days"))
DNA_BANDS = ((0, 0, "same day"), (1, 1, "next day"), (2, 7, "2-7 days"), (8, None, "over 7 days"))
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Tolerance by measure group: (absolute or relative, size, how it reads).
TOLERANCES = {
    "consultations": ("relative", 0.10, "within 10%"),
    "share": ("absolute", 0.05, "within 5 points"),
    "dna": ("absolute", 0.015, "within 1.5 points"),
    "weekday": ("absolute", 0.03, "within 3 points"),
    "month": ("absolute", 0.02, "within 2 points"),
    "utilisation": ("absolute", 0.10, "within 10 points"),
    "index": ("absolute", 0.05, "within 0.05"),
}


def _band(lead: pd.Series, lo: int, hi: int | None) -> np.ndarray:
    return ((lead >= lo) & ((lead <= hi) if hi is not None else True)).to_numpy()


def measures(table: pd.DataFrame, patients: int, days: int,
             utilisation: dict[str, float] | None = None) -> dict[str, float]:
    """Every fit measure of an appointment table in canonical form.

    Args:
        table: ``patient_id, clinician_id, role, appointment_at, status``
            (attended, dna, cancelled), ``lead_days`` and optionally
            ``usual_gp`` (for SLICC).
        patients: patients on the list.
        days: the days the table covers.
        utilisation: booked share of capacity by role, if known.
    """
    kept = table[table["status"] != "cancelled"]
    attended = kept[kept["status"] == "attended"]
    years = days / 365.25
    out = {"consultations_per_patient_year": len(attended) / (patients * years)}
    lead = kept["lead_days"]
    for lo, hi, name in LEAD_BANDS:
        out[f"lead {name}"] = float(_band(lead, lo, hi).mean()) if len(kept) else np.nan
    dna = (kept["status"] == "dna").to_numpy()
    out["dna_rate"] = float(dna.mean()) if len(kept) else np.nan
    for lo, hi, name in DNA_BANDS:
        band = _band(lead, lo, hi)
        out[f"dna {name}"] = float(dna[band].mean()) if band.any() else np.nan
    weekday = kept["appointment_at"].dt.day_of_week.value_counts(normalize=True)
    for d, name in enumerate(WEEKDAYS[:5]):
        out[f"weekday {name}"] = float(weekday.get(d, 0.0))
    month = kept["appointment_at"].dt.month.value_counts(normalize=True)
    for m, name in enumerate(MONTHS, start=1):
        out[f"month {name}"] = float(month.get(m, 0.0))
    for role, value in sorted((utilisation or {}).items()):
        out[f"utilisation {role}"] = float(value)
    gp = attended[attended["role"] == "gp"]
    if len(gp):
        idx = patient_indices(gp, min_visits=3, time="appointment_at")
        out["upc_mean"] = float(idx["upc"].mean())
        if "usual_gp" in gp.columns and gp["usual_gp"].notna().any():
            out["slicc"] = slicc(gp[gp["usual_gp"].notna()], usual="usual_gp")
    return out


def run_measures(result) -> dict[str, float]:
    """:func:`measures` of one simulated run (its recorded window), for the fit report.

    Appointments still booked at the window's end are left out (an export has
    none); the practice's cancellations count as cancelled.
    """
    a = result.appointments
    a = a[a["in_window"].to_numpy()]
    status = a["status"].astype(str).map({"attended": "attended", "dna": "dna",
                                          "cancelled_by_practice": "cancelled"})
    keep = status.notna().to_numpy()
    table = pd.DataFrame({
        "patient_id": a["patient_id"].to_numpy(), "clinician_id": a["clinician_id"].astype(str),
        "role": a["role"].astype(str), "appointment_at": a["appointment_at"],
        "status": status, "lead_days": a["lead_days"].to_numpy(),
        "usual_gp": a["usual_clinician_id"].astype(object)})[keep]
    days = result.clinician_days
    by_role = days.groupby("role", observed=True)[["booked_slots", "available_slots"]].sum()
    util = (by_role["booked_slots"] / by_role["available_slots"]).to_dict()
    return measures(table, int(result.info["patients"]), int(result.info["window_days"]),
                    {str(k): float(v) for k, v in util.items()})


#: Kinds of a patient's own request the access fit tells apart.
ACCESS_KINDS = ("urgent", "soonest", "planned")


def access_by_need(result) -> dict[str, dict[str, float]]:
    """How a run booked patients' own requests, by need: what calibration fits access to.

    Per need: ``same``, the share of its kept own appointments (urgent or
    routine, attended or DNA, in the window) booked for the same day, as an
    export shows it; and per kind of request (urgent; routine wanting the
    soonest slot; routine for a planned later day) its share of them
    (``<kind>_share``) and its own same-day share (``<kind>_same``; NaN for a
    kind with no appointment). Appointments of requests first made before the
    window are left out (their wanted day is not recorded).
    """
    a = result.appointments
    a = a[a["in_window"].to_numpy() & a["urgency"].astype(str).isin(("urgent", "routine"))
          .to_numpy() & a["status"].astype(str).isin(("attended", "dna")).to_numpy()]
    wanted = a["request_id"].map(result.requests.set_index("request_id")["wanted_from"])
    a, wanted = a[wanted.notna().to_numpy()], wanted[wanted.notna()]
    urgent = (a["urgency"].astype(str) == "urgent").to_numpy()
    planned = (wanted.dt.normalize() > a["requested_at"].dt.normalize()).to_numpy()
    kind = np.where(urgent, "urgent", np.where(planned, "planned", "soonest"))
    same = a["lead_days"].to_numpy() == 0
    need = a["need"].astype(str).to_numpy()
    out: dict[str, dict[str, float]] = {}
    for name in sorted(set(need)):
        mine = need == name
        row = {"same": float(same[mine].mean())}
        for k in ACCESS_KINDS:
            these = mine & (kind == k)
            row[f"{k}_share"] = float(these.sum() / mine.sum())
            row[f"{k}_same"] = float(same[these].mean()) if these.any() else np.nan
        out[name] = row
    return out


def solve_access(same: float, stats: dict[str, float], planned_share: float
                 ) -> tuple[float, float, str]:
    """The urgent share and routine planned share that give an export's same-day share.

    An export shows which appointments were booked for the same day, not which
    requests had to be. With the urgent share ``u``, the routine planned share
    ``p`` (requests for a later day, never booked today) and ``q``, the share of
    routine requests wanting the soonest slot that the model booked today
    (``stats``, from :func:`access_by_need`), the same-day share is
    ``u s + (1 - u)(1 - p) q`` (``s``: urgent requests booked today). The urgent
    share is solved for with ``p`` as it is; only if that would need fewer than
    no urgent requests (a quiet practice, whose routine callers mostly get a
    slot today) is ``u`` 0 and ``p`` solved for instead: more of the routine
    requests are for a later day. The word says which bound held ("" if none).
    """
    q = stats.get("soonest_same", np.nan)
    s = stats.get("urgent_same", np.nan)
    s = 1.0 if not np.isfinite(s) else s
    if not np.isfinite(q):  # no routine request wanting the soonest slot was booked
        return min(max(same / s, 0.0), 1.0), planned_share, "no routine"
    routine = (1.0 - planned_share) * q
    if s - routine <= 1e-9:
        return 1.0, planned_share, "all urgent"
    u = (same - routine) / (s - routine)
    if u > 1.0:
        return 1.0, planned_share, "all urgent"
    if u >= 0.0:
        return float(u), planned_share, ""
    p = 1.0 - same / q if q > 0 else planned_share
    if p > 0.95:
        return 0.0, 0.95, "all routine planned"
    return 0.0, float(max(p, 0.0)), "no urgent requests"


def group_of(measure: str) -> str:
    """The tolerance group of a measure."""
    if measure == "consultations_per_patient_year":
        return "consultations"
    if measure.startswith("dna"):
        return "dna"
    for prefix in ("weekday", "month", "utilisation"):
        if measure.startswith(prefix):
            return prefix
    if measure in ("upc_mean", "slicc"):
        return "index"
    return "share"


LABELS = {
    "consultations_per_patient_year": "Consultations per patient-year",
    "dna_rate": "DNA rate, all appointments",
    "upc_mean": "UPC (GP, patients with 3+ visits)",
    "slicc": "SLICC (GP visits with the usual GP)",
}


def label(measure: str) -> str:
    """A measure's name for people."""
    if measure in LABELS:
        return LABELS[measure]
    kind, _, rest = measure.partition(" ")
    return {"lead": f"Booked {rest} ahead" if rest != "same day" else "Booked the same day",
            "dna": f"DNA rate, booked {rest} ahead" if rest != "same day"
            else "DNA rate, booked the same day",
            "weekday": f"Appointments on {rest}", "month": f"Appointments in {rest}",
            "utilisation": f"Utilisation, {role_name(rest)}"}.get(kind, measure)


def fit_table(export: dict[str, float], runs: list[dict[str, float]]) -> pd.DataFrame:
    """The export beside the model (mean, 95% interval), each measure's tolerance and verdict.

    A measure the export cannot give (a DNA rate of a lead-time band it has no
    appointment in) is left out.
    """
    rows = []
    for m, value in export.items():
        if not np.isfinite(value):
            continue
        mean, lo, hi, n = mean_ci([r.get(m, np.nan) for r in runs])
        kind, size, words = TOLERANCES[group_of(m)]
        tol = size * abs(value) if kind == "relative" else size
        within = bool(np.isfinite(value) and np.isfinite(mean) and abs(mean - value) <= tol)
        rows.append({"measure": m, "label": label(m), "group": group_of(m), "export": value,
                     "model_mean": mean, "model_low": lo, "model_high": hi, "replications": n,
                     "tolerance": words, "within_tolerance": within})
    return pd.DataFrame(rows)


def _fmt(measure: str, x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if measure == "consultations_per_patient_year":
        return f"{x:.2f}"
    if measure in ("upc_mean", "slicc"):
        return f"{x:.3f}"
    return f"{100 * x:.1f}%"


def fit_plot(fit: pd.DataFrame, path: Path) -> Path:
    """The export and the model overlaid: lead bands, DNA by lead, weekdays, months, roles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("share", "Days from booking to appointment", "share of appointments"),
              ("dna", "DNA rate", "DNA rate"),
              ("weekday", "Appointments by weekday", "share of appointments"),
              ("month", "Appointments by month", "share of appointments"),
              ("utilisation", "Utilisation by role (of inferred capacity)", "booked share")]
    panels = [p for p in panels if (fit["group"] == p[0]).any()]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.9 * len(panels)), dpi=100,
                             layout="constrained")
    axes = np.atleast_1d(axes)
    for ax, (group, title, ylabel) in zip(axes, panels, strict=True):
        rows = fit[fit["group"] == group]
        x = np.arange(len(rows))
        names = [r.split(" ", 1)[1] if " " in r else "all" for r in rows["measure"]]
        ax.bar(x - 0.2, 100 * rows["export"], width=0.4, color="#9ecae1", label="export",
               edgecolor="#3182bd")
        err = np.vstack([rows["model_mean"] - rows["model_low"],
                         rows["model_high"] - rows["model_mean"]]) * 100
        ax.errorbar(x + 0.2, 100 * rows["model_mean"], yerr=np.nan_to_num(err), fmt="o",
                    color="#d95f02", capsize=3, label="model (mean, 95% interval)")
        if group == "utilisation":
            names = [role_name(n) for n in names]
        ax.set_xticks(x, names, fontsize=9)
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylabel(ylabel + " (%)")
        ax.grid(axis="y", alpha=0.3)
    handles, texts = axes[0].get_legend_handles_labels()
    fig.legend(handles, texts, loc="outside upper center", ncol=2, frameon=False, fontsize=9)
    fig.savefig(path)
    plt.close(fig)
    return path


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.out td { background: #fdecea; } .out-word { color: #b00020; font-weight: 600; }
img { max-width: 100%; } .lead { font-size: 1.1em; }
"""


#: Share of an export's appointments booked over two weeks ahead from which its book is
#: called full in the fit report (the default practice's is about 19%).
FULL_BOOK = 0.4


def fit_page(fit: pd.DataFrame, plot: Path, *, name: str, source: str, scenario: str,
             notes: list[str], path: Path) -> Path:
    """fit.html: a sentence on the fit, the table of measures, the overlaid plot and the notes."""
    e = html.escape
    inside = int(fit["within_tolerance"].sum())
    outside = fit[~fit["within_tolerance"]]
    reps = int(fit["replications"].max()) if len(fit) else 0
    lead = (f"{inside} of {len(fit)} measures of the calibrated model are within tolerance of "
            f"the export ({reps} replications).")
    if len(outside):
        lead += (" Outside: " + "; ".join(e(x) for x in outside["label"].head(8))
                 + (f"; and {len(outside) - 8} more" if len(outside) > 8 else "")
                 + ". Read these before trusting the model's effect sizes for this practice.")
        if outside["group"].eq("index").any() and not fit["measure"].eq("slicc").any():
            # Without each patient's usual GP the model drew the lists itself: a continuity
            # mismatch says nothing about how the practice books.
            lead += (" The export names no usual GP, so the model assigned patients to GPs "
                     "itself and its continuity cannot be held to the export's: give the "
                     "registered list with a usual_gp column (<code>--list</code>) before "
                     "reading continuity. This export cannot show which booking approach the "
                     "practice uses, so do not change <code>--policy</code> on its account.")
        elif outside["group"].eq("index").any():
            lead += (" With each patient's usual GP known, continuity outside its tolerance "
                     "may mean the practice books differently from the scenario's policy "
                     "(if you know it does, calibrate again with <code>--policy</code>: "
                     "usual_gp_first, micro_team, ...), or that its patients ask for their "
                     "own GP more or less often than the defaults assume.")
        far = fit.set_index("measure")["export"].reindex(
            ["lead 15-21 days", "lead 22-28 days", "lead over 28 days"]).sum()
        if outside["measure"].str.startswith("lead").any() and far >= FULL_BOOK:
            lead += (f" The export's book looks full ({100 * far:.0f}% of appointments booked "
                     "more than two weeks ahead): an export of a full book shows the queue, "
                     "not the demand behind it, and the calibrated model does not reproduce "
                     "it; do not use this calibration for effect sizes.")
    rows = []
    for _, r in fit.iterrows():
        m = r["measure"]
        interval = (f"{_fmt(m, r['model_low'])} to {_fmt(m, r['model_high'])}"
                    if np.isfinite(r["model_low"]) else "–")
        verdict = ("within" if r["within_tolerance"]
                   else '<span class="out-word">outside</span>')
        rows.append(f"<tr class=\"{'in' if r['within_tolerance'] else 'out'}\"><td>"
                    f"{e(r['label'])}</td><td class=\"num\">{_fmt(m, r['export'])}</td>"
                    f"<td class=\"num\">{_fmt(m, r['model_mean'])}</td><td class=\"num\">"
                    f"{interval}</td><td>{e(r['tolerance'])}</td><td>{verdict}</td></tr>")
    image = base64.b64encode(plot.read_bytes()).decode("ascii")
    note_items = "".join(f"<li>{e(n)}</li>" for n in notes)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Fit of {e(name)} to its export</title><style>{STYLE}</style></head><body>
<h1>How well the calibrated model fits {e(name)}'s export</h1>
<p class="lead">{lead}</p>
<p>Export: <code>{e(source)}</code>. Scenario: <code>{e(scenario)}</code>. The model's measures
are over its recorded year; the export's over its last year (at most 364 days). Tolerances are
stated per measure; a measure outside its tolerance is shaded.</p>
<h2>Measures</h2>
<table><tr><th>measure</th><th>export</th><th>model</th><th>model 95% interval</th>
<th>tolerance</th><th>fit</th></tr>{''.join(rows)}</table>
<h2>The export and the model overlaid</h2>
<img alt="Export and model: lead times, DNA rates, weekdays, months and utilisation"
 src="data:image/png;base64,{image}">
<h2>How the scenario was estimated</h2><ul>{note_items}</ul>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
