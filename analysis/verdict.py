"""The verdict: what a comparison says, in five to eight plain sentences built from its numbers.

Which approach gives the most continuity, whether another is as good, what
the leader costs or saves in access, what it does to the A&E and admission
proxies, which differences are too small or too uncertain to matter, and a
closing sentence a practice can act on. Every sentence is computed from the
comparison's tables: change the scenarios and the words change.

Differences are paired by replication (common random numbers) with 95%
intervals; "clear" means the interval excludes zero, and a clear difference
smaller than :data:`SMALL` of a measure's scale is called too small to matter.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .labels import capital, difference, measure, number
from .replications import to_settle
from .stats import paired_differences

#: Differences smaller than these are too small to matter, even when clear:
#: share measures in proportion (0.01 = 1 percentage point), others in their unit.
SMALL = {"share": 0.01, "days": 0.1, "hours": 0.1, "index": 0.01, "rate": 2.0, "count": 1.0,
         "per_patient": 0.05}


def judge(metric: str, d: float, low: float, high: float) -> str:
    """``better``, ``worse``, ``higher``/``lower`` (no direction), ``small`` or ``unclear``."""
    if any(isinstance(v, float) and math.isnan(v) for v in (d, low, high)):
        return "unclear"
    if low <= 0 <= high:
        return "unclear"
    m = measure(metric)
    if abs(d) < SMALL.get(m.kind, 0):
        return "small"
    if m.better == 0:
        return "higher" if d > 0 else "lower"
    return "better" if (d > 0) == (m.better > 0) else "worse"


class _Tables:
    """The comparison's means and paired differences, with any pair of scenarios on demand."""

    def __init__(self, comparison: pd.DataFrame, runs: pd.DataFrame, base: str,
                 after: pd.DataFrame | None = None):
        self.comp = comparison.set_index(["scenario", "metric"])
        self.base = base
        self._pairs: dict[tuple[str, str], pd.DataFrame] = {}
        self.runs = runs
        if after is not None:  # these measures read after the change, the rest whole-run
            keep = [m for m in runs.columns
                    if m in ("scenario", "replication") or m not in after.columns]
            self.runs = runs[keep].merge(after, on=["scenario", "replication"], how="left")
            means = after.groupby("scenario", sort=False).mean(numeric_only=True)
            comp = self.comp.copy()
            for m in means.columns:
                for lb in means.index:
                    if m != "replication" and (lb, m) in comp.index:
                        comp.loc[(lb, m), "mean"] = means.loc[lb, m]
            self.comp = comp

    def mean(self, label: str, metric: str) -> float:
        key = (label, metric)
        return float(self.comp.loc[key, "mean"]) if key in self.comp.index else float("nan")

    def diff(self, label: str, metric: str, against: str | None = None) -> tuple[float, ...]:
        """(difference, low, high) of ``label`` minus ``against`` (the baseline), paired."""
        against = against or self.base
        if (label, against) not in self._pairs:
            runs = self.runs[self.runs["scenario"].isin([label, against])]
            metrics = [m for m in runs.columns if m not in ("scenario", "replication")
                       and pd.api.types.is_numeric_dtype(runs[m])]
            self._pairs[(label, against)] = paired_differences(
                runs, metrics, against).set_index("metric")
        t = self._pairs[(label, against)]
        if metric not in t.index:
            return (float("nan"),) * 3
        r = t.loc[metric]
        return float(r["difference"]), float(r["low"]), float(r["high"])

    def paired(self, label: str, metric: str) -> np.ndarray:
        """``label`` minus the baseline on ``metric``, replication by replication."""
        a = self.runs[self.runs["scenario"] == label].set_index("replication")[metric]
        b = self.runs[self.runs["scenario"] == self.base].set_index("replication")[metric]
        common = a.index.intersection(b.index)
        return (a.loc[common].to_numpy(dtype=float) - b.loc[common].to_numpy(dtype=float))


def _interval(metric: str, d: tuple[float, ...]) -> str:
    places = _places(metric, d)
    return f"{difference(metric, d[0], True, places)}, 95% interval {_ends(metric, d, places)}"


def _places(metric: str, d: tuple[float, ...]) -> int:
    """Decimals for a difference and its interval: the measure's own, or more.

    Up to three, where fewer would print both ends of the interval alike.
    """
    first = difference(metric, d[0], False)
    places = len(first.split(".")[1]) if "." in first else 0
    while (places < 3 and not math.isnan(d[1]) and difference(metric, d[1], False, places)
           == difference(metric, d[2], False, places)):
        places += 1
    return places


