"""The comparison report: one self-contained HTML file a practice manager can read.

It opens with what was compared (each approach in plain words) and a verdict
computed from the results (:mod:`analysis.verdict`), then the headline
measures grouped by continuity, access and hospital use with approaches as
rows, the effect over time of any rollout, the gains beside real programmes,
the published figures, the plots (embedded), every measure, every parameter
with its value and source, and a model description following the STRESS-DES
reporting checklist (Monks et al. 2019). Rendered only from a saved
comparison folder, so ``run.py report DIR`` needs no simulation.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sim.processes import can_fork, end_with_parent, usable_cores

from . import plots
from .compare import load_comparison
from .labels import (
    GROUPS,
    HEADLINE_GROUPS,
    MEASURES,
    capital,
    common_start,
    difference,
    measure,
    number,
    short_names,
)
from .plots import colours, use_approach_colours
from .stats import mean_ci, paired_differences
from .summary import SUMMARY_COLUMNS, VISIT_KINDS
from .verdict import judge, verdict

PLOTS = [
    ("waits.png", "Waiting times", "How soon patients are seen: the share of appointments "
     "within a given number of days of the first request, all replications pooled.",
     "compare_waits"),
    ("tradeoff.png", "The trade-off", "Continuity (the share of GP visits with the patient's "
     "own GP) against the average routine wait, with 95% intervals; each approach keeps its "
     "colour, and the legend gives its A&E attendances (a proxy).", "compare_tradeoff"),
    ("continuity.png", "Continuity per patient", "Spread of three continuity indices over "
     "patients with 3 or more GP visits (boxes: the middle half of patients; line: the "
     "median). UPC: the share of a patient's GP visits with the GP they saw most; COC "
     "(Bice-Boxerman): how concentrated their visits are on few GPs; SECON: the share of "
     "visits with the same GP as the visit before. Each runs from 0 to 1 (1: always the same "
     "GP).", "compare_continuity"),
    ("depth.png", "Relationship depth", "Expected share of patients with a deep relationship "
     "(depth curve: 30% after 5 and 80% after 20 consultations with the same clinician), and "
     "how many consultations patients had with their usual GP.", "compare_depth"),
    ("emergency.png", "A&E and admissions (proxies)", "Attendances after failing to get an "
     "appointment (access channel), background attendances scaled by continuity (continuity "
     "channel) and emergency admissions. These are proxies for comparing policies, not "
     "forecasts.", "compare_emergency"),
    ("utilisation.png", "Clinician utilisation", "Share of available slots booked, by role.",
     "compare_utilisation"),
    ("monthly.png", "Month by month", "Each measure by calendar month, mean over replications "
     "with its 95% band; dashed lines mark the months a policy changes. Continuity (UPC, team) "
     "is over the year to each month's end, so its first months rest on few consultations.",
     "compare_monthly"),
]


#: Formats plots can be written in (``--format``); the report always embeds the PNGs.
FORMATS = ("png", "svg", "pdf")


#: The slowest plots (many scenarios' waits, 40 panels of months): drawn in a second
#: process when plots are drawn side by side on two cores.
HEAVY_PLOTS = ("compare_waits", "compare_monthly")

#: Each plot's drawing time in seconds, measured (the default comparison, 4 approaches x
#: 10 replications, two slow cores, 8 December 2026): how plots are shared out over
#: more than two cores (:func:`plot_groups`). A plot not named here counts as 0.3 s.
PLOT_SECONDS = {"compare_monthly": 1.18, "compare_continuity": 0.54, "compare_depth": 0.44,
                "compare_waits": 0.37, "compare_tradeoff": 0.30, "compare_emergency": 0.25,
                "compare_utilisation": 0.21}


def plot_groups(jobs: list[tuple[str, str]], cores: int) -> list[list[tuple[str, str]]]:
    """``jobs`` (file name, plot function) shared out for drawing side by side on ``cores``.

    The first group is drawn by this process, each other by a forked one. On two
    cores (or one), the :data:`HEAVY_PLOTS` go to a second process and the rest stay
    here, which balances them. On more, there is a group a core, up to one a plot,
    each plot given to the group with the least drawing time so far, the slowest
    first (:data:`PLOT_SECONDS`): with three cores or more, the report then takes as
    long as its slowest plot, the month-by-month one, rather than the half of all.
    Each group keeps its plots in ``jobs``' order; empty groups are left out.
    """
    if cores <= 2:
        groups = [[j for j in jobs if j[1] not in HEAVY_PLOTS],
                  [j for j in jobs if j[1] in HEAVY_PLOTS]]
    else:
        seconds = [PLOT_SECONDS.get(fn, 0.3) for _, fn in jobs]
        groups = [[] for _ in range(min(cores, len(jobs)))]
        load = [0.0] * len(groups)
        for i in sorted(range(len(jobs)), key=lambda i: -seconds[i]):
            g = load.index(min(load))
            groups[g].append(i)
            load[g] += seconds[i]
        groups = [[jobs[i] for i in sorted(group)] for group in groups]
    return groups[:1] + [g for g in groups[1:] if g]


def _can_draw_side_by_side(platform: str = sys.platform, threads: int | None = None) -> bool:
    """Whether a forked child can draw plots: :func:`sim.processes.can_fork`, not in a worker.

    That is on Linux, with no other Python thread running (as the workers'
    pools decide, :func:`sim.processes.worker_context`); ``platform`` and
    ``threads`` as there.
    """
    import multiprocessing

    return can_fork(platform, threads) and not multiprocessing.current_process().daemon


def _draw(calls: dict, jobs: list[tuple[str, str]], folder: Path, extra: list[str]) -> None:
    """Draw ``jobs`` (file name, plot function) and their extra formats."""
    for f, fn in jobs:
        calls[fn](folder / f)
        for x in extra:
            calls[fn](folder / Path(f).with_suffix(f".{x}"))


def approaches(params: pd.DataFrame, labels) -> dict[str, str]:
    """Each label's approach: the policy it ends the run under (after any changes)."""
    out = {}
    if params is None or not len(params) or "parameter" not in params.columns:
        return out
    for lb in labels:
        rows = params[params["scenario"] == lb].set_index("parameter")["value"]
        changed = sorted((k for k in rows.index
                          if k.startswith("policy_changes[") and k.endswith("].policy.name")),
                         key=lambda k: int(k.split("[")[1].split("]")[0]))
        key = changed[-1] if changed else "policy.name"
        if key in rows.index:
            out[lb] = str(rows[key])
    return out


