"""Plots of one run's results (PNG, matplotlib's non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd


def wait_distribution(appointments: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Empirical CDF of days from first request to appointment, urgent and routine.

    Only appointments in the observation window that were attended or missed
    are shown (cancelled ones are not).
    """
    a = appointments[appointments["in_window"].to_numpy(dtype=bool)]
    a = a[a["status"].isin(["attended", "dna"])]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for urgency, colour in (("urgent", "#c0392b"), ("routine", "#2c7fb8")):
        w = np.sort(a.loc[a["urgency"] == urgency, "wait_days"].to_numpy(dtype=float))
        if w.size == 0:
            continue
        y = np.arange(1, w.size + 1) / w.size
        n = w.size
        if n > 4000:  # draw the curve through 4,000 of its points: the same picture, faster
            keep = np.unique(np.linspace(0, n - 1, 4000).round().astype(np.int64))
            w, y = w[keep], y[keep]
        ax.step(w, y, where="post", color=colour, label=f"{urgency} (n = {n:,})")
    ax.axvline(14, color="grey", lw=0.8, ls="--")
    ax.text(14.2, 0.03, "2 weeks", color="grey", fontsize=8)
    ax.set_xlabel("Days from first request to appointment")
    ax.set_ylabel("Share of appointments seen within")
    ax.set_ylim(0, 1.01)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title or "Wait from request to appointment")
    fig.tight_layout()
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


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def colours(labels):
    """One colour per approach, by its place in the comparison: the same on every plot and page."""
    return {lb: PALETTE[i % len(PALETTE)] for i, lb in enumerate(labels)}


_colours = colours


def compare_waits(waits: pd.DataFrame, labels, names, path) -> Path:
    """ECDF of waits by scenario, urgent and routine (all replications pooled)."""
    col = _colours(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), dpi=110)
    for ax, urgency, xmax in ((axes[0], "urgent", 3), (axes[1], "routine", 42)):
        for lb in labels:
            w = np.sort(waits.loc[(waits["scenario"] == lb) & (waits["urgency"] == urgency),
                                  "wait_days"].to_numpy(dtype=float))
            if w.size:
                ax.step(w, np.arange(1, w.size + 1) / w.size, where="post", color=col[lb],
                        label=names[lb])
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("Days from first request to appointment")
        ax.set_ylabel("Share of appointments seen within")
        ax.set_title(f"{urgency.capitalize()} requests")
        ax.grid(alpha=0.3)
    axes[1].axvline(14, color="grey", lw=0.8, ls="--")
    axes[1].legend(loc="lower right", fontsize=8)
    return _save(fig, Path(path))


def compare_continuity(pc: pd.DataFrame, labels, names, path) -> Path:
    """Distribution of per-patient UPC, COC and SECON by scenario (patients with 3+ GP visits)."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), dpi=110, sharey=True)
    for ax, idx, title in zip(axes, ("upc", "coc", "secon"), ("UPC", "COC (Bice-Boxerman)",
                                                             "SECON"), strict=True):
        data = [pc.loc[pc["scenario"] == lb, idx].dropna().to_numpy(dtype=float) for lb in labels]
        ax.boxplot(data, tick_labels=[names[lb] for lb in labels], showfliers=False,
                   **_HORIZONTAL)
        ax.set_xlabel(f"{title} per patient (0 to 1)")
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_title("Continuity per patient (GP visits, patients with 3+)", loc="left",
                      fontsize=10)
    return _save(fig, Path(path))


def compare_slicc_by_month(sm: pd.DataFrame, labels, names, path) -> Path:
    """SLICC by calendar month, mean over replications, one line per scenario."""
    col = _colours(labels)
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=110)
    for lb in labels:
        g = sm[sm["scenario"] == lb].groupby("month")[["with_usual", "visits"]].sum()
        if len(g):
            ax.plot(g.index.astype(str), g["with_usual"] / g["visits"], marker="o", ms=3,
                    color=col[lb], label=names[lb])
    ax.set_ylim(0, 1)
    ax.set_xlabel("Month")
    ax.set_ylabel("SLICC: share of GP consultations with the list GP")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def _bars_with_ci(ax, comparison, labels, names, metrics, metric_names, colours=None):
    width = 0.8 / max(len(labels), 1)
    x = np.arange(len(metrics))
    col = colours or _colours(labels)
    for i, lb in enumerate(labels):
        rows = comparison[comparison["scenario"] == lb].set_index("metric").reindex(metrics)
        mean = rows["mean"].to_numpy(dtype=float)
        err = np.vstack([mean - rows["low"].to_numpy(dtype=float),
                         rows["high"].to_numpy(dtype=float) - mean])
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, mean, width, color=col[lb],
               label=names[lb], yerr=np.nan_to_num(err), capsize=3)
    ax.set_xticks(x, metric_names)
    ax.grid(alpha=0.3, axis="y")


def compare_depth(comparison, ugc: pd.DataFrame, labels, names, path) -> Path:
    """Expected share with a deep relationship (with 95% intervals), and GP-visit counts."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    _bars_with_ci(axes[0], comparison, labels, names, ["deep_relationship_share"],
                  ["deep relationship with at least one clinician"])
    axes[0].set_ylabel("Expected share of patients (95% interval)")
    axes[0].legend(fontsize=8)
    col = _colours(labels)
    for lb in labels:
        g = ugc[ugc["scenario"] == lb].groupby("consultations_with_usual_gp", sort=False)[
            "patients"].sum()
        axes[1].plot(g.index.astype(str), g / g.sum(), marker="o", color=col[lb],
                     label=names[lb])
    axes[1].set_yscale("log")
    axes[1].set_xlabel("Consultations with the usual GP in the window")
    axes[1].set_ylabel("Share of patients (log scale)")
    axes[1].grid(alpha=0.3)
    return _save(fig, Path(path))