def _ends(metric: str, d: tuple[float, ...], places: int | None = None) -> str:
    """The interval's ends, with :func:`_places` decimals unless told."""
    places = _places(metric, d) if places is None else places
    return " to ".join(difference(metric, x, False, places) for x in d[1:3])


#: Short names of the measures the verdict weighs, for its lists.
SHORT = {"routine_wait_mean_days": "routine wait", "urgent_same_day_share": "urgent same-day",
         "urgent_wait_hours_mean": "urgent wait in hours",
         "slicc": "SLICC", "upc_mean": "UPC", "ae_per_1000": "A&E (proxy)",
         "admissions_per_1000": "admissions (proxy)"}


def verdict(comparison: pd.DataFrame, runs: pd.DataFrame, labels: list[str],
            names: dict[str, str], replications: int,
            precision: dict | None = None,
            after: tuple[pd.DataFrame, str] | None = None) -> list[str]:
    """The sentences of the verdict (plain text; the first label is the baseline).

    ``precision``: the comparison's precision target and where it stands
    (:func:`gpsim.compare.precision_status`), when it was run to one. ``after``: for
    a comparison where approaches change during the run, each run's measures after
    the change and the period in words (:func:`analysis.report.after_change`); the
    verdict then judges continuity, routine waits and the proxies on that period.
    """
    table, span = after if after is not None else (None, "")
    t = _Tables(comparison, runs, labels[0], table)
    base = labels[0]
    if len(labels) < 2:
        return [f"Only one scenario ({names[base]}) was run: there is nothing to compare."]
    out: list[str] = []

    def cont(lb):  # continuity ranking: SLICC, then team continuity
        return (t.mean(lb, "slicc"), t.mean(lb, "team_continuity"))

    ranked = sorted(labels, key=lambda lb: tuple(-x if not math.isnan(x) else math.inf
                                                  for x in cont(lb)))
    top = ranked[0]
    leaders = [top]
    slicc = "slicc"
    if top == base:
        best_other = ranked[1]
        out.append(f"None of the approaches gives more continuity than the baseline, "
                   f"{names[base]}: its share of GP visits with the patient's own GP (SLICC) is "
                   f"{number(slicc, t.mean(base, slicc))}, against "
                   f"{number(slicc, t.mean(best_other, slicc))} under {names[best_other]}.")
    else:
        d = t.diff(top, slicc)
        out.append(f"{names[top]} gives the most continuity: "
                   f"{number(slicc, t.mean(top, slicc))} of GP visits are with the patient's "
                   f"own GP (SLICC), against {number(slicc, t.mean(base, slicc))} under "
                   f"{names[base]} ({_interval(slicc, d)}).")
        leaders += [lb for lb in ranked[1:] if lb != base
                    and judge(slicc, *t.diff(top, slicc, against=lb)) in ("unclear", "small")]
        second = ranked[1]
        if second != base:
            d2 = t.diff(top, slicc, against=second)
            call = judge(slicc, *d2)
            if call in ("unclear", "small"):
                out.append(f"{names[second]} does as well on this measure "
                           f"({number(slicc, t.mean(second, slicc))}; the difference, "
                           f"{_interval(slicc, d2)}, is too small to matter).")
            else:
                out.append(f"Next comes {names[second]} with "
                           f"{number(slicc, t.mean(second, slicc))}.")
        team = "team_continuity"
        by_team = max(labels, key=lambda lb: -math.inf if math.isnan(t.mean(lb, team))
                      else t.mean(lb, team))
        dt = t.diff(by_team, team) if by_team != base else (float("nan"),) * 3
        if by_team != base and judge(team, *dt) == "better":
            lead = (f"{names[top]} also" if by_team == top else f"{names[by_team]}")
            out.append(f"{lead} gives the most continuity with the patient's own micro-team "
                       f"(all roles): {number(team, t.mean(by_team, team))} of consultations "
                       f"against {number(team, t.mean(base, team))} ({_interval(team, dt)}).")

    lead = top if top != base else ranked[1]
    out.append(_access(t, lead, names))
    out.append(_proxies(t, lead, names))
    shortest = min(labels, key=lambda lb: t.mean(lb, "routine_wait_mean_days"))
    out += _too_small(t, labels, names, replications)
    out.insert(0, _choice(t, leaders, shortest, names))
    if table is not None:
        whole = _Tables(comparison, runs, base)
        moved = [f"{difference(slicc, whole.diff(lb, slicc)[0])} for {names[lb]}"
                 for lb in labels[1:] if lb in set(table["scenario"])
                 and not math.isnan(whole.diff(lb, slicc)[0])]
        out.insert(1, f"Approaches change during these runs, so continuity, routine waits and "
                      f"the hospital proxies are judged after the change: over {span} (the "
                      "last three full months), against the baseline in the same months. "
                      "Averaged over the whole run, months before the change included, SLICC "
                      f"would read {_and(moved)}.")
    out.append(_replications(replications, precision))
    return [capital(x) for x in out]


