"""The answer to a question (``gpsim choose``): ``choice.html``, its tables and plots.

Reads what :mod:`gpsim.choose` found (a ``Choice``: the search's trials, the
finalists with their replications, the selection's outcome and the robustness
check) and writes, into a staging folder:

* ``choice.html``: the answer in words first, then the question, the search,
  the finalists with intervals, the guarantee, the robustness check and every
  parameter of the chosen practice with its source;
* ``choice.csv`` (the finalists), ``search.csv`` (every setting tried),
  ``robustness.csv`` (every sampled practice) and ``sensitivity.csv`` (Morris
  and Sobol indices);
* ``plots/search.png``, ``plots/finalists.png`` and ``plots/sensitivity.png``.

Nothing here simulates.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.files.csv_safe import write_csv

from .labels import POLICIES, difference, measure, number, parameter_name, value_name
from .plots import APPROACH_COLOURS, PALETTE, _save
from .report import STYLE
from .selection import per_replication
from .stats import mean_ci

TODAY = "today"
e = html.escape


# ------------------------------------------------------------------ words


def option_words(choice, candidate) -> str:
    """A candidate for people: "usual-GP-first, with the pop-up reminder on, ..."."""
    if candidate.option == TODAY:
        return "today's practice, unchanged"
    opt = choice.question.option(candidate.option)
    policy = opt.set.get("policy.name", candidate.option)
    name = POLICIES.get(policy, candidate.option.replace("_", " "))
    bits = [setting_words(k, v) for k, v in candidate.values]
    return name + (" (" + "; ".join(bits) + ")" if bits else "")


def setting_words(key: str, value) -> str:
    """One setting for people: "GP capacity held for the day 55%"."""
    name = parameter_name(key)
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    if key.endswith("_share") and isinstance(value, float) and 0 <= value <= 1:
        return f"{name} {value * 100:.0f}%"
    return f"{name} {value_name(value)}"


def constraint_words(c) -> str:
    """A constraint for people: "average routine wait no more than 1.0 day longer than today"."""
    m = measure(c.measure)
    if c.relative_to == TODAY:
        amount = difference(c.measure, c.bound).lstrip("+\u2212")
        if c.at_most is not None:
            side = "longer" if m.kind in ("days", "hours") else "higher"
            return f"{_low(m.label)} no more than {amount} {side} than today"
        side = "shorter" if m.kind in ("days", "hours") else "lower"
        return f"{_low(m.label)} no more than {amount} {side} than today" if c.bound <= 0 \
            else f"{_low(m.label)} at least {amount} above today"
    word = "at most" if c.at_most is not None else "at least"
    return f"{_low(m.label)} {word} {number(c.measure, c.bound, unit=True)}"


def _objective_words(spec) -> str:
    m = measure(spec.objective.measure)
    return f"{'most' if spec.objective.direction == 'maximise' else 'least'} " \
           f"{_low(m.label)}"


def _value(metric: str, x: float) -> str:
    """A value for the answer: shares to a tenth of a point (finalists differ by less than one)."""
    if measure(metric).kind == "share" and np.isfinite(x):
        return f"{x * 100:.1f}%"
    return number(metric, x, unit=True)


def _interval(metric: str, mean: float, low: float, high: float, diff: bool = False) -> str:
    f = (lambda x: difference(metric, x)) if diff else (lambda x: _value(metric, x))
    if not np.isfinite(low):
        return f(mean)
    return f"{f(mean)} (95% interval {f(low)} to {f(high)})"


def _paired(a: list[dict], b: list[dict], metric: str) -> tuple[float, float, float, int]:
    """The mean difference of ``a`` from ``b``, run by run, with its interval."""
    return mean_ci(per_replication(a[:len(b)], metric, b))


def answer(choice) -> list[str]:
    """The answer in sentences, the decision first."""
    spec = choice.question.spec
    obj = spec.objective.measure
    sel = spec.selection
    chosen = choice.chosen
    today = choice.today_runs
    if chosen is None:
        out = ["None of the options was shown to meet every constraint: keep today's practice, "
               "or loosen a constraint, or add options."]
        for f in choice.finalists:
            bad = [constraint_words(c) for c, v in zip(spec.constraints, f.verdicts,
                                                      strict=False) if v[0] != "met"]
            if bad:
                out.append(f"{_cap(option_words(choice, f.candidate))}: not shown to meet "
                           + "; ".join(bad) + ".")
        return out
    fin = {f.candidate: f for f in choice.finalists}
    best = fin[chosen]
    out = []
    if chosen.option == TODAY:
        out.append("Keep today's practice: no option was shown to do better on "
                   f"{_low(measure(obj).label)} while meeting every constraint.")
    else:
        out.append(f"Adopt {option_words(choice, chosen)}.")
    m, lo, hi, _ = mean_ci(per_replication(best.runs, obj))
    text = f"It gives {_low(measure(obj).label)} of {_interval(obj, m, lo, hi)}"
    if chosen.option != TODAY and today:
        d = _paired(best.runs, today, obj)
        text += f": {_interval(obj, d[0], d[1], d[2], diff=True)} on today's " \
                f"{_value(obj, float(np.mean(per_replication(today, obj))))}"
    out.append(text + ".")
    costs = []
    for c, v in zip(spec.constraints, best.verdicts, strict=False):
        rel = c.relative_to == TODAY
        costs.append(f"{_low(measure(c.measure).label)} "
                     + (_interval(c.measure, v[1], v[2], v[3], diff=True) + " on today"
                        if rel else _interval(c.measure, v[1], v[2], v[3])))
    if costs and chosen.option != TODAY:
        out.append("What it costs, against the constraints (each shown to hold on its "
                   "interval): " + "; ".join(costs) + ".")
    zone = difference(obj, sel.indifference_zone).lstrip("+")
    k = choice.kn["k"]
    if k >= 2:
        sure = (f"How sure: of the {k} finalists shown to meet every constraint, Kim and "
                f"Nelson's procedure chose this one with probability at least "
                f"{sel.probability:.0%} of being the best whenever the best beats the rest by "
                f"{zone} or more ({choice.kn['replications']} replications).")
        if choice.tied:
            names = "; ".join(option_words(choice, c) for c in choice.tied)
            why = ("the replications allowed ran out first" if choice.kn["stopped"] == "budget"
                   else "they are within the indifference zone")
            sure += (f" It cannot be told apart from {names} ({why}): those do as well "
                     f"to within {zone}, and may suit the practice better for other reasons.")
    else:
        sure = ("How sure: it was the only finalist shown to meet every constraint, so no "
                "ranking was needed; the constraints were judged on 95% intervals.")
    out.append(sure)
    rob = choice.robustness
    if rob is not None and len(rob):
        stays = rob["stays_best"].mean()
        within = rob["within_zone"].mean()
        meets = rob["meets_constraints"].mean()
        text = (f"What would change the answer: across {len(rob)} practices sampled over the "
                f"plausible ranges of {len(spec.robustness.assumptions)} assumptions, it stays "
                f"ahead of every rival that meets the constraints there in {stays:.0%}, and "
                f"within {zone} of the best in {within:.0%}; it meets every constraint itself "
                f"(on the mean) in {meets:.0%}.")
        text += constraint_risk(choice)
        top = measure_first(choice)
        if top:
            many = " and " in top
            text += (f" Measure {top} before rolling out: {'they move' if many else 'it moves'}"
                     " the answer most.")
        out.append(text)
    return out


def constraint_risk(choice) -> str:
    """The constraint the chosen option fails most often across the sampled practices, and why."""
    spec = choice.question.spec
    rob, mo = choice.robustness, choice.morris
    worst, share = None, 0.0
    for j, c in enumerate(spec.constraints):
        v = rob[f"constraint_{j + 1}"]
        fails = float((c.excess(v) > 0).mean())
        if fails > share:
            worst, share = j, fails
    if worst is None or share < 0.1:
        return ""
    c = spec.constraints[worst]
    text = f" It misses \u201c{constraint_words(c)}\u201d in {share:.0%} of them"
    if mo is not None and len(mo):
        part = mo[mo["output"] == f"constraint_{worst + 1}"].sort_values("mu_star",
                                                                       ascending=False)
        if len(part) and part["mu_star"].iloc[0] > 0:
            top = part.iloc[0]
            bad = (top["mu"] > 0) == (c.at_most is not None)  # the bad side is the high end
            text += (f", most of all where {parameter_name(top['assumption'])} is "
                     f"{'high' if bad else 'low'} (across its range it moves the measure by "
                     f"{difference(c.measure, top['mu_star']).lstrip('+')})")
    col = f"meets_constraints_{TODAY}"
    if col in rob:
        text += (f"; today's practice itself misses one or more constraints in "
                 f"{1 - rob[col].mean():.0%}")
    return text + "."


def measure_first(choice) -> str:
    """The assumptions that move the chosen option's lead, or its constraints, most."""
    m = choice.morris
    if m is None or not len(m):
        return ""
    zone = choice.question.spec.selection.indifference_zone
    lead = m[m["output"] == "margin"].sort_values("mu_star", ascending=False)
    picked = [parameter_name(a) for a, mu in zip(lead["assumption"], lead["mu_star"],
                                                 strict=True) if mu >= zone / 2][:2]
    if not picked and len(lead) and lead["mu_star"].iloc[0] > 0:
        picked = [parameter_name(lead["assumption"].iloc[0])]
    return " and ".join(picked)


