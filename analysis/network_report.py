"""The report of one network run: the network as a whole, and each practice beside the others.

Drawn from the network's summary rows over replications (one row per
practice and one for the network in each replication), so it never
simulates. With two or more replications every figure carries its 95%
interval; with one, the report says that intervals need more.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from .labels import GROUPS, HEADLINE_GROUPS, POLICIES, measure, number
from .plots import PRACTICE_PANELS, PRACTICES_NAMED, compare_practices
from .report import STYLE
from .stats import intervals_by


def network_intervals(reps: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval over replications of every measure, per practice and the network.

    ``reps``: the network summary rows of every replication (``practice_id``,
    ``replication`` and the measures). Rows: ``practice_id, metric, mean, low, high, n``.
    """
    metrics = [c for c in reps.columns if c not in ("practice_id", "policy", "replication")
               and pd.api.types.is_numeric_dtype(reps[c])]
    return intervals_by(reps, "practice_id", metrics)


#: A practice is flagged as in trouble below these (report thresholds, not evidence):
#: half of routine appointments within two weeks, 90% of urgent requests seen the same day.
TROUBLE = {"routine_within_14_days_share": 0.5, "urgent_same_day_share": 0.9}


def _date(iso: str) -> str:
    d = pd.Timestamp(iso)
    return f"{d.day} {d:%B %Y}"


def approach_text(periods: list[list[str]]) -> str:
    """A practice's approaches over the run, in words."""
    if not periods:
        return ""
    words = POLICIES.get(periods[0][1], periods[0][1])
    for start, name in periods[1:]:
        words += f", then {POLICIES.get(name, name)} from {_date(start)}"
    return words


def waves_of(periods: dict[str, list[list[str]]]
             ) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Practices grouped by the day they first change approach.

    Returns wave name -> its practices, and wave name -> that day; practices that
    never change are grouped last.
    """
    by_day: dict[str, list[str]] = {}
    never = []
    for pid, p in periods.items():
        if len(p) > 1:
            by_day.setdefault(p[1][0], []).append(pid)
        else:
            never.append(pid)
    waves, changes = {}, {}
    for i, day in enumerate(sorted(by_day), start=1):
        name = f"wave {i}, from {_date(day)}"
        waves[name], changes[name] = by_day[day], day
    if never:
        waves["no change"] = never
    return waves, changes


def _trouble(t: dict, practices: list[str]) -> str:
    """Which practices fall below :data:`TROUBLE`, in a paragraph."""
    e = html.escape
    flagged = []
    for pid in practices:
        why = [f"{measure(m).label.lower()} {number(m, t[(pid, m)]['mean'])}"
               for m, floor in TROUBLE.items() if (pid, m) in t and t[(pid, m)]["mean"] < floor]
        if why:
            flagged.append(f"<li><b>{e(pid)}</b>: {e('; '.join(why))}</li>")
    rule = ("fewer than half of routine appointments within two weeks, or fewer than 90% of "
            "urgent requests seen the same day (thresholds of this report, not targets)")
    if not flagged:
        return f"<p>No practice is in trouble by this report's tests ({rule}).</p>"
    return (f'<h2>Practices in trouble</h2><p class="worse">{len(flagged)} of '
            f"{len(practices)} practices: {rule}. Look at their capacity before changing "
            f"their booking.</p>{'<ul>' if len(flagged) <= 12 else _COLUMNS}"
            f"{''.join(flagged)}</ul>")


#: A long list of practices in trouble (a large network) in columns, so it reads as a list.
_COLUMNS = '<ul style="columns: 26em; column-gap: 2em">'


def _rollout(out: Path, meta: dict, monthly: pd.DataFrame | None) -> str:
    """The rollout month by month: each practice's approaches by period, and the plot."""
    from .plots import rollout_monthly

    e = html.escape
    periods = meta.get("periods") or {}
    if not any(len(p) > 1 for p in periods.values()):
        return ""
    waves, changes = waves_of(periods)
    rows = "".join(f"<tr><th>{e(pid)}</th><td>{e(wave)}</td>"
                   f"<td>{e(approach_text(periods[pid]))}</td></tr>"
                   for wave, pids in waves.items() for pid in pids)
    text = ("<h2>The rollout, month by month</h2><p>Each practice's approach in each period "
            "(a change builds up over its ramp, as the scenario says), then each practice's "
            "continuity, routine wait and same-day access by month, coloured by wave; a "
            "dashed line marks the month a wave changes.</p>"
            "<table><tr><th>Practice</th><th>Wave</th><th>Approach by period</th></tr>"
            f"{rows}</table>")
    if monthly is not None and len(monthly):
        plot = rollout_monthly(monthly, waves, out / "plots" / "rollout.png", changes)
        data = base64.b64encode(plot.read_bytes()).decode("ascii")
        text += ('<img alt="Each practice month by month, by wave" '
                 f'src="data:image/png;base64,{data}">'
                 "<p class=\"small\">Month by month, one replication (the first); the table "
                 "<code>network_monthly_by_practice.csv</code> has every month's measures.</p>")
    return text