def compare_emergency(comparison, labels, names, path) -> Path:
    """A&E attendances by channel and emergency admissions, per 1,000 a year, with intervals."""
    fig, ax = plt.subplots(figsize=(9, 4.4), dpi=110)
    _bars_with_ci(ax, comparison, labels, names,
                  ["ae_access_per_1000", "ae_continuity_per_1000", "ae_per_1000",
                   "admissions_per_1000"],
                  ["A&E: access channel", "A&E: continuity channel", "A&E: all",
                   "emergency admissions"])
    ax.set_ylabel("Per 1,000 patients per year (95% interval)")
    ax.set_title("PROXIES for comparing policies, not forecasts", fontsize=10, color="#a00")
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def compare_tradeoff(comparison, labels, names, path) -> Path:
    """Routine wait against continuity (UPC), coloured by A&E per 1,000 (proxy)."""
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    c = comparison.set_index(["scenario", "metric"])
    xs, ys, zs = [], [], []
    for lb in labels:
        x, y, z = (c.loc[(lb, m)] for m in ("routine_wait_mean_days", "upc_mean", "ae_per_1000"))
        ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["low"]], [x["high"] - x["mean"]]],
                    yerr=[[y["mean"] - y["low"]], [y["high"] - y["mean"]]], fmt="none",
                    ecolor="grey", capsize=3, zorder=1)
        ax.annotate(names[lb], (x["mean"], y["mean"]), xytext=(6, 6),
                    textcoords="offset points", fontsize=8)
        xs.append(x["mean"])
        ys.append(y["mean"])
        zs.append(z["mean"])
    sc = ax.scatter(xs, ys, c=zs, cmap="viridis_r", s=90, zorder=2, edgecolor="black")
    fig.colorbar(sc, ax=ax, label="A&E attendances per 1,000 a year (PROXY)")
    ax.set_xlabel("Mean routine wait, days (95% interval)")
    ax.set_ylabel("Mean UPC, GP visits, patients with 3+ (95% interval)")
    ax.set_title("Trade-off: waiting against continuity")
    ax.grid(alpha=0.3)
    return _save(fig, Path(path))


def compare_utilisation(util: pd.DataFrame, labels, names, path) -> Path:
    """Share of available slots booked, by role and scenario (all replications pooled)."""
    g = util.groupby(["scenario", "role"])[["available_slots", "booked_slots"]].sum()
    g = (g["booked_slots"] / g["available_slots"]).unstack("role")
    roles = list(g.columns)
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    width = 0.8 / max(len(labels), 1)
    col = _colours(labels)
    x = np.arange(len(roles))
    for i, lb in enumerate(labels):
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, g.loc[lb, roles].to_numpy(dtype=float),
               width, color=col[lb], label=names[lb])
    ax.set_xticks(x, [r.replace("_", " ") for r in roles])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("Share of available slots booked")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
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


def compare_monthly(monthly: pd.DataFrame, labels, names, path, changes=None) -> Path:
    """Each measure by month: mean over replications with its 95% band, change dates marked.

    ``monthly``: ``scenario, month, days, metric, mean, low, high`` (months with
    under 7 days in the window are left out); ``changes``: label -> dates.
    """
    col = _colours(labels)
    fig, axes = plt.subplots(4, 2, figsize=(11, 12), dpi=100, sharex=True)
    m = monthly[monthly["days"] >= 7]
    months = sorted(m["month"].unique())
    x_of = {mo: i for i, mo in enumerate(months)}
    for ax, (metric, title, ylabel, percent) in zip(axes.ravel(), MONTHLY_PANELS, strict=True):
        rows = m[m["metric"] == metric]
        for lb in labels:
            r = rows[rows["scenario"] == lb].sort_values("month")
            if not len(r):
                continue
            x = [x_of[mo] for mo in r["month"]]
            ax.plot(x, r["mean"], color=col[lb], lw=1.6, marker="o", ms=2.5, label=names[lb])
            ax.fill_between(x, r["low"], r["high"], color=col[lb], alpha=0.15, lw=0)
        for lb, dates in (changes or {}).items():
            for date in dates:
                month = date[:7]
                if month in x_of:
                    ax.axvline(x_of[month], color=col.get(lb, "grey"), ls="--", lw=1)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        if percent:
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.grid(alpha=0.3)
    step = max(1, len(months) // 8)
    for ax in axes[-1]:
        ax.set_xticks(range(0, len(months), step), [months[i] for i in range(0, len(months),
                                                                              step)])
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    handles, texts = axes[0, 0].get_legend_handles_labels()
    if changes and any(changes.values()):
        handles.append(matplotlib.lines.Line2D([], [], color="grey", ls="--"))
        texts.append("a policy changes (month)")
    fig.legend(handles, texts, loc="lower center", ncol=min(len(texts), 3), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(Path(path), format="png")
    plt.close(fig)
    return Path(path)