def _low(label: str) -> str:
    """A label mid-sentence: "Average routine wait" -> "average routine wait"; "GP ..." kept."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------ tables


def finalists_table(choice) -> pd.DataFrame:
    """One row per finalist: status, objective with interval, gap to the chosen, constraints."""
    spec = choice.question.spec
    obj = spec.objective.measure
    fin = {f.candidate: f for f in choice.finalists}
    ref = fin.get(choice.chosen)
    rows = []
    for f in choice.finalists:
        m, lo, hi, n = mean_ci(per_replication(f.runs, obj)) if f.runs else (np.nan,) * 3 + (0,)
        row = {"candidate": f.candidate.label, "option": f.candidate.option,
               "settings": json.dumps(dict(f.candidate.values)), "status": f.status,
               "chosen": f.candidate == choice.chosen, "replications": n,
               "screened_out_at": f.screened_at or None,
               "search_objective": f.from_search, f"{obj}_mean": m, f"{obj}_low": lo,
               f"{obj}_high": hi}
        if ref is not None and f is not ref and f.runs:
            d = _paired(f.runs, ref.runs, obj)
            row.update({"vs_chosen_mean": d[0], "vs_chosen_low": d[1], "vs_chosen_high": d[2]})
        for i, (c, v) in enumerate(zip(spec.constraints, f.verdicts, strict=False)):
            row.update({f"constraint_{i + 1}": f"{c.measure} "
                        + (f"<= {c.at_most:g}" if c.at_most is not None else f">= {c.at_least:g}")
                        + (" vs today" if c.relative_to == TODAY else ""),
                        f"constraint_{i + 1}_verdict": v[0], f"constraint_{i + 1}_mean": v[1],
                        f"constraint_{i + 1}_low": v[2], f"constraint_{i + 1}_high": v[3]})
        row.update({"indifference_zone": spec.selection.indifference_zone,
                    "probability_of_correct_selection": spec.selection.probability})
        rows.append(row)
    return pd.DataFrame(rows)


STATUS = {"chosen": "chosen", "tied": "cannot be told apart from the chosen",
          "screened out": "screened out (worse)", "infeasible": "fails a constraint",
          "not shown": "not shown to meet a constraint", "feasible": "meets the constraints",
          "undecided": "undecided"}


def _finalists_html(choice, table: pd.DataFrame) -> str:
    spec = choice.question.spec
    obj = spec.objective.measure
    heads = ["Finalist", "Outcome", f"{measure(obj).label} (95% interval)",
             "Against the chosen"] + [f"Constraint {i + 1}" for i in
                                      range(len(spec.constraints))] + ["Replications"]
    body = []
    for f, (_, r) in zip(choice.finalists, table.iterrows(), strict=True):
        cells = [e(_cap(option_words(choice, f.candidate))), e(STATUS.get(f.status, f.status))
                 + (f" after {f.screened_at}" if f.status == "screened out" else ""),
                 e(_interval(obj, r[f"{obj}_mean"], r[f"{obj}_low"], r[f"{obj}_high"])),
                 e(_interval(obj, r["vs_chosen_mean"], r["vs_chosen_low"], r["vs_chosen_high"],
                             diff=True)) if "vs_chosen_mean" in r and pd.notna(
                     r.get("vs_chosen_mean")) else ""]
        for i, c in enumerate(spec.constraints):
            v = r.get(f"constraint_{i + 1}_verdict")
            if v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("")
                continue
            rel = c.relative_to == TODAY
            cls = {"met": "better", "not met": "worse"}.get(v, "same")
            cells.append(f'<span class="{cls}">{e(v)}</span>: ' + e(_interval(
                c.measure, r[f"constraint_{i + 1}_mean"], r[f"constraint_{i + 1}_low"],
                r[f"constraint_{i + 1}_high"], diff=rel)))
        cells.append(str(int(r["replications"])))
        style = ' style="background:#eef6ee"' if f.status == "chosen" else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    legend = "".join(f"<li>Constraint {i + 1}: {e(constraint_words(c))}.</li>"
                     for i, c in enumerate(spec.constraints))
    return (f'<ul class="small">{legend}</ul><div class="wrap"><table><tr>'
            + "".join(f"<th>{e(h)}</th>" for h in heads) + "</tr>" + "".join(body)
            + "</table></div>")


# ------------------------------------------------------------------ plots


def _colour(choice, option: str, i: int) -> str:
    if option == TODAY:
        return "#777777"
    opt = choice.question.option(option)
    policy = opt.set.get("policy.name", "")
    return APPROACH_COLOURS.get(policy, PALETTE[(i + 5) % len(PALETTE)])


def search_plot(choice, path: Path) -> Path:
    """Every setting tried, in order: its objective, by option; hollow where a constraint failed."""
    s = choice.search
    obj = choice.question.spec.objective.measure
    m = measure(obj)
    scale = 100 if m.kind == "share" else 1
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for i, o in enumerate(choice.question.spec.options):
        part = s[s["option"] == o.name]
        col = _colour(choice, o.name, i)
        ok = part[part["meets_constraints_on_mean"]]
        bad = part[~part["meets_constraints_on_mean"]]
        name = POLICIES.get(o.set.get("policy.name", ""), o.name.replace("_", " "))
        ax.scatter(ok["trial"], ok["objective"] * scale, color=col, s=40, label=name, zorder=3)
        ax.scatter(bad["trial"], bad["objective"] * scale, facecolors="none", edgecolors=col,
                   s=40, zorder=3, label=f"{name}: fails a constraint (on the mean)")
    today = np.mean(per_replication(choice.today_runs, obj)) if choice.today_runs else np.nan
    if np.isfinite(today):
        ax.axhline(today * scale, color="#777777", ls="--", lw=1, label="today (selection runs)")
    ax.set_xlabel("Setting tried (in order)")
    ax.set_ylabel(m.heading.replace("(%)", "(%)"))
    ax.set_title(f"Search: {m.label}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2,
              frameon=False)
    return _save(fig, path)


def finalists_plot(choice, table: pd.DataFrame, path: Path) -> Path:
    """Each finalist's objective with its 95% interval; the chosen one marked."""
    obj = choice.question.spec.objective.measure
    m = measure(obj)
    scale = 100 if m.kind == "share" else 1
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(table) + 1.6))
    for y, (f, (_, r)) in enumerate(zip(choice.finalists, table.iterrows(), strict=True)):
        col = _colour(choice, f.candidate.option, y)
        mean, lo, hi = (r[f"{obj}_{k}"] * scale for k in ("mean", "low", "high"))
        ax.errorbar(mean, y, xerr=[[mean - lo] if np.isfinite(lo) else [0],
                                   [hi - mean] if np.isfinite(hi) else [0]],
                    fmt="o", color=col, capsize=4, ms=8 if f.status == "chosen" else 5)
    ax.set_yticks(range(len(table)))
    ax.set_yticklabels([_wrap(_cap(option_words(choice, f.candidate)), 60)
                        for f in choice.finalists], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(m.heading)
    ax.set_title("Finalists on fresh replications (95% intervals)")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def sensitivity_plot(choice, path: Path) -> Path:
    """Morris's mu* (bars) and sigma (ticks) of the objective and of the chosen option's lead."""
    mo = choice.morris
    obj = choice.question.spec.objective.measure
    m = measure(obj)
    scale = 100 if m.kind == "share" else 1
    unit = "points" if m.kind == "share" else m.unit
    outs = [("objective", f"{m.label} of the chosen option"),
            ("margin", "Its lead over the best rival")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * mo["assumption"].nunique() + 2.4),
                             sharey=True, layout="constrained")
    order = (mo[mo["output"] == "margin"].sort_values("mu_star")["assumption"].tolist())
    for ax, (out, title) in zip(axes, outs, strict=True):
        part = mo[mo["output"] == out].set_index("assumption").loc[order]
        y = np.arange(len(order))
        ax.barh(y, part["mu_star"] * scale, color="#4c78a8", label="mu* (size of effect)")
        ax.errorbar(part["mu_star"] * scale, y, xerr=part["mu_star_conf"] * scale, fmt="none",
                    color="#333333", capsize=3)
        ax.scatter(part["sigma"] * scale, y, marker="|", s=200, color="#e45756",
                   label="sigma (interaction, non-linearity)", zorder=3)
        ax.set_title(_wrap(title, 45), fontsize=10)
        ax.set_xlabel(f"Effect over the range ({unit})")
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(np.arange(len(order)))
    axes[0].set_yticklabels([_wrap(parameter_name(a), 30) for a in order], fontsize=8)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="outside lower center",
               ncol=2, frameon=False)
    fig.suptitle("Which assumptions move the answer (Morris screening)", fontsize=11)
    return _save(fig, path)