def practices_figure(out: Path, reps: pd.DataFrame, meta: dict) -> Path:
    """``plots/practices.png``: each practice beside the others, the network's line across."""
    (out / "plots").mkdir(parents=True, exist_ok=True)
    label = "practice (95% interval)" if int(meta.get("replications", 1)) > 1 else "practice"
    network = reps[reps["practice_id"] == "network"]
    return compare_practices(
        reps[reps["practice_id"] != "network"].assign(scenario="run"), ["run"],
        {"run": label}, out / "plots" / "practices.png",
        reference=("the network as a whole",
                   {m: float(network[m].mean()) for m in PRACTICE_PANELS if m in network}))


def render_network(out: Path, reps: pd.DataFrame, meta: dict,
                   intervals: pd.DataFrame | None = None,
                   practice_monthly: pd.DataFrame | None = None, *,
                   figure_drawn: bool = False) -> Path:
    """Write ``report.html`` and ``plots/practices.png`` for a network run into ``out``.

    ``meta``: ``name``, ``replications``, ``first_replication``, ``practices``
    (practice id -> {policy, patients}), ``created_at``, and optionally ``periods``
    (practice id -> [first day, policy name] per period) and ``warmup`` (a sentence).
    ``intervals``: :func:`network_intervals` of ``reps`` if the caller has it already.
    ``practice_monthly``: each practice's month-by-month table (a rollout is then
    drawn month by month, by wave). ``figure_drawn``: :func:`practices_figure` has
    been drawn into ``out`` already (while the caller wrote its tables).
    """
    e = html.escape
    intervals = network_intervals(reps) if intervals is None else intervals
    practices = [p for p in dict.fromkeys(reps["practice_id"]) if p != "network"]
    (out / "plots").mkdir(parents=True, exist_ok=True)
    plot = (out / "plots" / "practices.png" if figure_drawn
            else practices_figure(out, reps, meta))
    # (practice, measure) -> its row of intervals, looked up as a plain dict (a pandas
    # lookup per cell cost more than the rest of the page)
    t = {(pid, m): {"mean": mean, "low": low, "high": high} for pid, m, mean, low, high in zip(
        intervals["practice_id"], intervals["metric"], intervals["mean"], intervals["low"],
        intervals["high"], strict=True)} if len(intervals) else {}
    reps_n = int(meta.get("replications", 1))
    info = meta.get("practices", {})
    patients = sum(int(v.get("patients", 0)) for v in info.values())

    def cell(pid, m, bold=False):
        r = t.get((pid, m))
        if r is None:
            return "<td></td>"
        value = e(number(m, r["mean"]))
        value = f"<b>{value}</b>" if bold else value
        ci = (f"<small>({e(number(m, r['low']))} to {e(number(m, r['high']))})</small>"
              if reps_n > 1 else "")
        return f'<td class="num">{value}{ci}</td>'

    precision = (f"Each figure is the mean of {reps_n} replications with its 95% interval."
                 if reps_n > 1 else "One replication: figures have no interval; run with "
                 "<code>--replications 5</code> (or more) to see how precise they are.")
    parts = [f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(meta.get('name', 'Network'))}</title><style>{STYLE}</style></head><body>