def _access(t: _Tables, lb: str, names) -> str:
    """What the leading approach costs or saves in access, against the baseline."""
    w, u = "routine_wait_mean_days", "urgent_same_day_share"
    dw, du = t.diff(lb, w), t.diff(lb, u)
    cw, cu = judge(w, *dw), judge(u, *du)
    waits = (f"the average routine wait is {number(w, t.mean(lb, w), True)} against "
             f"{number(w, t.mean(t.base, w), True)} ({_interval(w, dw)})")
    if cw == "worse":
        text = f"{names[lb]} costs access: {waits}"
    elif cw == "better":
        text = f"{names[lb]} costs no access, and saves some: {waits}"
    elif cw == "small":
        text = f"{names[lb]} changes routine waits too little to matter: {waits}"
    else:
        text = (f"Routine waits under {names[lb]} cannot be told from those under "
                f"{names[t.base]}: {waits}")
    if cu in ("better", "worse"):
        text += (f"; urgent requests seen the same day: {number(u, t.mean(lb, u))} against "
                 f"{number(u, t.mean(t.base, u))} ({_interval(u, du)})")
    else:
        text += (f"; urgent requests are seen the same day as often "
                 f"({number(u, t.mean(lb, u))})")
    h = "urgent_wait_hours_mean"
    dh = t.diff(lb, h)
    ch = judge(h, *dh)
    if ch in ("better", "worse"):
        text += (f", and urgent patients wait {'longer' if ch == 'worse' else 'less'} within "
                 f"the day: {number(h, t.mean(lb, h), True)} on average against "
                 f"{number(h, t.mean(t.base, h), True)} ({_interval(h, dh)})")
    elif not math.isnan(dh[0]):
        text += (f", and wait as long within the day "
                 f"({number(h, t.mean(lb, h), True)} on average)")
    return text + "."


def _proxies(t: _Tables, lb: str, names) -> str:
    """The A&E and admission proxies of the leading approach against the baseline."""
    bits = []
    for metric, what in (("ae_per_1000", "A&E attendances"),
                         ("admissions_per_1000", "emergency admissions")):
        d = t.diff(lb, metric)
        call = judge(metric, *d)
        if call in ("better", "worse"):
            way = "fewer" if d[0] < 0 else "more"
            bits.append(f"{abs(d[0]):,.0f} {way} {what} per 1,000 patients a year (95% interval "
                        f"{_ends(metric, d)})")
        elif call == "small":
            bits.append(f"a change in {what} too small to matter "
                        f"({difference(metric, d[0], False)} per 1,000 a year)")
        else:
            bits.append(f"no clear change in {what} ({difference(metric, d[0], False)} per "
                        "1,000 a year)")
    return (f"On the hospital proxies, {names[lb]} shows " + " and ".join(bits)
            + ": proxies for comparing approaches, not forecasts.")


#: Beyond this many replications a difference is called too small to chase.
SETTLE_CAP = 1000


def _too_small(t: _Tables, labels, names, replications: int) -> list[str]:
    """Headline differences from the baseline too small to matter, or not yet told from none.

    An unclear one comes with the replications that would settle a difference of
    the size measured (:func:`analysis.replications.to_settle`), unless it is below
    :data:`SMALL` (it would not matter if real) or would take over :data:`SETTLE_CAP`.
    """
    small, settled, trivial = [], [], {}
    for lb in labels[1:]:
        tiny, settle, none = [], [], []
        for m in SHORT:
            d = t.diff(lb, m)
            call = judge(m, *d)
            if call == "small":
                tiny.append(SHORT[m])
            elif call == "unclear" and not math.isnan(d[0]):
                n = to_settle(t.paired(lb, m))
                if n is None or n > SETTLE_CAP or abs(d[0]) < SMALL.get(measure(m).kind, 0):
                    none.append(SHORT[m])
                else:
                    settle.append((n, SHORT[m]))
        if tiny:
            small.append(f"{names[lb]} on {_and(tiny)}")
        if settle:
            settle.sort()
            first = f"{settle[0][1]} (about {settle[0][0]:,} replications would settle a " \
                    "difference of the size measured"
            settled.append(f"{names[lb]} on " + _and(
                [first + ")"] + [f"{w} (about {n:,})" for n, w in settle[1:]]))
        if none:  # approaches with the same list are named together
            trivial.setdefault(tuple(none), []).append(names[lb])
    out = []
    if small:
        out.append("Clear but too small to matter, against the baseline: " + "; ".join(small)
                   + ".")
    if settled:
        out.append(f"Not yet told from the baseline at {replications} replications: "
                   + "; ".join(settled) + ".")
    if trivial:
        out.append(f"No clear difference from the baseline at {replications} replications, "
                   f"and too small to matter if real (or to settle within {SETTLE_CAP:,} "
                   "replications): " + "; ".join(f"{_and(who)} on {_and(list(which))}"
                                                 for which, who in trivial.items()) + ".")
    return out