# ------------------------------------------------------------------ the page


def _question_html(choice) -> str:
    spec = choice.question.spec
    items = []
    for o in spec.options:
        searched = []
        for k, v in o.search.items():
            if isinstance(v, list):
                vals = ", ".join(setting_words(k, x).removeprefix(parameter_name(k) + " ")
                                 for x in v)
                searched.append(f"{parameter_name(k)}: {vals}")
            else:
                step = f" in steps of {v.step:g}" if v.step else ""
                searched.append(f"{parameter_name(k)}: {v.low:g} to {v.high:g}{step}")
        fixed = [setting_words(k, x) for k, x in o.set.items() if k != "policy.name"]
        name = POLICIES.get(o.set.get("policy.name", ""), o.name.replace("_", " "))
        what = f" {e(o.description)}" if o.description else ""
        items.append(f"<li><b>{e(_cap(name))}</b>.{what}"
                     + (f" Fixed: {e('; '.join(fixed))}." if fixed else "")
                     + (f" Searched: {e('; '.join(searched))}." if searched else "") + "</li>")
    cons = "".join(f"<li>{e(_cap(constraint_words(c)))}.</li>" for c in spec.constraints) \
        or "<li>None.</li>"
    policy = choice.question.today.policy.name
    return (f"<p>The aim: the {e(_objective_words(spec))}, starting from today's practice "
            f"({e(choice.question.today.name)}, booking {e(POLICIES.get(policy, policy))})."
            f"</p><p>The options:</p><ul>{''.join(items)}</ul>"
            f"<p>What the practice cannot compromise on:</p><ul>{cons}</ul>")