def make_plots(c: dict, folder: Path, formats: tuple[str, ...] = ("png",),
               side_by_side: bool = False) -> dict[str, Path]:
    """Draw every comparison plot into ``folder``; return PNG file name -> path.

    ``formats``: more formats to write each plot in as well (``svg``, ``pdf``),
    for papers; the PNGs are always drawn, since the report embeds them.
    ``side_by_side``: draw plots in forked processes meanwhile, shared out over
    the cores (:func:`plot_groups`; the command line asks for it; a long-running
    server such as the app does not, since forking a process with many threads
    is not safe). The plots are the same either way; if a forked process fails,
    its plots are drawn here again, so an error shows as it would have.
    """
    labels = [x["label"] for x in c["meta"]["scenarios"]]
    use_approach_colours(labels, approaches(c["parameters"], labels))
    folder.mkdir(parents=True, exist_ok=True)
    labels = [s["label"] for s in c["meta"]["scenarios"]]
    names = {k: capital(v) for k, v in short_names(
        {s["label"]: s["name"] for s in c["meta"]["scenarios"]}).items()}
    d, comp = c["data"], c["comparison"]
    calls = {
        "compare_waits": lambda p: plots.compare_waits(d["wait_ecdf"], labels, names, p),
        "compare_tradeoff": lambda p: plots.compare_tradeoff(comp, labels, names, p),
        "compare_continuity": lambda p: plots.compare_continuity(d["continuity_boxes"],
                                                                 labels, names, p),
        "compare_depth": lambda p: plots.compare_depth(comp, d["usual_gp_consultations"],
                                                       labels, names, p),
        "compare_emergency": lambda p: plots.compare_emergency(comp, labels, names, p),
        "compare_utilisation": lambda p: plots.compare_utilisation(d["utilisation"], labels,
                                                                   names, p),
        "compare_monthly": lambda p: plots.compare_monthly(c["monthly"], labels, names, p,
                                                           c["meta"].get("changes")),
    }
    extra = [x for x in formats if x != "png"]
    for x in extra:
        if x not in FORMATS:
            raise ValueError(f"unknown plot format {x!r} (choose from {', '.join(FORMATS)})")
    jobs = [(f, fn) for f, _, _, fn in PLOTS]
    if side_by_side and _can_draw_side_by_side():
        here, *aside = plot_groups(jobs, usable_cores())
        with written_aside(*(functools.partial(_draw, calls, group, folder, extra)
                             for group in aside)):
            _draw(calls, here, folder, extra)
    else:
        _draw(calls, jobs, folder, extra)
    return {f: folder / f for f, _, _, _ in PLOTS}


@contextmanager
def written_aside(*writes: Callable[[], object], side_by_side: bool = True) -> Iterator[None]:
    """Each of ``writes`` (a figure drawn, tables written) in a forked process of its own.

    They and the block (in this process) go side by side on the cores. If a
    second process fails, its ``write()`` runs here after the block, so an
    error shows as it would have; without ``side_by_side``, or where a fork is
    not safe (:func:`_can_draw_side_by_side`), each runs here before the block.
    The block must not need what they write, nor each what another writes:
    that is there once the block has ended.
    """
    children = []
    if side_by_side and _can_draw_side_by_side():
        import multiprocessing

        fork = multiprocessing.get_context("fork")
        for write in writes:
            children.append((write, fork.Process(target=_write_in_child,
                                                 args=(os.getpid(), write))))
            children[-1][1].start()
    else:
        for write in writes:
            write()
    try:
        yield
    finally:  # (an error in the block still waits for them, never leaves them running)
        for _, child in children:
            child.join()
    for write, child in children:
        if child.exitcode != 0:
            write()


def _write_in_child(parent: int, write: Callable[[], object]) -> None:
    """``write()`` in a forked process that ends if ``parent`` is killed first."""
    end_with_parent(parent)
    write()