<h1>{e(meta.get('name', 'Network'))}</h1>
<p class="lead">{len(practices)} practices, {patients:,} registered patients, simulated
separately (sharing only an extended-access hub, if the network has one). {precision}
<span class="proxy">A&amp;E and admission figures are proxies for comparing policies, not
forecasts.</span></p>
<p class="small">Replications {meta.get('first_replication', 0)} to
{meta.get('first_replication', 0) + reps_n - 1}; created {e(meta.get('created_at', ''))}.
{e(meta.get('warmup', ''))}</p>
"""]
    parts.append(_trouble(t, practices))
    parts.append(_rollout(out, meta, practice_monthly))
    parts.append("<h2>The network as a whole</h2>")

    def named(p, m):
        mean = t[(p, m)]["mean"]
        others = sum(1 for q in practices if t[(q, m)]["mean"] == mean) - 1
        return e(p) + (f" and {others} other{'s' * (others > 1)}" if others else "")

    for group, metrics in HEADLINE_GROUPS.items():
        metrics = [m for m in metrics if ("network", m) in t]
        # the practice with the lowest and the highest mean, named beside its figure (on a
        # tie the first in the network's order, and how many others share it)
        lows = {m: min(practices, key=lambda p, m=m: t[(p, m)]["mean"]) for m in metrics}
        highs = {m: max(practices, key=lambda p, m=m: t[(p, m)]["mean"]) for m in metrics}
        parts.append(f'<h3>{e(GROUPS[group])}</h3><div class="wrap"><table><tr><th>Measure'
                     "</th><th>Network</th><th>Lowest practice</th><th>Highest practice</th>"
                     "</tr>")
        for m in metrics:
            parts.append(f"<tr><td>{e(measure(m).heading)}</td>{cell('network', m, True)}"
                         + "".join(f'<td class="num">{e(number(m, t[(p, m)]["mean"]))} '
                                   f"<small>{named(p, m)}</small></td>"
                                   for p in (lows[m], highs[m]))
                         + "</tr>")
        parts.append("</table></div>")
    data = base64.b64encode(plot.read_bytes()).decode("ascii")
    ranked = ("" if len(practices) <= PRACTICES_NAMED else
              f" With more than {PRACTICES_NAMED} practices each panel ranks them, highest at "
              "the top, without their names; every practice's figures are in the table below.")
    parts.append("<h2>Each practice beside the others</h2><p>Each practice's mean "
                 f"{'with its 95% interval ' if reps_n > 1 else ''}for six key measures; the "
                 f"dashed line is the network as a whole.{ranked}</p>"
                 f'<img alt="Each practice beside the others" src="data:image/png;base64,'
                 f'{data}">')
    key = [m for m in PRACTICE_PANELS if ("network", m) in t]
    parts.append('<h2>Every practice</h2><div class="wrap"><table><tr><th>Practice</th>'
                 "<th>Approach</th><th>Patients</th>"
                 + "".join(f"<th>{e(measure(m).heading)}</th>" for m in key) + "</tr>")
    for pid in practices:
        p = info.get(pid, {})
        policy = (approach_text(meta["periods"][pid]) if pid in meta.get("periods", {})
                  else POLICIES.get(p.get("policy", ""), p.get("policy", "")))
        parts.append(f"<tr><th>{e(pid)}</th><td>{e(policy)}</td>"
                     f'<td class="num">{int(p.get("patients", 0)):,}</td>'
                     + "".join(cell(pid, m) for m in key) + "</tr>")
    parts.append("</table></div>")
    parts.append("<p class=\"small\">Every measure of every practice and replication: "
                 "<code>network_replications.csv</code>; means and intervals: "
                 "<code>network_intervals.csv</code>.</p></body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