def _guarantee_html(choice) -> str:
    spec = choice.question.spec
    sel = spec.selection
    zone = difference(spec.objective.measure, sel.indifference_zone).lstrip("+")
    kn = choice.kn
    stop = {"one left": "one finalist was left", "tied": "those left were exactly level",
            "budget": f"the most replications allowed ({sel.max_replications}) were used",
            "one met them": "only one finalist met every constraint",
            "none met the constraints": "no finalist met every constraint"}[kn["stopped"]]
    return f"""<p>The finalists are the {sel.finalists} best settings the search found
(those meeting the constraints on their search means first){' and today' + chr(39) + 's practice'
if sel.include_today else ''}. Each was run again on fresh replications (numbered from 10,000,
none shared with the search, so the search's lucky draws do not carry over), all with common
random numbers.</p>
<p><b>Constraints</b> are judged on intervals, not means: a finalist meets a constraint only
when the whole 95% interval of its measure (paired with today's where the constraint is
relative to today) lies on the allowed side; while an interval straddles the bound, more
replications are run, up to {sel.max_replications}; a finalist still undecided then is
"not shown" to meet it and is not chosen.</p>
<p><b>Selection</b> among those that meet every constraint uses Kim and Nelson's fully
sequential procedure KN (ACM TOMACS 2001;11:251-73), which allows common random numbers.
With a first stage of {sel.first_stage} replications, it drops a finalist as soon as another
is ahead by more than a margin that shrinks as replications accumulate. <b>Its guarantee:
if the best finalist beats every other by at least {e(zone)} (the indifference zone), it is
chosen with probability at least {sel.probability:.0%}</b>; where several are within {e(zone)}
of each other, any of them is as good as the question can tell. Here {kn['k']} finalist(s)
met every constraint; the procedure ended when {stop}
({kn['replications']} replications).</p>
<p class="small">What the guarantee does not cover: the search may have missed a better
setting it never tried (more trials make that less likely); the constraints are judged one
by one at 95% each, not jointly; and the replications that settled the constraints are
reused by the selection.</p>"""