def _fmt(fmt: str, x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #e3e3e3; padding-bottom: 0.15em; }
.lead { font-size: 1.05em; }
.small { font-size: 0.88em; color: #555; }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #d6d6d6; padding: 0.35em 0.55em; text-align: left;
         vertical-align: top; }
th { background: #f1f4f8; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
td.num small { display: block; color: #555; white-space: normal; }
table.headline { width: 100%; table-layout: fixed; }
table.headline th:first-child { width: 22%; }
table.headline th { font-size: 0.92em; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px;
          margin-right: 0.4em; vertical-align: baseline; }
ul.approaches { list-style: none; padding-left: 0; }
ul.approaches li { margin: 0.45em 0; }
.verdict { background: #eef6ee; border-left: 4px solid #2e7d32; padding: 0.3em 1em; }
.verdict p { margin: 0.5em 0; }
.verdict p.decision { font-weight: 600; }
.better { color: #1b7a2e; font-weight: 600; }
.worse { color: #b3261e; font-weight: 600; }
.same { color: #666; }
.proxy { color: #a00; font-weight: 600; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
img { max-width: 100%; border: 1px solid #ddd; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
"""


def _practice_line(meta: dict, practice: str) -> str:
    """Who was simulated: the practice's name and description, when the approaches share them.

    A sweep says instead what its points vary (``meta["lead"]``).
    """
    e = html.escape
    if meta.get("lead"):
        return e(meta["lead"])
    text = meta.get("practice_description") or ""
    if practice and text:
        return f"<b>{e(practice)}</b>: {e(text)}"
    return e(practice or text)


def _approaches(meta: dict, labels, short, col, base) -> str:
    """The compared approaches as a list: colour, name, what it does."""
    e = html.escape
    said = meta.get("approaches") or {}
    items = []
    for lb in labels:
        tag = " <i>(the baseline)</i>" if lb == base else ""
        what = f"<br>{e(said[lb])}" if said.get(lb) else ""
        items.append(f'<li><span class="swatch" style="background:{col[lb]}"></span>'
                     f"<b>{e(short[lb])}</b>{tag}{what}</li>")
    return f'<ul class="approaches">{"".join(items)}</ul>'


def _group_table(title, metrics, labels, short, col, base, comp, diff) -> str:
    """One group of headline measures: approaches as rows, measures as columns.

    The layout holds at any number of approaches (rows grow, columns do not).
    """
    e = html.escape
    metrics = [m for m in metrics if (labels[0], m) in comp.index]
    if not metrics:
        return ""
    proxy = ' class="proxy"'
    head = "".join(f"<th{proxy if 'PROXY' in measure(m).label else ''}>"
                   f"{e(measure(m).heading)}</th>" for m in metrics)
    rows = []
    for lb in labels:
        cells = []
        for m in metrics:
            r = comp.loc[(lb, m)]
            cell = (f"<b>{e(number(m, r['mean']))}</b> <small>({e(number(m, r['low']))} to "
                    f"{e(number(m, r['high']))})</small>")
            if lb != base and diff is not None and (lb, m) in diff.index:
                d = diff.loc[(lb, m)]
                call = judge(m, d["difference"], d["low"], d["high"])
                cls = {"better": "better", "worse": "worse"}.get(call, "same")
                words = {"better": "better", "worse": "worse", "unclear": "no clear difference",
                         "small": "too small to matter", "higher": "higher",
                         "lower": "lower"}[call]
                cell += (f'<small><span class="{cls}">{e(difference(m, d["difference"]))} '
                         f"{words}</span></small>")
            elif lb == base:
                cell += "<small>baseline</small>"
            cells.append(f'<td class="num">{cell}</td>')
        rows.append(f'<tr><th><span class="swatch" style="background:{col[lb]}"></span>'
                    f"{e(short[lb])}</th>{''.join(cells)}</tr>")
    return (f'<h3>{e(title)}</h3><div class="wrap"><table class="headline"><tr><th>Approach</th>'
            f"{head}</tr>{''.join(rows)}</table></div>")


def _every_measure(comp, labels, short) -> str:
    """Every summary measure, grouped, with human names and numbers for people."""
    e = html.escape
    out = ['<h2>Every measure</h2><details><summary>All summary measures by group, mean '
           '(95% interval)</summary><div class="wrap">']
    for group, title in GROUPS.items():
        metrics = [m for m in SUMMARY_COLUMNS if (labels[0], m) in comp.index
                   and (m in MEASURES and MEASURES[m].group == group)]
        if not metrics:
            continue
        out.append(f"<h3>{e(title)}</h3><table><tr><th>Measure</th><th>Meaning</th>")
        out += [f"<th>{e(short[lb])}</th>" for lb in labels]
        out.append("</tr>")
        for m in metrics:
            out.append(f"<tr><td>{e(measure(m).heading)}</td><td class=\"small\">"
                       f"{e(SUMMARY_COLUMNS[m])}</td>")
            for lb in labels:
                r = comp.loc[(lb, m)]
                out.append(f'<td class="num">{e(number(m, r["mean"]))}<small>'
                           f'({e(number(m, r["low"]))} to {e(number(m, r["high"]))})'
                           "</small></td>")
            out.append("</tr>")
        out.append("</table>")
    out.append("</div></details>")
    return "".join(out)


def render(folder: str | Path, out: Path | None = None,
           formats: tuple[str, ...] = ("png",), side_by_side: bool = False) -> Path:
    """Draw the plots and write ``report.html`` for a saved comparison folder.

    Args:
        folder: the comparison folder (read).
        out: where to write ``report.html`` and ``plots/`` (default: ``folder``).
        formats: plot formats besides PNG to write too (``svg``, ``pdf``).
        side_by_side: draw the plots in forked processes, shared out over the cores
            (:func:`make_plots`).
    """
    folder = Path(folder)
    out = Path(out) if out is not None else folder
    c = load_comparison(folder)
    meta = c["meta"]
    labels = [s["label"] for s in meta["scenarios"]]
    names = {s["label"]: s["name"] for s in meta["scenarios"]}
    base = meta["baseline"]
    comp = c["comparison"].set_index(["scenario", "metric"])
    diff = c["differences"].set_index(["scenario", "metric"]) if len(c["differences"]) else None
    files = make_plots(c, out / "plots", formats, side_by_side)
    reps = meta["replications"]
    e = html.escape

    within = short_names(names)  # for sentences
    short = {k: capital(v) for k, v in within.items()}  # for headings and lists
    practice = common_start(names)
    col = colours(labels)
    after = after_change(c, labels, base)
    sentences = verdict(c["comparison"], c["data"]["runs"], labels, within, reps,
                        meta.get("precision"), after=after)
    said = "".join(f'<p class="decision">{e(x)}</p>' if i == 0 else f"<p>{e(x)}</p>"
                   for i, x in enumerate(sentences))  # the decision first, in bold
    parts = [f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(meta.get('title', 'Comparison'))}</title>
<style>{STYLE}</style></head><body>
<h1>{e(meta.get('title', 'Comparison of booking approaches'))}</h1>
<p class="lead">{_practice_line(meta, practice)}</p>
<h2>The verdict</h2>
<div class="verdict">{said}</div>
<h2>What was compared</h2>
{_approaches(meta, labels, short, col, base)}
<p class="small">Each approach was simulated {reps} times (replications{_chosen(meta)}) with the
same random patients and requests in replication <i>k</i> of every approach (common random
numbers), over
{meta.get('window_days', '?')} days after a {meta.get('warmup_days', '?')}-day warm-up.
Created {e(meta.get('created_at', ''))}.</p>
<h2>The answer in tables</h2>
<p>Each figure is the mean over {reps} replications with its 95% interval in brackets; below
it, the difference from the baseline, {e(within[base])}, paired by replication:
<span class="better">better</span>, <span class="worse">worse</span>, or
<span class="same">no clear difference</span> (or one too small to matter).</p>"""]
    for group, metrics in HEADLINE_GROUPS.items():
        parts.append(_group_table(GROUPS[group], metrics, labels, short, col, base, comp, diff))
    parts.append(f'<p class="note">How precise is this? {_precision(comp, labels)} '
                 '<span class="proxy">A&amp;E and admission figures are proxies for comparing '
                 "policies, not forecasts.</span></p>")
    parts.append(_effect_over_time(c, labels, short, base))
    parts.append(_gain_by_kind(labels, short, base, diff))
    parts.append(_gains(labels, short, base, comp, diff, after))
    parts.append(_validation(c["validation"], labels, short))
    for f, title, caption, _ in PLOTS:
        data = base64.b64encode(files[f].read_bytes()).decode("ascii")
        parts.append(f"<h2>{e(title)}</h2><p>{e(caption)}</p>"
                     f'<img alt="{e(title)}" src="data:image/png;base64,{data}">')
    practices = c["data"].get("practices")
    if practices is not None and len(practices):
        png = plots.compare_practices(practices, labels, short, out / "plots" / "practices.png")
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        many = practices["practice_id"].nunique() > plots.PRACTICES_NAMED
        ranked = (f" With more than {plots.PRACTICES_NAMED} practices each panel ranks them by "
                  f"the first network's means, highest at the top, without their names."
                  if many else "")
        parts.append("<h2>Each practice</h2><p>Each practice of the compared networks: six "
                     "key measures, the mean over replications with its 95% interval, one "
                     f"colour per approach as everywhere in this report.{ranked}</p>"
                     f'<img alt="Each practice" src="data:image/png;base64,{data}">')
    parts.append(_every_measure(comp, labels, short))
    parts.append(_assumptions(c["parameters"], labels, short))
    parts.append(_stress(meta, c["parameters"], labels, short, c.get("validation")))
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


#: What real continuity programmes achieved (docs/evidence.md section 9), for the report.
PROGRAMMES = [
    ("One Care, My Care (BNSSG, 23 practices)", "22 improved continuity, by up to 15% "
     "(whether points or a relative rise is not stated)", "9.1"),
    ("St Leonard's Practice, Exeter (personal lists)", "SLICC 51.7%; 64.9% for patients aged "
     "65 and over", "9.2"),
    ("A named accountable GP for everyone (England, 2014-15)", "no rise in continuity on its "
     "own", "9.4"),
]


#: Measures the verdict reads after a change, from the month-by-month table.
AFTER_MEASURES = ("slicc", "routine_wait_mean_days", "ae_per_1000", "admissions_per_1000")


def after_change(c: dict, labels, base) -> tuple[pd.DataFrame, str] | None:
    """Each run's measures after its approach changed: the last three full months.

    For a comparison where some scenario changes approach during the run and the
    baseline does not: one row per run (``scenario, replication`` and
    :data:`AFTER_MEASURES`), the mean of the last three full months (as "Effect
    over time" reads the steady state), and the period in words. None when no
    scenario changes, the baseline changes, or those months start before a change.
    """
    changes = c["meta"].get("changes") or {}
    monthly = c["data"].get("monthly")
    changed = [lb for lb in labels if lb != base and changes.get(lb)]
    if monthly is None or not len(monthly) or changes.get(base) or not changed:
        return None
    days = monthly[monthly["scenario"] == base].groupby("month")["days"].first()
    full = sorted(m for m, d in days.items() if d >= 28)
    tail = full[-3:]
    last_change = max(changes[lb][-1][:7] for lb in changed)
    if len(tail) < 3 or tail[0] < last_change:
        return None
    rows = monthly[monthly["month"].isin(tail)]
    after = rows.groupby(["scenario", "replication"], sort=False)[
        [m for m in AFTER_MEASURES if m in rows.columns]].mean().reset_index()
    span = (f"{pd.Period(tail[0], 'M').strftime('%B %Y')} to "
            f"{pd.Period(tail[-1], 'M').strftime('%B %Y')}")
    return after, span


def _effect_over_time(c: dict, labels, names, base) -> str:
    """For a scenario whose policy changes during the run: how fast the gain came, in words.

    Against the baseline (which must not change), month by month and paired by
    replication: the steady-state gain in SLICC (mean of the last three full
    months), the months from the first change to half and to 90% of it, any
    rise in the routine wait while the change bedded in, and the steady-state
    differences with their intervals.
    """
    changes = c["meta"].get("changes") or {}
    monthly = c["data"].get("monthly")
    if monthly is None or not len(monthly) or changes.get(base):
        return ""
    e = html.escape
    out = []
    for lb in labels:
        if lb == base or not changes.get(lb):
            continue
        first = changes[lb][0]
        diffs = {}
        for metric in ("slicc", "upc_rolling", "routine_wait_mean_days", "same_day_share",
                       "ae_per_1000"):
            a = monthly[monthly["scenario"] == base].pivot(index="replication", columns="month",
                                                             values=metric)
            b = monthly[monthly["scenario"] == lb].pivot(index="replication", columns="month",
                                                           values=metric)
            diffs[metric] = (b - a).dropna(axis=1, how="all")
        days = monthly[monthly["scenario"] == base].groupby("month")["days"].first()
        full = [m for m in diffs["slicc"].columns if days.get(m, 0) >= 28]
        if len(full) < 4:
            continue
        tail = full[-3:]
        after = [m for m in full if m >= first[:7]]
        if tail[0] < first[:7] or not after:
            continue
        sentences = []
        steady = diffs["slicc"][tail].mean(axis=1).to_numpy(dtype=float)
        s_mean, s_low, s_high, _ = mean_ci(steady)
        curve = diffs["slicc"][after].mean(axis=0)
        reached = {}
        for share in (0.5, 0.9):
            hit = [m for m in after if s_mean > 0 and curve[m] >= share * s_mean]
            reached[share] = hit[0] if hit else None
        start = pd.Period(first[:7], "M")

        def months_after(m, start=start):
            return (pd.Period(m, "M") - start).n

        def on(m):
            n = months_after(m)
            return "the month it began" if n == 0 else f"about {n} month{'s' * (n != 1)} on"

        if s_mean > 0 and reached[0.5] and reached[0.9]:
            sentences.append(
                f"After the change on {first}, the gain in GP visits with the usual GP (SLICC) "
                f"reached half its steady level in {reached[0.5]} ({on(reached[0.5])}) and 90% "
                f"in {reached[0.9]} ({on(reached[0.9])}).")
        sentences.append(f"Steady state (the last three full months): SLICC "
                         f"{s_mean * 100:+.1f} points ({s_low * 100:+.1f} to "
                         f"{s_high * 100:+.1f}) against {e(names[base])}.")
        wait = diffs["routine_wait_mean_days"]
        early = after[:6]
        w_steady = mean_ci(wait[tail].mean(axis=1).to_numpy(dtype=float))
        peak_month = max(early, key=lambda m: wait[m].mean())
        peak = mean_ci(wait[peak_month].to_numpy(dtype=float))
        if peak[0] > max(w_steady[0], 0) + 0.25 and peak[1] > 0:
            sentences.append(f"Access dipped while it bedded in: in {peak_month} the routine "
                             f"wait was {peak[0]:+.1f} days ({peak[1]:+.1f} to {peak[2]:+.1f}) "
                             f"longer than without the change, against {w_steady[0]:+.1f} at "
                             "steady state.")
        elif peak[0] <= 0.05:
            sentences.append("There was no dip in access while it bedded in: in none of the "
                             "first six months was the routine wait longer than without the "
                             f"change; at steady state it differed by {w_steady[0]:+.1f} days "
                             f"({w_steady[1]:+.1f} to {w_steady[2]:+.1f}).")
        else:
            sentences.append("There was no clear dip in access while it bedded in: the routine "
                             f"wait was at most {peak[0]:.1f} days longer in any of the first "
                             f"six months, and differed by {w_steady[0]:+.1f} "
                             f"({w_steady[1]:+.1f} to {w_steady[2]:+.1f}) at steady state.")
        other = []
        for metric, label, scale, unit in (("same_day_share", "same-day share", 100, " points"),
                                           ("ae_per_1000", "A&E per 1,000 (proxy)", 1, "")):
            x = mean_ci(diffs[metric][tail].mean(axis=1).to_numpy(dtype=float))
            other.append(f"{label} {x[0] * scale:+.1f}{unit} ({x[1] * scale:+.1f} to "
                         f"{x[2] * scale:+.1f})")
        sentences.append("Other steady-state differences: " + "; ".join(other) + ".")
        out.append(f"<h3>{e(names[lb])}</h3><p>{' '.join(sentences)}</p>")
    if not out:
        return ""
    return ("<h2>Effect over time</h2><p>Month by month against the baseline, paired by "
            "replication (95% intervals).</p>" + "".join(out))


def _gain_by_kind(labels, names, base, diff) -> str:
    """Each scenario's change in SLICC split by the kind of request the GP visit answered."""
    e = html.escape
    if diff is None or len(labels) < 2 or (labels[1], "slicc_from_routine") not in diff.index:
        return ""
    head = "".join(f"<th>{e(capital(words))}</th>" for _, words, _ in VISIT_KINDS)
    rows = []
    for lb in labels[1:]:
        cells = []
        for key in ("slicc", *(f"slicc_from_{k}" for k, _, _ in VISIT_KINDS)):
            if (lb, key) not in diff.index:
                cells.append("<td></td>")
                continue
            d = diff.loc[(lb, key)]
            cells.append(f'<td class="num">{difference("slicc", d["difference"])}<br><small>'
                         f'({difference("slicc", d["low"], False)} to '
                         f'{difference("slicc", d["high"], False)})</small></td>')
        rows.append(f"<tr><td>{e(names[lb])}</td>{''.join(cells)}</tr>")
    return (f"<h2>Where the continuity gain comes from</h2><p>The change in SLICC from "
            f"{e(names[base])}, split by the kind of request each GP visit answered (the "
            "parts add up to the whole; 95% intervals, paired by replication). A continuity "
            "approach reaches routine requests; urgent ones go to the practice's on-the-day "
            "care unless the scenario says otherwise (policy.params.urgent), and follow-ups "
            "and reviews to their named clinician.</p>"
            f"<table><tr><th>Scenario</th><th>SLICC, all</th>{head}</tr>{''.join(rows)}</table>")


def _gains(labels, names, base, comp, diff, after=None) -> str:
    """Each scenario's change in continuity beside what real programmes achieved.

    ``after``: :func:`after_change`'s table; a scenario that changes approach during
    the run is then shown by its SLICC after the change, not over the whole run.
    """
    e = html.escape
    if diff is None or len(labels) < 2:
        return ""
    note = ""
    if after is not None:
        table, span = after
        steady = paired_differences(table, ["slicc"], base).set_index("scenario")
        diff = diff.copy()
        for lb in steady.index:
            if (lb, "slicc") in diff.index:
                diff.loc[(lb, "slicc"), ["difference", "low", "high"]] = \
                    steady.loc[lb, ["difference", "low", "high"]].to_numpy(dtype=float)
        note = (f" SLICC is after the change ({e(span)}, the last three full months), not "
                "averaged over the months before it.")
    rows = []
    for lb in labels[1:]:
        cells = []
        for metric in ("slicc", "upc_mean", "team_continuity"):
            if (lb, metric) not in diff.index:
                cells.append("<td></td>")
                continue
            d = diff.loc[(lb, metric)]
            scale, unit = (100, " points") if metric != "upc_mean" else (1, "")
            fmt = "{:+.1f}" if scale == 100 else "{:+.2f}"
            cells.append(f'<td class="num">{fmt.format(d["difference"] * scale)}{unit}<br><small>'
                         f'({fmt.format(d["low"] * scale)} to {fmt.format(d["high"] * scale)})'
                         "</small></td>")
        level = comp.loc[(lb, "slicc")]["mean"] if (lb, "slicc") in comp.index else float("nan")
        rows.append(f"<tr><td>{e(names[lb])}</td>{''.join(cells)}"
                    f'<td class="num">{_fmt("{:.0%}", level)}</td></tr>')
    programmes = "".join(f"<li><b>{e(a)}</b>: {e(b)} (evidence {c})</li>"
                         for a, b, c in PROGRAMMES)
    has_base = (base, "slicc") in comp.index
    base_level = comp.loc[(base, "slicc")]["mean"] if has_base else float("nan")
    return (f"<h2>Continuity gains beside real programmes</h2><p>Change from "
            f"{e(names[base])}, replication by replication (95% interval).{note}</p>"
            "<table><tr><th>Scenario</th><th>SLICC</th><th>UPC</th><th>Team continuity</th>"
            f"<th>SLICC level</th></tr>{''.join(rows)}</table>"
            f"<p>What real programmes reported, for comparison (no parameter of the model is "
            f"set to reproduce them):</p><ul>{programmes}</ul>"
            "<p>One Care's \u201cup to 15%\u201d does not say whether it means percentage "
            "points or a relative rise: on a SLICC of "
            f"{_fmt('{:.0%}', base_level)}"
            " the second would be "
            f"{_fmt('{:.1f}', 15 * base_level)}"
            " points. Either way it was the best of 23 practices, which changed more than "
            "their booking rules.</p>")


def _validation(v: pd.DataFrame, labels, names) -> str:
    """The section comparing each scenario with published figures (``validation.csv``).

    Independent checks first, then the rows that reproduce an input, each judged
    on the model's 95% interval.
    """
    from .validation import INDEPENDENT, INPUT, TARGETS, WITHIN

    if v is None or len(v) == 0:
        return ""
    targets = {t.measure: t for t in TARGETS}
    if "kind" not in v.columns:  # a validation.csv written before rows had kinds
        v = v.assign(kind=[INDEPENDENT if targets.get(m) and targets[m].independent else INPUT
                           for m in v["measure"]])
    base = v[v["scenario"] == labels[0]]
    independent = base[base["kind"] == INDEPENDENT]
    judged = independent["verdict"] if "verdict" in base else independent["within"].map(
        {True: WITHIN, False: "outside"})
    passed = int((judged == WITHIN).sum())
    parts = ["<h2>How this practice compares with published figures</h2>"
             "<p>Each published figure (docs/evidence.md) with the model's mean and 95% "
             "interval, judged on the whole interval: <i>within</i> the tolerance, "
             "<i>outside</i> it, or crossing its edge. The figures describe typical English "
             "practices, most of which book much as access-first does; a continuity policy is "
             "meant to move the continuity rows away from them.</p>"
             f"<h3>Independent checks</h3><p>Figures no parameter was set from. "
             f"{html.escape(names.get(labels[0], labels[0]))}: {passed} of "
             f"{len(independent)} within their tolerance.</p>"]
    parts.append(_validation_rows(v[v["kind"] == INDEPENDENT], labels, names, targets))
    parts.append("<h3>Inputs reproduced</h3><p>Figures an input was taken or tuned from: they "
                 "show the model is wired as intended, not that it is right (a wrong model "
                 "tuned the same way would pass them too).</p>")
    parts.append(_validation_rows(v[v["kind"] != INDEPENDENT], labels, names, targets))
    return "".join(parts)


def _validation_rows(v: pd.DataFrame, labels, names, targets) -> str:
    """One table of validation rows: each measure, its source and tolerance, each scenario."""
    e = html.escape
    if len(v) == 0:
        return "<p>None.</p>"
    parts = ["<table><tr><th>Measure</th><th>Published</th><th>Tolerance</th>"]
    parts += [f"<th>{e(names.get(lb, lb))}</th>" for lb in labels]
    parts.append("</tr>")
    for name, group in v.groupby("measure", sort=False):
        t = targets.get(name)
        first = group.iloc[0]

        def show(x, t=t):
            return f"{x:.1%}" if t is not None and t.percent else f"{x:,.2f}"

        basis = first["basis"] if "basis" in first and isinstance(first["basis"], str) else ""
        parts.append(f"<tr><td>{e(first['label'])}"
                     + (f"<br><small>{e(basis)}</small>" if basis else "")
                     + f"</td><td>{e(first['published'])} "
                     f"<small>(evidence {e(str(first['evidence']))})</small></td>"
                     f'<td class="num">{show(first["low"])} to {show(first["high"])}</td>')
        by = group.set_index("scenario")
        for lb in labels:
            if lb not in by.index:
                parts.append("<td></td>")
                continue
            r = by.loc[lb]
            said = r["verdict"] if "verdict" in r else ("within" if r["within"] else "outside")
            said = e(str(said)) if said == "within" else f"<b>{e(str(said))}</b>"
            parts.append(f'<td class="num">{show(r["model_mean"])} <small>('
                         f'{show(r["model_low"])} to {show(r["model_high"])})</small><br>'
                         f"<small>{said}</small></td>")
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)


def _chosen(meta: dict) -> str:
    """How the count was chosen, for the sentence that gives it ("" if it was asked for)."""
    status = meta.get("precision")
    if not status:
        return ""
    target = f"{status['target']:.0%}"
    if status.get("reached"):
        return f"; enough for every key measure's 95% interval to be within {target} of its mean"
    return f"; the cap, reached before every key measure was within {target} of its mean"


def _replication_words(meta: dict) -> str:
    """How the number of replications was chosen (STRESS-DES 4.3)."""
    status = meta.get("precision")
    if not status:
        return ("The number of replications is the one asked for, not chosen for a target "
                "precision (<code>gpsim replications</code> advises one; <code>compare "
                "--precision</code> runs to one).")
    target = f"{status['target']:.0%}"
    text = (f"The number of replications was chosen by the confidence-interval method with a "
            f"look-ahead (Hoad, Robinson and Davies 2010): replications were added until every "
            f"key measure's 95% interval was within {target} of its mean in every scenario")
    if status.get("reached"):
        return text + "; the target was reached."
    worst = "; ".join(f"{html.escape(measure(w['measure']).label)} in "
                      f"{html.escape(w['scenario'])}"
                      + (f" ({w['relative_precision']:.1%})" if w["relative_precision"] else "")
                      for w in status.get("worst", []))
    return text + f"; the cap was reached first, with these still wider: {worst}."


def _precision(comp: pd.DataFrame, labels) -> str:
    """One sentence on the widest 95% half-widths of a few headline measures."""
    bits = []
    for metric, what, fmt in (("routine_wait_mean_days", "the average routine wait", "{:.1f} days"),
                              ("upc_mean", "UPC", "{:.3f}"),
                              ("ae_per_1000", "A&amp;E per 1,000", "{:.0f}")):
        half = max(((comp.loc[(lb, metric)]["high"] - comp.loc[(lb, metric)]["low"]) / 2
                    for lb in labels), default=float("nan"))
        if not math.isnan(half):
            bits.append(f"{what} to within &plusmn;{fmt.format(half)}")
    if not bits:
        return ""
    return ("At this number of replications each scenario's figure is known to within "
            "these margins (the widest over scenarios): " + ", ".join(bits) + ". More "
            "replications (<code>--replications</code>) narrow them roughly as one over the "
            "square root of their number.")


def _assumptions(params: pd.DataFrame, labels, names) -> str:
    e = html.escape
    out = ["<h2>Assumptions</h2><p>Every parameter with its value and its source: the "
           "evidence row (docs/evidence.md) or ASSUMPTION note written beside it in the scenario "
           "file, or the built-in default's description.</p>"]
    wide = params.pivot_table(index="parameter", columns="scenario", values="value",
                              aggfunc="first", sort=False)
    differ = [p for p in wide.index if wide.loc[p].nunique(dropna=False) > 1]
    if differ:
        out.append("<h3>Where the scenarios differ</h3><table><tr><th>parameter</th>")
        out += [f"<th>{e(names[lb])}</th>" for lb in labels]
        out.append("</tr>")
        for p in differ:
            out.append(f"<tr><td>{e(p)}</td>")
            out += [f"<td>{e(str(wide.loc[p].get(lb, '')))}</td>" for lb in labels]
            out.append("</tr>")
        out.append("</table>")
    first = params[params["scenario"] == labels[0]]
    out.append(f"<details><summary>All {len(first)} parameters of the baseline "
               f"({e(names[labels[0]])})</summary><table><tr><th>parameter</th><th>value</th>"
               "<th>source</th></tr>")
    for _, r in first.iterrows():
        out.append(f"<tr><td>{e(r['parameter'])}</td><td>{e(str(r['value']))[:300]}</td>"
                   f"<td>{e(str(r['source']))}</td></tr>")
    out.append("</table></details>")
    return "".join(out)


def _who(p: pd.Series) -> str:
    """Who is simulated: one practice's list, or a network of practices."""
    if "network.practices" in p.index:
        n = len(str(p["network.practices"]).split("; "))
        return (f"Patients of a network of {n} practices (each simulated separately, sharing "
                "only an allocated extended-access hub; the practices are listed under "
                "Assumptions; the details below are the first practice's)")
    return f"Patients on the registered list ({html.escape(str(p.get('population.size')))})"


def _warmup_words(p: pd.Series) -> str:
    """Whether the first scenario's warm-up came from a warm-up analysis, in a sentence."""
    e = html.escape
    days = p.get("warmup_check.recommended_days")
    if days is None or (isinstance(days, float) and math.isnan(days)) or days == "":
        return ("The warm-up is the scenario's setting: no warm-up analysis is recorded for this "
                "scenario (<code>gpsim warmup</code> runs one: MSER-5 and Welch's method).")
    note = p.get("warmup_check.note")
    note = f" {e(str(note))}" if isinstance(note, str) and note.strip() else ""
    check = (f"a warm-up analysis (<code>gpsim warmup</code>: MSER-5 and Welch's method, run "
             f"{e(str(p.get('warmup_check.checked_on')))}), which recommended at least "
             f"{e(str(days))} days from the scenario's start")
    checked_from, starts = p.get("warmup_check.start_date"), p.get("start_date")
    if isinstance(checked_from, str) and checked_from and isinstance(starts, str) \
            and checked_from != starts:
        return (f"A warm-up analysis is recorded for a start on {e(checked_from)}, not for "
                f"this run's start on {e(starts)}: the warm-up was not checked for this start "
                "(<code>gpsim warmup</code> runs one).")
    try:
        used, wanted = int(float(p.get("warmup_days"))), int(float(days))
    except (TypeError, ValueError):
        used, wanted = None, None
    if used is not None and used < wanted:
        return (f"The warm-up ({used} days) is shorter than the scenario's recorded check, "
                f"{check}. Waits recorded after too short a warm-up are biased (read "
                "docs/validation.md).")
    return f"The warm-up was chosen from {check}.{note}"


def _stress(meta, params: pd.DataFrame, labels, names, validation=None) -> str:
    """A model description under the STRESS-DES headings (Monks et al. 2019)."""
    e = html.escape
    checked = ""
    if validation is not None and len(validation) and "kind" in validation.columns:
        base = validation[validation["scenario"] == labels[0]]
        ind = base[base["kind"] == "independent"]
        checked = (f" Validation (above): {len(ind)} independent checks against published "
                   f"figures no parameter was set from, {int(ind['within'].sum())} with the whole "
                   f"interval within tolerance, and {len(base) - len(ind)} rows that reproduce an "
                   "input (calibration checks).")
    p = params[params["scenario"] == labels[0]].set_index("parameter")["value"]

    def v(key, default="?"):
        return e(str(p.get(key, default)))

    policies = ", ".join(f"{e(names[lb])} ({e(str(params[(params['scenario'] == lb) & (params['parameter'] == 'policy.name')]['value'].squeeze()))})"  # noqa: E501
                         for lb in labels)
    env = meta.get("environment", {})
    return f"""<h2>Model description (STRESS-DES)</h2>
<h3>1. Objectives</h3><p>To compare booking approaches for a general practice on access (waits,
same-day care), continuity of care (UPC, COC, SECON, SLICC, relationship depth) and proxies of
emergency hospital use, under: {policies}.</p>
<h3>2. Logic</h3><p>A discrete-event simulation (SimPy). {_who(p)} request appointments
in continuous time within opening hours
({v('practice.opening.open')}-{v('practice.opening.close')}); each request has a need (which
roles may take it), an urgency (urgent: same day; routine; clinician-requested follow-up;
care-plan review) and a mode. Clinicians work weekly sessions of slots, some held for the day;
annual leave and sickness remove sessions. The booking policy offers slots, the patient chooses
(patients who value continuity wait a few extra days for their own clinician), unmet requests
are retried on the next working day up to {v('practice.max_attempts')} attempts. Attendance
depends on lead time (DNA); consultations may ask for follow-ups. A&amp;E attendances follow
failures to get an appointment (access channel) and background emergency rates scaled by recent
continuity (continuity channel).</p>
<h3>3. Data</h3><p>Inputs and their sources are listed under Assumptions above; published
figures come from docs/evidence.md (NHS Digital appointment data, GP Patient Survey, Barker 2017,
Sandvik 2022, Cowling 2014, Turner 2007, Sidaway-Lee 2019 and 2023). Synthetic patients are
generated from age bands, long-term conditions and gamma-distributed personal request rates.</p>
<h3>4. Experimentation</h3><p>{meta.get('replications')} replications per scenario, warm-up
{meta.get('warmup_days')} days (excluded), {meta.get('window_days')} days recorded; master
seeds {e(', '.join(str(s) for s in meta.get('seeds', [])))}; every source of randomness has its
own stream and replication <i>k</i> uses the same streams in every scenario. Intervals are
Student-t 95% intervals over replications; differences are paired by replication.
{_warmup_words(p)} {_replication_words(meta)}{checked}</p>
<h3>5. Implementation</h3><p>Python {e(str(env.get('python', '?')))}, SimPy
{e(str(env.get('simpy', '?')))}, NumPy {e(str(env.get('numpy', '?')))}, pandas
{e(str(env.get('pandas', '?')))}; code version {e(str(meta.get('code_version', '?')))}.</p>
<h3>6. Code access</h3><p>The scenarios as run are in <code>scenarios/*.resolved.yaml</code>
beside this report; run one again with <code>python run.py run FILE</code> to reproduce it.</p>
"""
