"""Plots of one run's results (PNG, matplotlib's non-interactive backend)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.font_manager import FontProperties

from .spread import WAIT_AXES, wait_grid


def wait_distribution(appointments: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Empirical CDF of the wait from request to appointment: urgent in hours, routine in days.

    Only appointments in the observation window that were attended or missed
    are shown (cancelled ones are not).
    """
    a = appointments[appointments["in_window"].to_numpy(dtype=bool)]
    a = a[a["status"].isin(["attended", "dna"])]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.3), dpi=110, layout="constrained")
    panels = ((axes[0], "urgent", "#c0392b", 24.0, "Hours from request to appointment"),
              (axes[1], "routine", "#2c7fb8", 1.0, "Days from first request to appointment"))
    for ax, urgency, colour, scale, xlabel in panels:
        w = np.sort(a.loc[a["urgency"] == urgency, "wait_days"].to_numpy(dtype=float) * scale)
        n = w.size
        if n:
            y = np.arange(1, n + 1) / n
            if n > 4000:  # draw the curve through 4,000 of its points: the same picture, faster
                keep = np.unique(np.linspace(0, n - 1, 4000).round().astype(np.int64))
                w, y = w[keep], y[keep]
            ax.step(w, y, where="post", color=colour, label=f"{urgency} (n = {n:,})")
            ax.legend(loc="center right")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Appointments seen within (%)")
        ax.set_ylim(0, 1.01)
        _percent_axis(ax)
        ax.set_title(f"{urgency.capitalize()} requests", loc="left")
        ax.grid(alpha=0.3)
    axes[0].set_xlim(0, 48)
    axes[0].set_xticks(range(0, 49, 6))
    axes[1].set_xlim(left=0)
    axes[1].axvline(14, color="grey", lw=0.8, ls="--")
    axes[1].text(14.2, 0.03, "2 weeks", color="grey", fontsize=8)
    fig.suptitle(title or "Wait from request to appointment")
    path = Path(path)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


# ------------------------------------------------------------------ comparison plots

PALETTE = ("#1b6ca8", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
           "#666666", "#e6ab02", "#17becf")


#: A horizontal box plot: ``orientation`` since matplotlib 3.10, ``vert`` before (deprecated).
_HORIZONTAL = ({"orientation": "horizontal"}
               if tuple(int(x) for x in matplotlib.__version__.split(".")[:2]) >= (3, 10)
               else {"vert": False})


def _titles_unmeasured(fig) -> None:
    """Keep every axes' titles at the top of the axes without measuring the axes to place them.

    matplotlib places a title by measuring its axes' tick labels, to lift it over
    tick labels along the top or the y axis's offset ("1e6"): a sixth of drawing a
    comparison plot. Where there can be neither, the title stays at the top of the
    axes anyway, so its height is set (a ``y`` given to ``set_title``, here to the
    empty right-hand title) and the picture is the same, drawn faster.
    """
    tops = any(ax.xaxis.get_tick_params().get("labeltop") or
               ax.xaxis.get_label_position() == "top" for ax in fig.axes)
    if tops:
        return
    for ax in fig.axes:
        if ax.get_title(loc="right") or not (ax.get_title(loc="left") or ax.get_title()):
            continue
        if isinstance(ax.yaxis.get_major_formatter(), matplotlib.ticker.ScalarFormatter):
            lo, hi = ax.get_ylim()
            big = max(abs(lo), abs(hi))
            # an offset or a power of ten is written only for values this large, this
            # small, or this close together (rcParams' defaults, with room to spare)
            if big >= 1e4 or 0 < big < 1e-3 or abs(hi - lo) * 100 < abs(hi + lo) / 2:
                continue
        ax.set_title("", loc="right", y=1.0)


