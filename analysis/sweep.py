"""A sweep's aggregates: the tidy table, metric-against-parameter plots and the report.

Reads only what the sweep stored (``runs/<key>/*.parquet``); never simulates.
"""

from __future__ import annotations

import os
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.files.csv_safe import write_csv
from sim.processes import end_with_parent

from .compare import DATA_TABLES, stack_runs, write_comparison
from .labels import HEADLINE_GROUPS, measure, parameter_name, value_name
from .plots import PALETTE
from .report import render
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
    """For each swept parameter, the headline measures against it (mean, 95% interval).

    One series per combination of the other swept parameters (for example one
    per policy); replications are averaged. A numeric parameter is drawn as
    lines; a categorical one (a policy name) as points side by side, with no
    line between categories.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    metrics = [m for group in HEADLINE_GROUPS.values() for m in group if m in tidy.columns]
    for param in swept:
        others = [p for p in swept if p != param]
        xs = list(dict.fromkeys(tidy[param].tolist()))
        numeric = all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool)
                      for x in xs)
        pos = {x: (float(x) if numeric else i) for i, x in enumerate(xs)}
        ncol = 4
        nrow = (len(metrics) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(16, 3.4 * nrow + 1), dpi=100,
                                 squeeze=False, layout="constrained")
        groups = list(tidy.groupby(others, sort=False)) if others else [((), tidy)]
        width = 0.6 / max(len(groups), 1)
        for gi, (key, g) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            name = "; ".join(f"{parameter_name(o)}: {value_name(v)}"
                             for o, v in zip(others, key, strict=True)) or "all"
            colour = PALETTE[gi % len(PALETTE)]
            shift = 0.0 if numeric else (gi - (len(groups) - 1) / 2) * width
            for ax, m in zip(axes.flat, metrics, strict=False):
                scale = 100 if measure(m).kind == "share" else 1
                pts = []
                for x in xs:
                    mean, low, high, _ = mean_ci(g.loc[g[param] == x, m])
                    pts.append((pos[x] + shift, mean * scale, low * scale, high * scale))
                p = np.array(pts, dtype=float)
                ax.errorbar(p[:, 0], p[:, 1], yerr=np.nan_to_num(
                    np.vstack([p[:, 1] - p[:, 2], p[:, 3] - p[:, 1]])), marker="o", capsize=3,
                    color=colour, label=name, ls="-" if numeric else "none", ms=5)
        for ax, m in zip(axes.flat, metrics, strict=False):
            heading = measure(m).heading
            ax.set_title(textwrap.fill(heading, 38), fontsize=9, loc="left",
                         color="#a00" if "PROXY" in heading else "black")
            ax.set_xlabel(parameter_name(param), fontsize=9)
            if not numeric:
                ax.set_xticks(range(len(xs)), [textwrap.fill(value_name(x), 14) for x in xs],
                              fontsize=8)
                ax.set_xlim(-0.5, len(xs) - 0.5)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(metrics):]:
            ax.axis("off")
        handles, texts = axes.flat[0].get_legend_handles_labels()
        if len(texts) > 1:
            fig.legend(handles, texts, loc="outside lower center",
                       ncol=min(len(texts), 4), fontsize=9, frameon=False)
        fig.suptitle(f"Headline measures against {parameter_name(param)} (mean and 95% "
                     "interval over replications; A&E and admissions are proxies)", fontsize=11)
        path = folder / f"sweep_{param.replace('.', '_')}.png"
        fig.savefig(path, format="png")
        plt.close(fig)
        paths.append(path)
    return paths


def point_name(point) -> str:
    """A sweep point as a person reads it: ``booking approach: access-first; ...``."""
    bits = ([f"variant {point.variant}"] if point.variant else []) + [
        f"{parameter_name(k)}: {value_name(v)}" for k, v in point.values.items()]
    return "; ".join(bits) or "the base scenario"


def _lead(sweep, points) -> str:
    """What the sweep's points vary, for the report's first line."""
    varied = [parameter_name(k) for k in sweep.swept if k != "variant"]
    if "variant" in sweep.swept:
        varied.append("named variants")
    what = ", ".join(varied[:-1]) + f" and {varied[-1]}" if len(varied) > 1 else "".join(varied)
    return (f"{len(points)} points varying {what or 'nothing'}, each from {sweep.spec.base} "
            "(in the tables and plots below each point is one approach).")


def _stacked_runs(sweep, out: Path, read_runs, labels: list[str]) -> dict[str, pd.DataFrame]:
    """Each stored table of every complete run, stacked (:func:`analysis.compare.stack_runs`).

    One table at a time, each run's piece released once stacked, so a large
    sweep holds its tables once rather than twice (the stored runs and the stack).
    """
    rank = {label: i for i, label in enumerate(labels)}
    data, keys = {}, None
    for name in DATA_TABLES:
        got = [(p.label, k, df) for p, k, df in read_runs(sweep, out, name) if p.label in rank]
        present = {(label, k) for label, k, _ in got}
        keys = present if keys is None else keys & present
        data[name] = stack_runs(got, rank, copy=False) if got else None
        del got
    # Only runs with every table (a run stored in full); normally all of them.
    for name, df in data.items():
        if df is not None and len(keys) < df.groupby(["scenario", "replication"]).ngroups:
            pairs = pd.MultiIndex.from_frame(df[["scenario", "replication"]])
            data[name] = df[pairs.isin(list(keys))].reset_index(drop=True)
    return data


def write_aggregates(stage: Path, sweep, out: Path, read_runs, parameter_rows, resolved_yaml,
                     meta: dict) -> pd.DataFrame:
    """Write the tidy table, the sweep plots and the comparison report into ``stage``.

    ``read_runs(sweep, out, table)`` reads a stored table of every finished run.
    """
    summaries = read_runs(sweep, out, "runs")
    tidy = tidy_table(sweep, summaries)
    tidy.to_parquet(stage / "sweep.parquet", index=False)
    write_csv(tidy, stage / "sweep.csv", index=False)
    # The sweep's own plots are drawn in another process while this one writes and draws
    # the comparison report (a third of a 100-run sweep's time, done side by side).
    with ProcessPoolExecutor(max_workers=1, initializer=end_with_parent,
                             initargs=(os.getpid(),)) as pool:
        plots = pool.submit(sweep_plots, tidy, sweep.swept, stage / "plots")
        _write_report(stage, sweep, out, read_runs, parameter_rows, resolved_yaml, meta,
                      tidy, {p.label for p, _, _ in summaries})
        plots.result()
    return tidy


def _write_report(stage: Path, sweep, out: Path, read_runs, parameter_rows, resolved_yaml,
                  meta: dict, tidy: pd.DataFrame, finished: set[str]) -> None:
    """The comparison report of the sweep's finished points, into ``stage/report``."""
    points = [p for p in sweep.points if p.label in finished]
    if not points:
        return
    labels = [p.label for p in points]
    data = _stacked_runs(sweep, out, read_runs, labels)
    params = pd.DataFrame([{"scenario": p.label, **row} for p in points
                           for row in parameter_rows(p.scenario)])
    report = stage / "report"
    report.mkdir()
    write_comparison(report, data, labels, {p.label: point_name(p) for p in points},
                     {p.label: resolved_yaml(p.scenario) for p in points}, params,
                     {**meta, "replications": int(tidy.groupby("point").size().max()),
                      "lead": _lead(sweep, points)})
    del data  # the report reads what was just written; the stack need not be held twice
    render(report, side_by_side=True)  # run by the command line (sweeps are not in the app)