def _choice(t: _Tables, leaders: list[str], shortest: str, names) -> str:
    """The verdict's first sentence: the decision, and the difference that decides it.

    ``leaders``: the approach with the most continuity and those that cannot be
    told from it; among them one with clearly shorter routine waits is preferred.
    With no continuity gain, access decides: an alternative with clearly shorter
    routine waits is named.
    """
    base = t.base
    w, c = "routine_wait_mean_days", "slicc"
    top = leaders[0]
    if top == base:
        alts = [lb for lb in t.comp.index.get_level_values(0).unique() if lb != base]
        quicker = [lb for lb in alts if judge(w, *t.diff(lb, w)) == "better"]
        if not quicker:
            return (f"Decision: none of the alternatives improves continuity or routine waits "
                    f"on {names[base]}; stay with it.")
        alt = min(quicker, key=lambda lb: t.mean(lb, w))
        text = (f"Decision: none of the alternatives improves continuity on {names[base]}, "
                f"but {names[alt]} shortens routine waits: {number(w, t.mean(alt, w), True)} "
                f"against {number(w, t.mean(base, w), True)} ({_interval(w, t.diff(alt, w))})")
        if judge(c, *t.diff(alt, c)) == "worse":
            text += f", at a cost in continuity (SLICC {_interval(c, t.diff(alt, c))})"
        return text + "."
    best = top
    quicker = [lb for lb in leaders[1:]
               if judge(w, *t.diff(lb, w, against=top)) == "better"]
    if quicker:
        best = min(quicker, key=lambda lb: t.mean(lb, w))
        return (f"Decision: for continuity, choose {names[best]}: it matches {names[top]} on "
                f"continuity (SLICC {_interval(c, t.diff(best, c, against=top))}) with shorter "
                f"routine waits ({_interval(w, t.diff(best, w, against=top))}).")
    d = t.diff(top, c)
    text = (f"Decision: for continuity, choose {names[top]}: "
            f"{difference(c, d[0], True, _places(c, d))} of SLICC over {names[base]} "
            f"(95% interval {_ends(c, d)})")
    ties = [lb for lb in leaders[1:] if lb != base]
    dw = t.diff(top, w)
    call = judge(w, *dw)
    if shortest not in (top, *ties) and judge(w, *t.diff(shortest, w, against=top)) == "better":
        text += (f"; for the shortest routine wait, {names[shortest]} "
                 f"({_interval(w, t.diff(shortest, w, against=top))} against {names[top]})")
    elif call == "worse":
        text += f", at a cost in routine waits ({_interval(w, dw)})"
    elif call == "better":
        text += f", with shorter routine waits too ({_interval(w, dw)})"
    else:
        text += f", with routine waits no different ({_interval(w, dw)})"
    text += "."
    if ties:
        which = "either" if len(ties) == 1 else "any of them"
        text += (f" {capital(_and([names[lb] for lb in ties]))} cannot be told from it on "
                 f"continuity: {which} will do.")
    return text


def _replications(replications: int, precision: dict | None) -> str:
    """The closing sentence: how many replications, and how the count was chosen."""
    text = (f"Each figure is the mean of {replications} replications with the same patients "
            "in every approach")
    if precision is None:
        return text + ("; more replications narrow the intervals (compare --precision adds "
                       "them until a stated precision is reached).")
    target = f"{precision['target']:.0%}"
    if precision.get("reached"):
        return text + (f", enough for every key measure's 95% interval to be within {target} "
                       "of its mean.")
    return text + (f"; the target precision ({target} of the mean) was not reached on every "
                   "key measure before the replications' cap: read the intervals.")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