def _save(fig, path: Path, laid_out: bool = False) -> Path:
    """Save in the format the path's suffix names (png, svg or pdf).

    A figure without a layout engine is laid out tightly first, unless ``laid_out``
    (its axes were placed by hand).
    """
    path = Path(path)
    _titles_unmeasured(fig)
    if fig.get_layout_engine() is None and not laid_out:
        fig.tight_layout()
    fig.savefig(path, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


#: The built-in approaches' own colours, the same in every comparison, the report and the app.
APPROACH_COLOURS = {"access_first": PALETTE[0], "usual_gp_first": PALETTE[1],
                    "clinical_champion": PALETTE[2], "personalised_micro_teams": PALETTE[3],
                    "micro_team": PALETTE[4]}

#: Colours chosen by approach for a comparison's labels (see :func:`use_approach_colours`).
_BY_APPROACH: dict[tuple[str, ...], dict[str, str]] = {}


def use_approach_colours(labels, approaches: dict[str, str]) -> dict[str, str]:
    """Colour ``labels`` by their approach (label -> policy name) from now on.

    A built-in approach keeps its own colour (micro-teams purple whether or not
    usual-GP-first is compared too); a second label with the same approach, or
    any other policy, takes the next colour no label uses yet.
    """
    chosen: dict[str, str] = {}
    for lb in labels:
        own = APPROACH_COLOURS.get(approaches.get(lb, ""))
        if own is not None and own not in chosen.values():
            chosen[lb] = own
    spare = [c for c in PALETTE if c not in chosen.values()]
    for lb in labels:
        if lb not in chosen:
            chosen[lb] = spare.pop(0) if spare else PALETTE[len(chosen) % len(PALETTE)]
    _BY_APPROACH[tuple(labels)] = chosen
    return chosen


def colours(labels):
    """One colour per approach, the same on every plot and page.

    By approach where :func:`use_approach_colours` said so, else by place in the comparison.
    """
    chosen = _BY_APPROACH.get(tuple(labels))
    if chosen is not None:
        return dict(chosen)
    return {lb: PALETTE[i % len(PALETTE)] for i, lb in enumerate(labels)}


_colours = colours

#: Line styles and markers by place, so lines that coincide still show (one hides the other
#: only where they are equal, and the marker shows through).
LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _style(i: int) -> dict:
    return {"ls": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)]}


def _percent_axis(ax) -> None:
    """Percentages on the y axis in steps of 1, 2, 5 or 10 (of a power of ten).

    Never 2.5, which whole-number labels would show rounded (48%, 50%, 52%); whole
    percentages unless the ticks are closer than a point.
    """
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=7, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(_Percent())


class _Percent(matplotlib.ticker.Formatter):
    """A share as a percentage, with only the decimals the tick spacing needs."""

    def __call__(self, x, pos=None):
        locs = np.asarray(self.axis.get_majorticklocs(), dtype=float) * 100
        step = float(np.min(np.diff(locs))) if locs.size > 1 else 1.0
        places = 0 if step >= 1 - 1e-9 else int(np.ceil(-np.log10(step) - 1e-9))
        return f"{x * 100:.{places}f}%"


def _legend_below(fig, handles, texts, ncol: int | None = None) -> None:
    """The legend under the plots, outside every axis (so it covers no data).

    A legend of more than four rows (a sweep compares many points) makes the
    figure taller by its extra rows, so the plots keep their height.
    """
    ncol, rows = _legend_shape(texts, ncol)
    if rows > 4:
        fig.set_figheight(fig.get_figheight() + (rows - 4) * 0.2)
    fig.legend(handles, texts, loc="outside lower center", ncol=ncol, fontsize=9,
               frameon=False)