def _robustness_html(choice, plot: str | None) -> str:
    spec = choice.question.spec
    rob = choice.robustness
    if rob is None or not len(rob):
        why = ("no assumptions were listed under robustness.assumptions"
               if not spec.robustness.assumptions else "no option was chosen")
        return f"<p>Not checked: {e(why)}.</p>"
    obj = spec.objective.measure
    zone = difference(obj, spec.selection.indifference_zone).lstrip("+")
    rivals = "; ".join(option_words(choice, c) for c in choice.rivals[1:])
    ranges = "".join(f"<li>{e(_cap(parameter_name(k)))} ({e(k)}): {r.low:g} to {r.high:g}</li>"
                     for k, r in spec.robustness.assumptions.items())
    skipped = {o: sorted(ks) for o, ks in choice.question.not_applicable.items() if ks}
    skip = "".join(f"<li>{e(', '.join(ks))}: does not apply to "
                   f"{e('today' if o == TODAY else o.replace('_', ' '))}</li>"
                   for o, ks in skipped.items())
    parts = [f"""<p>The chosen option was run beside its rivals ({e(rivals)}) at {len(rob)}
practices sampled across these plausible ranges ({spec.robustness.replications} replication(s)
each, common random numbers):</p><ul>{ranges}</ul>"""
             + (f'<p class="small">Not applied where a policy does not take it:</p>'
                f'<ul class="small">{skip}</ul>' if skip else "")]
    stays, within, meets = (rob[k].mean() for k in ("stays_best", "within_zone",
                                                    "meets_constraints"))
    parts.append(f"""<p class="decision">It stays ahead of every rival in {stays:.0%} of the
sampled practices, within {e(zone)} of the best in {within:.0%}, and meets every constraint (on
the mean of the runs there) in {meets:.0%}.</p>""")
    if plot:
        parts.append(f'<img src="{plot}" alt="Morris screening: which assumptions move the '
                     'objective and the chosen option\'s lead">')
    m = choice.morris
    scale_unit = "points" if measure(obj).kind == "share" else measure(obj).unit
    outs = list(dict.fromkeys(m["output"]))
    rows = []
    for a in dict.fromkeys(m["assumption"]):
        cells = [e(_cap(parameter_name(a)))]
        for out in outs:
            r = m[(m["output"] == out) & (m["assumption"] == a)].iloc[0]
            metric = obj if out in ("objective", "margin") else spec.constraints[
                int(out.split("_")[1]) - 1].measure
            star = difference(metric, r["mu_star"]).lstrip("+")
            cells.append(e(difference(metric, r["mu"])) + f"<small>mu* {e(star)}</small>")
        rows.append("<tr>" + "".join(f'<td class="num">{c}</td>' if i else f"<td>{c}</td>"
                                     for i, c in enumerate(cells)) + "</tr>")
    heads = ["Assumption"] + [_cap(dict(zip(m["output"], m["output_label"], strict=False))[o])
                              for o in outs]
    parts.append(f"""<p>Morris screening: each figure is the average change across the
assumption's whole range (mu), with mu*, the average size of the change whatever its
direction; a large mu* against a small mu means the effect changes direction with the
other assumptions ({scale_unit} for continuity).</p><div class="wrap"><table><tr>"""
                 + "".join(f"<th>{e(h)}</th>" for h in heads) + "</tr>" + "".join(rows)
                 + "</table></div>")
    so = choice.sobol
    if so is not None and len(so):
        srows = "".join(
            f"<tr><td>{e(_cap(r['output_label']))}</td><td>{e(_cap(parameter_name(r['assumption'])))}"
            f"</td><td class=\"num\">{_index(r['S1'], r['S1_conf'])}</td>"
            f"<td class=\"num\">{_index(r['ST'], r['ST_conf'])}</td></tr>"
            for _, r in so.iterrows())
        n = len(rob[rob["design"] == "sobol"])
        parts.append(f"""<p>Sobol indices of the assumptions that matter most
({n} sampled practices, the others held at the middle of their ranges): the share of the
variation due to each alone (first order) and with its interactions (total). With few
samples the intervals are wide; raise <code>robustness.sobol_samples</code> for firm
figures.</p><div class="wrap"><table><tr><th>Output</th><th>Assumption</th>
<th>First order (95% interval)</th><th>Total (95% interval)</th></tr>{srows}</table></div>""")
    first = measure_first(choice)
    if first:
        parts.append(f"<p><b>Measure before rolling out:</b> {e(first)}. Across its plausible "
                     "range it moves the chosen option's lead most; knowing it for this "
                     "practice narrows the answer most.</p>")
    return "".join(parts)


