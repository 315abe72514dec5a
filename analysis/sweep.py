"""A sweep's aggregates: the tidy table, metric-against-parameter plots and the report.

Reads only what the sweep stored (``runs/<key>/*.parquet``); never simulates.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .compare import DATA_TABLES, collect, write_comparison
from .plots import PALETTE
from .report import HEADLINE, render
from .stats import mean_ci
from .summary import SUMMARY_COLUMNS


def tidy_table(sweep, runs: list) -> pd.DataFrame:
    """One row per finished run: point label, swept parameters, replication, every metric."""
    rows = []
    for point, k, summary in runs:
        row = {"point": point.label, **point.values}
        if "variant" in sweep.swept:
            row["variant"] = point.variant
        row["replication"] = k
        row.update(summary.iloc[0].to_dict())
        rows.append(row)
    cols = ["point", *sweep.swept, "replication",
            *[c for c in SUMMARY_COLUMNS if c not in sweep.swept]]
    return pd.DataFrame(rows, columns=cols)


def sweep_plots(tidy: pd.DataFrame, swept: list[str], folder: Path) -> list[Path]:
    """For each swept parameter, the headline metrics against it (mean, 95% interval).

    One line per combination of the other swept parameters (for example one
    per policy); replications are averaged.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    metrics = [(m, label) for m, label, _, _ in HEADLINE]
    for param in swept:
        others = [p for p in swept if p != param]
        xs = list(dict.fromkeys(tidy[param].tolist()))
        numeric = all(isinstance(x, (int, float, np.number)) for x in xs)
        pos = {x: (float(x) if numeric else i) for i, x in enumerate(xs)}
        n = len(metrics)
        ncol = 5
        fig, axes = plt.subplots((n + ncol - 1) // ncol, ncol, figsize=(18, 7.5), dpi=100,
                                 squeeze=False)
        groups = tidy.groupby(others, sort=False) if others else [((), tidy)]
        for gi, (key, g) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            name = ", ".join(f"{o}={v}" for o, v in zip(others, key, strict=True)) or "all"
            colour = PALETTE[gi % len(PALETTE)]
            for ax, (m, _label) in zip(axes.flat, metrics, strict=False):
                pts = []
                for x in xs:
                    mean, low, high, _ = mean_ci(g.loc[g[param] == x, m])
                    pts.append((pos[x], mean, low, high))
                p = np.array(pts, dtype=float)
                ax.errorbar(p[:, 0], p[:, 1], yerr=np.nan_to_num(
                    np.vstack([p[:, 1] - p[:, 2], p[:, 3] - p[:, 1]])), marker="o", capsize=3,
                    color=colour, label=name)
        for ax, (_m, label) in zip(axes.flat, metrics, strict=False):
            ax.set_title(textwrap.fill(label, 45), fontsize=8,
                         color="#a00" if "PROXY" in label else "black")
            ax.set_xlabel(param, fontsize=8)
            if not numeric:
                ax.set_xticks(range(len(xs)), [str(x) for x in xs], fontsize=7, rotation=20)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"Headline measures against {param} (mean and 95% interval over "
                     "replications; A&E and admissions are proxies)", fontsize=11)
        fig.tight_layout()
        path = folder / f"sweep_{param.replace('.', '_')}.png"
        fig.savefig(path, format="png")
        plt.close(fig)
        paths.append(path)
    return paths


def write_aggregates(stage: Path, sweep, out: Path, read_runs, parameter_rows, resolved_yaml,
                     meta: dict) -> pd.DataFrame:
    """Write the tidy table, the sweep plots and the comparison report into ``stage``.

    ``read_runs(sweep, out, table)`` reads a stored table of every finished run.
    """
    summaries = read_runs(sweep, out, "runs")
    tidy = tidy_table(sweep, summaries)
    tidy.to_parquet(stage / "sweep.parquet", index=False)
    tidy.to_csv(stage / "sweep.csv", index=False)
    sweep_plots(tidy, sweep.swept, stage / "plots")
    finished = {p.label for p, _, _ in summaries}
    points = [p for p in sweep.points if p.label in finished]
    if not points:
        return tidy
    reduced: dict[tuple[str, int], dict] = {}
    for name in DATA_TABLES:
        for p, k, df in read_runs(sweep, out, name):
            reduced.setdefault((p.label, k), {})[name] = df
    complete = [(lb, k, t) for (lb, k), t in reduced.items() if len(t) == len(DATA_TABLES)]
    labels = [p.label for p in points]
    data = collect(complete, labels)
    params = pd.DataFrame([{"scenario": p.label, **row} for p in points
                           for row in parameter_rows(p.scenario)])
    report = stage / "report"
    report.mkdir()
    write_comparison(report, data, labels, {p.label: p.description for p in points},
                     {p.label: resolved_yaml(p.scenario) for p in points}, params,
                     {**meta, "replications": int(tidy.groupby("point").size().max())})
    render(report)
    return tidy