def _legend_shape(texts, ncol: int | None = None) -> tuple[int, int]:
    """A legend's columns (one if any text is long, else two, unless given) and rows."""
    ncol = ncol or (1 if max((len(t) for t in texts), default=0) > 45 else 2)
    ncol = max(min(ncol, len(texts)), 1)
    return ncol, -(-len(texts) // ncol)


def role_name(role: str) -> str:
    """A role for a person: ``gp`` -> GP, ``anp`` -> ANP, ``practice_nurse`` -> practice nurse."""
    return role.upper() if len(role) <= 3 else role.replace("_", " ")


def _wrap(text: str, width: int = 30) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _drawn_texts(fig) -> list:
    """The texts a reader sees: tick labels only where a tick is drawn (inside the view)."""
    ticks, shown = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update((id(tick.label1), id(tick.label2)))
            used = (axis.get_major_ticks(len(axis.get_majorticklocs()))
                    + axis.get_minor_ticks(len(axis.get_minorticklocs())))
            for tick in used:  # matplotlib keeps spare tick objects; only these are drawn
                for label in (tick.label1, tick.label2):
                    if label.get_visible() and lo - 1e-9 * abs(hi - lo) <= tick.get_loc() \
                            <= hi + 1e-9 * abs(hi - lo):
                        shown.append(label)
    shown += [t for t in fig.findobj(matplotlib.text.Text) if id(t) not in ticks]
    return [t for t in shown if t.get_visible() and t.get_text().strip()]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of drawn texts in ``fig`` whose boxes overlap (after drawing): for tests."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in _drawn_texts(fig):
        box = t.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            boxes.append((t.get_text(), box.shrunk(0.98, 0.9)))
    out = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            if ba.overlaps(bb):
                out.append((a, b))
    return out


def compare_waits(within: pd.DataFrame, labels, names, path) -> Path:
    """ECDF of waits by scenario, urgent and routine (all replications pooled).

    ``within``: :meth:`analysis.spread.WaitsWithin.table`, the waits within each
    of 2,001 points across the axis (finer than its pixels) rather than every
    wait: the same picture, without holding or drawing a step per appointment
    (a sweep of a thousand runs has tens of millions).
    """
    col = colours(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), dpi=110, layout="constrained")
    for ax, (urgency, xmax, _) in zip(axes, WAIT_AXES, strict=True):
        grid = wait_grid(xmax)
        every = grid.size // 12
        of_urgency = within[within["urgency"] == urgency]
        for i, lb in enumerate(labels):
            mine = of_urgency[of_urgency["scenario"] == lb]
            if len(mine):
                y = mine["within"].to_numpy(dtype=float) / mine["n"].to_numpy(dtype=float)
                ax.step(grid, y, where="post", color=col[lb], lw=1.5, label=names[lb],
                        markevery=slice(i * every // max(len(labels), 1), None, every),
                        ms=4, **_style(i))
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 1.01)
        _percent_axis(ax)
        ax.set_xlabel("Hours from request to appointment" if urgency == "urgent"
                      else "Days from first request to appointment")
        ax.set_ylabel("Appointments seen within (%)")
        ax.set_title(f"{urgency.capitalize()} requests", loc="left")
        ax.grid(alpha=0.3)
    axes[0].set_xticks(range(0, 49, 6))
    axes[1].axvline(14, color="grey", lw=0.8, ls="--")
    axes[1].text(14.4, 0.04, "2 weeks", color="grey", fontsize=8)
    _legend_below(fig, *axes[0].get_legend_handles_labels())
    return _save(fig, Path(path))


def compare_continuity(boxes: pd.DataFrame, labels, names, path) -> Path:
    """Distribution of per-patient UPC, COC and SECON by scenario (patients with 3+ GP visits).

    ``boxes``: :meth:`analysis.spread.IndexValues.table`, each box's statistics
    (exact, from every patient of every replication).
    """
    col = colours(labels)
    fig, axes = plt.subplots(1, 3, figsize=(12, 1.6 + 0.75 * len(labels)), dpi=110,
                             layout="constrained")
    panels = (("upc", "UPC", "with the most-seen GP"),
              ("coc", "COC", "concentration on few GPs"),
              ("secon", "SECON", "same GP as last time"))
    for ax, (idx, title, what) in zip(axes, panels, strict=True):
        mine = boxes[boxes["index"] == idx].set_index("scenario")
        stats = [{"label": _wrap(names[lb], 32),
                  **{k: float(mine.loc[lb, k]) if lb in mine.index else np.nan
                     for k in ("q1", "q3", "whislo", "whishi")},
                  "med": float(mine.loc[lb, "median"]) if lb in mine.index else np.nan}
                 for lb in labels]
        box = ax.bxp(stats, showfliers=False, patch_artist=True, widths=0.6, **_HORIZONTAL)
        for patch, lb in zip(box["boxes"], labels, strict=True):
            patch.set_facecolor(col[lb])
            patch.set_alpha(0.35)
        for med in box["medians"]:
            med.set_color("black")
        ax.set_title(f"{title}: {what}", loc="left", fontsize=9)
        ax.set_xlabel(f"{title} per patient (0 to 1)")
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "0.25", "0.5", "0.75", "1"])
        ax.grid(alpha=0.3, axis="x")
    for ax in axes:
        ax.invert_yaxis()  # the baseline on top, as in the tables
    for ax in axes[1:]:
        ax.tick_params(labelleft=False)
    fig.get_layout_engine().set(wspace=0.06)  # room between one panel's 1 and the next's 0
    return _save(fig, Path(path))