def _index(x: float, conf: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.2f} ({x - conf:.2f} to {x + conf:.2f})"


def _parameters_html(rows: list[dict]) -> str:
    body = "".join(f"<tr><td><code>{e(str(r.get('parameter', r.get('key', ''))))}</code></td>"
                   f"<td>{e(str(r.get('value', '')))}</td><td>{e(str(r.get('source', '')))}"
                   "</td></tr>" for r in rows)
    return ("<details><summary>Every parameter of the chosen practice, with its source"
            "</summary><div class=\"wrap\"><table><tr><th>Parameter</th><th>Value</th>"
            f"<th>Source</th></tr>{body}</table></div></details>")


def write_choice(stage: Path, choice, parameter_rows: list[dict], meta: dict) -> None:
    """Write the tables, plots and ``choice.html`` of a choice into ``stage``."""
    stage = Path(stage)
    (stage / "plots").mkdir(exist_ok=True)
    table = finalists_table(choice)
    write_csv(table, stage / "choice.csv", index=False)
    write_csv(choice.search, stage / "search.csv", index=False)
    if choice.robustness is not None:
        write_csv(choice.robustness, stage / "robustness.csv", index=False)
        sens = [choice.morris.assign(method="morris")]
        if choice.sobol is not None:
            sens.append(choice.sobol.assign(method="sobol"))
        write_csv(pd.concat(sens, ignore_index=True), stage / "sensitivity.csv", index=False)
    search_plot(choice, stage / "plots" / "search.png")
    finalists_plot(choice, table, stage / "plots" / "finalists.png")
    sens_img = None
    if choice.morris is not None and len(choice.morris):
        sensitivity_plot(choice, stage / "plots" / "sensitivity.png")
        sens_img = "plots/sensitivity.png"
    spec = choice.question.spec
    said = answer(choice)
    verdict = "".join(f'<p class="decision">{e(x)}</p>' if i == 0 else f"<p>{e(x)}</p>"
                      for i, x in enumerate(said))
    runs = choice.runs_made + choice.runs_reused
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(spec.name)}</title><style>{STYLE}</style></head><body>
<h1>{e(spec.name)}</h1>
<p class="lead">{e(spec.description)}</p>
<h2>The answer</h2>
<div class="verdict">{verdict}</div>
<h2>The question</h2>
{_question_html(choice)}
<h2>The search</h2>
<p>{len(choice.search)} settings were tried, {spec.search.replications} replication(s) each,
{spec.search.batch} at a time, proposed by Optuna's {'TPE' if spec.search.sampler == 'tpe'
else 'random'} sampler with the constraints (each option first at the middle of its ranges).
Means over so few replications are rough: they only pick the finalists.</p>
<img src="plots/search.png" alt="The search: each setting tried and its objective">
<h2>The finalists</h2>
<img src="plots/finalists.png" alt="Finalists with 95% intervals">
{_finalists_html(choice, table)}
<h2>The guarantee</h2>
{_guarantee_html(choice)}
<h2>Robustness of the choice</h2>
{_robustness_html(choice, sens_img)}
<h2>Parameters</h2>
{_parameters_html(parameter_rows)}
<h2>How this was run</h2>
<p class="small">{runs:,} runs of the practice; seed {choice.question.today.seed}; question
file {e(meta.get('question_file', ''))}; code {e(str(meta.get('code_version', '')))}. Tables:
choice.csv (finalists), search.csv, robustness.csv, sensitivity.csv. The same question and
seed give the same answer, and this same page, on any machine and any number of workers: the
search proposes settings in fixed batches, and every run's random numbers depend only on the
seed and its replication number.</p>
</body></html>"""
    (stage / "choice.html").write_text(page, encoding="utf-8")