def _bars_with_ci(ax, comparison, labels, names, metrics, metric_names, scale=1.0):
    width = 0.8 / max(len(labels), 1)
    x = np.arange(len(metrics))
    col = colours(labels)
    for i, lb in enumerate(labels):
        rows = comparison[comparison["scenario"] == lb].set_index("metric").reindex(metrics)
        mean = rows["mean"].to_numpy(dtype=float) * scale
        err = np.vstack([mean - rows["low"].to_numpy(dtype=float) * scale,
                         rows["high"].to_numpy(dtype=float) * scale - mean])
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, mean, width, color=col[lb],
               label=names[lb], yerr=np.nan_to_num(err), capsize=3)
    ax.set_xticks(x, metric_names)
    ax.grid(alpha=0.3, axis="y")


def compare_depth(comparison, ugc: pd.DataFrame, labels, names, path) -> Path:
    """Expected share with a deep relationship (with 95% intervals), and GP-visit counts."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), dpi=110, layout="constrained",
                             width_ratios=(1, 1.6))
    _bars_with_ci(axes[0], comparison, labels, names, ["deep_relationship_share"],
                  ["with at least one clinician"], scale=100)
    axes[0].set_ylabel("Patients likely to have a deep relationship (%)")
    axes[0].set_title("Deep relationships (95% intervals)", loc="left", fontsize=10)
    col = colours(labels)
    for i, lb in enumerate(labels):
        g = ugc[ugc["scenario"] == lb].groupby("consultations_with_usual_gp", sort=False)[
            "patients"].sum()
        share = g / g.sum()
        keys = g.index.astype(str)
        pooled = np.array([k.endswith("+") for k in keys])  # "10+": ten or more, pooled
        axes[1].plot(keys[~pooled], share[~pooled], color=col[lb], ms=5, lw=1.5,
                     label=names[lb], **_style(i))
        # The pooled bin holds every count from ten up, so it is not the next point of the
        # curve: drawn on its own, unjoined, so the line does not seem to turn up.
        axes[1].plot(keys[pooled], share[pooled], color=col[lb], ms=6, lw=0,
                     marker=_style(i).get("marker", "o"))
    axes[1].set_yscale("log")
    ticks = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
    axes[1].set_yticks(ticks, ["0.1%", "0.3%", "1%", "3%", "10%", "30%", "100%"])
    axes[1].yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[1].set_xlabel("Consultations with the usual GP in the year (10+: ten or more)")
    axes[1].set_ylabel("Share of patients (log scale)")
    axes[1].set_title("How often patients saw their usual GP", loc="left", fontsize=10)
    axes[1].grid(alpha=0.3)
    _legend_below(fig, *axes[1].get_legend_handles_labels())
    return _save(fig, Path(path))


def compare_emergency(comparison, labels, names, path) -> Path:
    """A&E attendances by channel and emergency admissions, per 1,000 a year, with intervals."""
    fig, ax = plt.subplots(figsize=(10, 5), dpi=110, layout="constrained")
    _bars_with_ci(ax, comparison, labels, names,
                  ["ae_access_per_1000", "ae_continuity_per_1000", "ae_per_1000",
                   "admissions_per_1000"],
                  ["A&E after failing to\nget an appointment", "A&E, background\n(scaled by "
                   "continuity)", "A&E, all", "Emergency\nadmissions"])
    ax.set_ylabel("Per 1,000 patients a year (95% interval)")
    ax.set_title("PROXIES for comparing approaches, not forecasts", loc="left", fontsize=10,
                 color="#a00")
    _legend_below(fig, *ax.get_legend_handles_labels())
    return _save(fig, Path(path))


def compare_tradeoff(comparison, labels, names, path) -> Path:
    """Continuity (SLICC) against the routine wait, one marker per approach keyed to the legend.

    Each approach keeps its colour and marker; its A&E proxy is given in the
    legend, so no label sits on the plot and none can overlap another.
    """
    col = colours(labels)
    fig, ax = plt.subplots(figsize=(9, 5.6), dpi=110, layout="constrained")
    c = comparison.set_index(["scenario", "metric"])
    for i, lb in enumerate(labels):
        x, y, z = (c.loc[(lb, m)] for m in ("routine_wait_mean_days", "slicc", "ae_per_1000"))
        ax.errorbar(x["mean"], y["mean"] * 100,
                    xerr=[[x["mean"] - x["low"]], [x["high"] - x["mean"]]],
                    yerr=[[(y["mean"] - y["low"]) * 100], [(y["high"] - y["mean"]) * 100]],
                    fmt=MARKERS[i % len(MARKERS)], color=col[lb], ms=9, mec="black",
                    capsize=3, label=f"{names[lb]} (A&E proxy {z['mean']:,.0f} per 1,000)")
    ax.set_xlabel("Average routine wait, days (95% interval); left is shorter")
    ax.set_ylabel("GP visits with the patient's own GP, SLICC (%)")
    ax.set_title("Continuity against waiting: up and to the left is better", loc="left",
                 fontsize=10)
    ax.grid(alpha=0.3)
    _legend_below(fig, *ax.get_legend_handles_labels(), ncol=1)
    return _save(fig, Path(path))


def compare_utilisation(util: pd.DataFrame, labels, names, path) -> Path:
    """Share of available slots booked, by role and scenario (all replications pooled)."""
    g = util.groupby(["scenario", "role"])[["available_slots", "booked_slots"]].sum()
    g = (g["booked_slots"] / g["available_slots"]).unstack("role")
    roles = list(g.columns)
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110, layout="constrained")
    width = 0.8 / max(len(labels), 1)
    col = colours(labels)
    x = np.arange(len(roles))
    for i, lb in enumerate(labels):
        ax.bar(x + (i - (len(labels) - 1) / 2) * width,
               g.loc[lb, roles].to_numpy(dtype=float) * 100, width, color=col[lb],
               label=names[lb])
    ax.set_xticks(x, [role_name(r) for r in roles])
    ax.set_ylim(0, 105)
    ax.set_ylabel("Available slots booked (%)")
    ax.grid(alpha=0.3, axis="y")
    _legend_below(fig, *ax.get_legend_handles_labels())
    return _save(fig, Path(path))


#: The panels of the month-by-month plot: metric, title, y-axis label, as a percentage.
MONTHLY_PANELS = (
    ("slicc", "GP visits with the list GP (SLICC)", "share of GP consultations", True),
    ("upc_rolling", "Continuity: UPC over the last year", "mean UPC (0-1)", False),
    ("team_continuity_rolling", "Consultations with the own micro-team", "share (last year)",
     True),
    ("routine_wait_mean_days", "Routine wait, mean", "days", False),
    ("routine_wait_p90_days", "Routine wait, 90th percentile", "days", False),
    ("same_day_share", "Appointments on the day booked", "share of appointments", True),
    ("ae_per_1000", "A&E attendances (PROXY)", "per 1,000 a year", False),
    ("utilisation", "Slots used", "share of available slots", True),
)


def _month_panel(ax, title: str, ylabel: str, percent: bool) -> None:
    """A month-by-month panel's title, axis label, percentages and grid."""
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylabel(ylabel)
    if percent:
        _percent_axis(ax)
    ax.grid(alpha=0.3)


def _month_ticks(bottom_row, months: list[str]) -> None:
    """Month labels on the bottom panels: at most about eight, turned to fit."""
    step = max(1, len(months) // 8)
    for ax in bottom_row:
        ax.set_xticks(range(0, len(months), step),
                      [months[i] for i in range(0, len(months), step)])
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)


def compare_monthly(monthly: pd.DataFrame, labels, names, path, changes=None) -> Path:
    """Each measure by month: mean over replications with its 95% band, change dates marked.

    ``monthly``: ``scenario, month, days, metric, mean, low, high`` (months with
    under 7 days in the window are left out); ``changes``: label -> dates.
    """
    col = _colours(labels)
    fig, axes = plt.subplots(4, 2, figsize=(11, 12.5), dpi=100, sharex=True,
                             layout="constrained")
    m = monthly[monthly["days"] >= 7]
    months = sorted(m["month"].unique())
    x_of = {mo: i for i, mo in enumerate(months)}
    for ax, (metric, title, ylabel, percent) in zip(axes.ravel(), MONTHLY_PANELS, strict=True):
        rows = m[m["metric"] == metric]
        for i, lb in enumerate(labels):
            r = rows[rows["scenario"] == lb].sort_values("month")
            if not len(r):
                continue
            x = [x_of[mo] for mo in r["month"]]
            ax.plot(x, r["mean"], color=col[lb], lw=1.6, ms=3, label=names[lb], **_style(i))
            ax.fill_between(x, r["low"], r["high"], color=col[lb], alpha=0.15, lw=0)
        for lb, dates in (changes or {}).items():
            for date in dates:
                month = date[:7]
                if month in x_of:
                    ax.axvline(x_of[month], color=col.get(lb, "grey"), ls="--", lw=1)
        _month_panel(ax, title, ylabel, percent)
    _month_ticks(axes[-1], months)
    handles, texts = axes[0, 0].get_legend_handles_labels()
    if changes and any(changes.values()):
        handles.append(matplotlib.lines.Line2D([], [], color="grey", ls="--"))
        texts.append("a policy changes (month)")
    _legend_below(fig, handles, texts)
    return _save(fig, Path(path))


#: The measures drawn for every practice of a network, side by side (small multiples).
PRACTICE_PANELS = ("slicc", "upc_mean", "routine_wait_mean_days", "urgent_same_day_share",
                   "ae_per_1000", "utilisation")


#: Up to this many practices a network's figure gives each practice its own named row;
#: beyond it each panel ranks the practices (a caterpillar plot) in a figure of one size,
#: as a row per practice would make the figure, and the time to draw it, grow with the
#: network (400 practices: 24,000 pixels tall and 4 s to draw).
PRACTICES_NAMED = 50


def _panels_by_hand(n_panels: int, ncol: int, axis_h: float, left: float, legend_rows: int,
                    width: float = 12.0):
    """A figure of ``n_panels`` axes, ``ncol`` a row, laid out in inches without a layout engine.

    Each row of panels has room for a two-line title above and tick labels below; the
    first column's y labels get ``left`` inches; the legend has ``legend_rows`` rows at
    the bottom. (matplotlib's constrained layout draws the figure once more to measure
    it: a quarter of a large figure's time.)
    """
    title_h, ticks_h, top, gap, right = 0.5, 0.35, 0.1, 0.3, 0.25
    bottom = 0.2 + 0.22 * legend_rows
    nrow = -(-n_panels // ncol)
    row_h = title_h + axis_h + ticks_h
    height = top + nrow * row_h + bottom
    fig = plt.figure(figsize=(width, height), dpi=100)
    w = (width - left - right - gap * (ncol - 1)) / ncol
    axes = []
    for i in range(nrow * ncol):
        r, c = divmod(i, ncol)
        x0 = left + c * (w + gap)
        y0 = height - top - r * row_h - title_h - axis_h
        axes.append(fig.add_axes((x0 / width, y0 / height, w / width, axis_h / height)))
    return fig, axes


def _row_names(ax, rows, names, size: float = 8) -> None:
    """Each row's name and tick mark left of ``ax``, drawn as y ticks are, but not as ticks.

    A tick is several artists (its mark, its label, its grid line) made and
    drawn one by one. Here the marks are one line of markers and the names
    plain texts, in the places and sizes matplotlib gives ticks: the same
    pixels, with a third fewer of matplotlib's calls for a 40-practice network
    (about 0.05 s of the 0.45 to 0.5 s the figure takes; it is the last thing a
    network's command waits for).
    """
    import matplotlib.transforms as mtransforms

    rc = matplotlib.rcParams
    at_axis = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
    ax.plot(np.zeros(len(rows)), rows, transform=at_axis, marker=matplotlib.lines.TICKLEFT,
            ls="none", ms=rc["ytick.major.size"], mew=rc["ytick.major.width"],
            color=rc["ytick.color"], clip_on=False)
    # a tick label sits the tick's length and its pad (in points) left of the axis
    points = rc["ytick.major.size"] + rc["ytick.major.pad"]
    place = at_axis + mtransforms.ScaledTranslation(-points / 72, 0, ax.figure.dpi_scale_trans)
    colour = rc["ytick.color"] if rc["ytick.labelcolor"] == "inherit" else rc["ytick.labelcolor"]
    for row, name in zip(rows, names, strict=True):
        ax.text(0, row, str(name), transform=place, ha="right", va="center_baseline",
                fontsize=size, color=colour)


def compare_practices(practices: pd.DataFrame, labels, names, path,
                      reference: tuple[str, dict[str, float]] | None = None) -> Path:
    """Each practice of the compared networks, as small multiples.

    Key measures, the mean over replications and its 95% interval, one colour
    and marker per compared network. ``reference``: a name and a value per
    measure drawn as a dashed line in each panel (the network as a whole).
    Up to :data:`PRACTICES_NAMED` practices, a named row each, in the networks'
    order; more, and each panel ranks them by the first network's means,
    highest at the top, in a figure whose size does not grow with the network.
    """
    from .labels import measure
    from .stats import mean_ci

    col = colours(labels)
    shown = [lb for lb in labels if lb in set(practices["scenario"])]
    ids = list(dict.fromkeys(practices["practice_id"]))
    named = len(ids) <= PRACTICES_NAMED
    panels = [m for m in PRACTICE_PANELS if m in practices.columns]
    ncol = 3
    texts = [names[lb] for lb in shown] + ([reference[0]] if reference is not None else [])
    legend_cols, legend_rows = _legend_shape(texts)
    if named:
        # Room for the longest practice name, measured as matplotlib will draw it.
        probe = plt.figure(dpi=100)
        renderer = probe.canvas.get_renderer()
        font = FontProperties(size=8)
        widest = max(renderer.get_text_width_height_descent(str(p), font, ismath=False)[0]
                     for p in ids)
        plt.close(probe)
        left = min(widest / 100 + 0.2, 4.0)  # a name longer than 4 inches is cut short
    else:
        left = 0.6
    # One practice per row: 0.3 inches each when named; a fixed 4.5 inches when ranked.
    fig, axes = _panels_by_hand(len(panels), ncol,
                                0.3 * len(ids) if named else 4.5, left, legend_rows)
    # each network's rows of each practice, found once for every panel
    scenario, practice = practices["scenario"].to_numpy(), practices["practice_id"].to_numpy()
    where = {lb: [np.flatnonzero((scenario == lb) & (practice == pid)) for pid in ids]
             for lb in shown}
    step = 0.7 / max(len(shown), 1) if named else 0.0
    for k, (ax, m) in enumerate(zip(axes, panels, strict=False)):
        scale = 100 if measure(m).kind == "share" else 1
        values = practices[m].to_numpy(dtype=float)
        stats = {lb: np.array([mean_ci(values[rows])[:3] for rows in where[lb]], dtype=float)
                 * scale for lb in shown}
        if named:
            row_of = np.arange(len(ids))
        else:  # ranked by the first network's means, highest first (missing ones last)
            first = stats[shown[0]][:, 0] if shown else np.zeros(len(ids))
            order = np.argsort(-np.nan_to_num(first, nan=-np.inf), kind="stable")
            row_of = np.empty(len(ids), dtype=int)
            row_of[order] = np.arange(len(ids))
        for i, lb in enumerate(shown):
            mean, low, high = stats[lb].T
            err = np.nan_to_num(np.vstack([mean - low, high - mean]))
            y = row_of + (i - (len(shown) - 1) / 2) * step
            ax.errorbar(mean, y, xerr=err, fmt=MARKERS[i % len(MARKERS)], color=col[lb],
                        ms=5 if named else 2.5, capsize=2 if named else 0,
                        elinewidth=None if named else 0.6, ls="none", label=names[lb])
        if reference is not None and m in reference[1]:
            ax.axvline(reference[1][m] * scale, color="#d95f02", ls="--", lw=1,
                       label=reference[0])
        ax.set_ylim(len(ids) - 0.5, -0.5)  # the first practice (or the highest) at the top
        if named:
            # Each row's faint line is one collection: a tick (and grid line) per practice
            # in every panel doubled the drawing time of a 40-practice network.
            ax.hlines(row_of, 0, 1, transform=ax.get_yaxis_transform(), color="#b0b0b0",
                      alpha=0.3, lw=0.5, zorder=0)
            ax.set_yticks([])
            if k % ncol == 0:  # names once a row
                _row_names(ax, row_of, ids)
        else:
            ranks = [1, *(int(r) for r in matplotlib.ticker.MaxNLocator(
                nbins=4, integer=True).tick_values(1, len(ids)) if 1 < r <= len(ids))]
            ax.set_yticks([r - 1 for r in ranks], [f"{r}" for r in ranks])
            ax.tick_params(axis="y", labelsize=8, labelleft=k % ncol == 0)
            if k % ncol == 0:
                ax.set_ylabel("rank", fontsize=8)
        heading = measure(m).heading
        ax.set_title(_wrap(heading, 42), loc="left", fontsize=9,
                     color="#a00" if "PROXY" in heading else "black")
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(axis="x", labelsize=8)
    for ax in axes[len(panels):]:
        ax.axis("off")
    handles, found = axes[0].get_legend_handles_labels()
    fig.legend(handles, found, loc="lower center", bbox_to_anchor=(0.5, 0.1 / fig.get_figheight()),
               ncol=legend_cols, fontsize=9, frameon=False)
    return _save(fig, Path(path), laid_out=True)


#: What a rollout's month-by-month plot shows for each practice.
ROLLOUT_PANELS = (
    ("slicc", "GP visits with the list GP (SLICC)", "share of GP consultations", True),
    ("team_continuity_rolling", "Consultations with the own micro-team (last year)",
     "share of consultations", True),
    ("routine_wait_mean_days", "Routine wait, mean", "days", False),
    ("same_day_share", "Appointments on the day booked (same-day access)",
     "share of appointments", True),
)


def rollout_monthly(monthly: pd.DataFrame, waves: dict[str, list[str]], path,
                    changes: dict[str, str]) -> Path:
    """Each practice month by month, coloured by wave, with each wave's change marked.

    ``monthly``: ``practice_id, month, days`` and the measures (one replication);
    ``waves``: wave name -> its practices, in order; ``changes``: wave name -> the
    date its practices changed approach (none for practices that never change).
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.6), dpi=100, sharex=True,
                             layout="constrained")
    m = monthly[monthly["days"] >= 7]
    months = sorted(m["month"].unique())
    x_of = {mo: i for i, mo in enumerate(months)}
    handles = {}
    for ax, (metric, title, ylabel, percent) in zip(axes.ravel(), ROLLOUT_PANELS, strict=True):
        for w, (wave, pids) in enumerate(waves.items()):
            colour = PALETTE[w % len(PALETTE)]
            for j, pid in enumerate(pids):
                r = m[m["practice_id"] == pid].sort_values("month")
                line, = ax.plot([x_of[mo] for mo in r["month"]], r[metric], color=colour,
                                lw=1.4, ls=LINESTYLES[j % len(LINESTYLES)],
                                marker=MARKERS[j % len(MARKERS)], ms=3)
                handles.setdefault(f"{pid} ({wave})", line)
            date = changes.get(wave)
            if date and date[:7] in x_of:
                ax.axvline(x_of[date[:7]], color=colour, ls="--", lw=1)
        _month_panel(ax, title, ylabel, percent)
    _month_ticks(axes[-1], months)
    texts = list(handles)
    lines = list(handles.values())
    if changes:
        lines.append(matplotlib.lines.Line2D([], [], color="grey", ls="--"))
        texts.append("the wave changes approach (its colour)")
    _legend_below(fig, lines, texts)
    return _save(fig, Path(path))
