"""A sweep's aggregates: the tidy table, metric-against-parameter plots and the report.

Reads only what the sweep stored (``runs/<key>/*.parquet``); never simulates.
Matplotlib and the report's code are imported only where they draw: a sweep's
workers use :func:`digest_tables` without them, and the command imports them
while the runs go on (:data:`DRAWING`).
"""

from __future__ import annotations

import os
import textwrap
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sim.files.csv_safe import write_csv
from sim.inputs.sweeps import REPORT_POINTS, Point
from sim.processes import (
    UnguardedMain,
    end_with_parent,
    refuse_to_run_main_again,
    usable_cores,
    worker_context,
)

from .compare import DATA_TABLES, SPREADS, stack_runs, write_comparison
from .labels import HEADLINE_GROUPS, measure, parameter_name, value_name
from .spread import IndexValues, WaitsWithin
from .stats import mean_ci
from .summary import SUMMARY_COLUMNS

#: The modules that draw a sweep's figures and report (matplotlib among them).
DRAWING = ("analysis.plots", "analysis.report")

#: The most series a sweep plot draws against one parameter (one per combination of the
#: others, a colour each); beyond, each value's mean over the combinations, with their range.
SERIES_DRAWN = 10

#: The most values of a named parameter (a policy, a variant) written across a sweep
#: plot's x axis; more are turned upright.
CATEGORIES_ACROSS = 6


def tidy_table(sweep, totals: SweepTotals) -> pd.DataFrame:
    """One row per finished run: point label, swept parameters, replication, every metric.

    The runs come in the sweep's order (:meth:`sim.inputs.sweeps.Sweep.runs`),
    their measures taken from the runs' joined summary rows at once (a row
    picked and turned into a dict per run cost about 0.35 ms a run: 0.35 s of a
    1,000-point sweep's tail).
    """
    picked, rows = totals.summaries(sweep)
    metrics = [c for c in SUMMARY_COLUMNS if c not in sweep.swept]
    if not picked:  # no run finished (every one failed)
        return pd.DataFrame([], columns=["point", *sweep.swept, "replication", *metrics])
    front = {"point": [p.label for p, _ in picked]}
    for key in sweep.swept:
        front[key] = [p.variant if key == "variant" else p.values[key] for p, _ in picked]
    front["replication"] = [k for _, k in picked]
    # In the measures' common type, as a row taken at a time gave them: every count a
    # float, as sweep.csv has always written them.
    measures = pd.DataFrame(rows.reindex(columns=metrics).to_numpy(), columns=metrics)
    return pd.concat([pd.DataFrame(front), measures.infer_objects()], axis=1)


def sweep_plots(tidy: pd.DataFrame, swept: list[str], folder: Path) -> list[Path]:
    """For each swept parameter, the headline measures against it (mean, 95% interval).

    One series per combination of the other swept parameters (for example one
    per policy); replications are averaged. A numeric parameter is drawn as
    lines; a categorical one (a policy name) as points side by side, with no
    line between categories. Where the other parameters have more than
    :data:`SERIES_DRAWN` combinations, one series instead: each value's mean
    over the combinations' own means, its bar from the lowest of them to the
    highest (a main-effects plot). With one run a point there are no intervals,
    and the title says so.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return [sweep_plot(tidy, swept, param, folder) for param in swept]


def sweep_plot(tidy: pd.DataFrame, swept: list[str], param: str, folder: Path) -> Path:
    """:func:`sweep_plots`' figure against ``param`` (one of ``swept``), into ``folder``.

    Each figure is whole in itself, so a sweep's are drawn side by side, in as
    many processes as there are cores (:func:`write_aggregates`).
    """
    from .plots import PALETTE, _save, plt  # (plots chooses the Agg backend first)

    metrics = [m for group in HEADLINE_GROUPS.values() for m in group if m in tidy.columns]
    others = [p for p in swept if p != param]
    xs = list(dict.fromkeys(tidy[param].tolist()))
    numeric = all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool)
                  for x in xs)
    pos = {x: (float(x) if numeric else i) for i, x in enumerate(xs)}
    ncol = 4
    nrow = (len(metrics) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(16, 3.4 * nrow + 1), dpi=100,
                             squeeze=False)
    combinations = tidy.groupby(others, sort=False).ngroups if others else 1
    combined = combinations > SERIES_DRAWN
    once = tidy["point"].is_unique  # one replication a point: single values, no intervals
    if combined:
        _over_combinations(axes, tidy, metrics, others, param, xs, pos, numeric,
                           combinations)
    groups = ([] if combined else list(tidy.groupby(others, sort=False)) if others
              else [((), tidy)])
    width = 0.6 / max(len(groups), 1)
    for gi, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        name = "; ".join(f"{parameter_name(o)}: {value_name(v)}"
                         for o, v in zip(others, key, strict=True)) or "all"
        colour = PALETTE[gi % len(PALETTE)]
        shift = 0.0 if numeric else (gi - (len(groups) - 1) / 2) * width
        # each value's rows of the group, found once for every measure (a pandas
        # selection per value and measure was a fifth of a 40-point sweep's plots)
        at = g[param].to_numpy()
        rows = [np.flatnonzero(at == x) for x in xs]
        for ax, m in zip(axes.flat, metrics, strict=False):
            scale = 100 if measure(m).kind == "share" else 1
            values = g[m].to_numpy(dtype=float)
            pts = []
            for x, where in zip(xs, rows, strict=True):
                mean, low, high, _ = mean_ci(values[where])
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
        if not numeric and len(xs) <= CATEGORIES_ACROSS:
            ax.set_xticks(range(len(xs)), [textwrap.fill(value_name(x), 14) for x in xs],
                          fontsize=8)
        elif not numeric:  # names turned upright, every one up to 24, else every k-th
            shown = range(0, len(xs), -(-len(xs) // 24))
            ax.set_xticks(list(shown), [value_name(xs[i]) for i in shown], fontsize=8,
                          rotation=90)
        if not numeric:
            ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    handles, texts = axes.flat[0].get_legend_handles_labels()
    legend_rows = -(-len(texts) // 4) if len(texts) > 1 or combined else 0
    if legend_rows:
        fig.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(len(texts), 4), fontsize=9, frameon=False)
    what = ("each value's mean over the other parameters' combinations, and their "
            "range" if combined else "one run a point: no intervals" if once
            else "mean and 95% interval over replications")
    fig.suptitle(f"Headline measures against {parameter_name(param)} ({what}; A&E and "
                 "admissions are proxies)", fontsize=11,
                 y=1 - 0.1 / fig.get_figheight(), va="top")
    _grid_by_hand(fig, axes, len(metrics), legend_rows)
    path = folder / f"sweep_{param.replace('.', '_')}.png"
    _save(fig, path, laid_out=True)  # (titles set unmeasured where nothing lifts them)
    return path


def combination_ranges(tidy: pd.DataFrame, metrics: list[str], others: list[str],
                       param: str, xs: list) -> dict[str, np.ndarray]:
    """Per measure, each value of ``param``: (mean, lowest, highest) over the others' combinations.

    Each combination of ``others`` is first averaged over its replications; the
    mean is then that of the combinations' means (each counts once), and the
    lowest and highest show how far the other parameters move the measure.
    """
    means = tidy.groupby([*others, param], sort=False)[metrics].mean()
    by_value = [means.xs(x, level=param) for x in xs]
    return {m: np.array([(b[m].mean(), b[m].min(), b[m].max()) for b in by_value], dtype=float)
            for m in metrics}


def _over_combinations(axes, tidy: pd.DataFrame, metrics: list[str], others: list[str],
                       param: str, xs: list, pos: dict, numeric: bool, n: int) -> None:
    """One series on each panel: :func:`combination_ranges` of ``n`` combinations, with bars."""
    from .plots import PALETTE

    ranges = combination_ranges(tidy, metrics, others, param, xs)
    label = (f"mean of the {n:,} combinations of "
             f"{', '.join(parameter_name(o) for o in others)} (bars: lowest to highest)")
    for ax, m in zip(axes.flat, metrics, strict=False):
        p = ranges[m] * (100 if measure(m).kind == "share" else 1)
        # (clipped: where every combination has the same mean, their mean can land an
        # ulp above the highest of them)
        bars = np.clip(np.nan_to_num(np.vstack([p[:, 0] - p[:, 1], p[:, 2] - p[:, 0]])), 0,
                       None)
        ax.errorbar([pos[x] for x in xs], p[:, 0], yerr=bars, marker="o", capsize=3,
                    color=PALETTE[0], label=label, ls="-" if numeric else "none", ms=5)


def _y_tick_labels(ax) -> list[str]:
    """The y tick labels ``ax`` will draw (those in its view), as its formatter writes them."""
    lo, hi = sorted(ax.get_ylim())
    locs = [v for v in ax.yaxis.get_majorticklocs()
            if lo - 1e-9 * (hi - lo) <= v <= hi + 1e-9 * (hi - lo)]
    return ax.yaxis.get_major_formatter().format_ticks(locs)


def _grid_by_hand(fig, axes: np.ndarray, used: int, legend_rows: int) -> None:
    """Place a grid of drawn panels in inches, measured as matplotlib will draw them.

    Each column gets room for its widest y tick label, each row for its tallest
    title and its x tick labels (upright ones: their width) and label; the
    suptitle is at the top and the legend (``legend_rows`` rows) at the bottom.
    The figure keeps its size. This replaces matplotlib's constrained layout,
    which draws a figure once more to measure it: nearly half a sweep figure's
    time.
    """
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    nrow, ncol = axes.shape
    tick_font = FontProperties(size=8)

    def line(points: float, lines: int = 1) -> float:  # inches of text lines (spacing 1.2)
        return lines * points * 1.2 / 72

    def label_width(text: str) -> float:
        return max(renderer.get_text_width_height_descent(x, tick_font, ismath=False)[0]
                   for x in text.split("\n")) / fig.dpi

    shown = [[r * ncol + c < used for c in range(ncol)] for r in range(nrow)]
    gutters, offsets = [], set()
    for c in range(ncol):
        widest = 0.0
        for r in range(nrow):
            if not shown[r][c]:
                continue
            ax = axes[r, c]
            widest = max([widest, *(label_width(t) for t in _y_tick_labels(ax))])
            if ax.yaxis.get_major_formatter().get_offset():  # "1e6" above the axis
                offsets.add(r)
        gutters.append(widest + line(7) + 0.12)  # the tick and its pad, and a margin
    titles, bottoms = [], []
    for r in range(nrow):
        title_lines = max((axes[r, c].get_title(loc="left").count("\n") + 1
                           for c in range(ncol) if shown[r][c]), default=0)
        ticks = max((label_width(t.get_text()) if t.get_rotation() == 90
                     else line(8, t.get_text().count("\n") + 1)
                     for c in range(ncol) if shown[r][c]
                     for t in axes[r, c].get_xticklabels()), default=line(8))
        titles.append(line(9, title_lines) + line(6) + (line(8) if r in offsets else 0) + 0.05)
        bottoms.append(line(7) + ticks + line(4) + line(9) + 0.12)
    top = line(11) + 0.25
    bottom = line(9, legend_rows) * 1.25 + (0.15 if legend_rows else 0.05)
    gap, right = 0.25, 0.15
    axis_h = (height - top - bottom - sum(titles) - sum(bottoms)) / nrow
    axis_w = (width - sum(gutters) - gap * (ncol - 1) - right) / ncol
    y = height - top
    for r in range(nrow):
        y -= titles[r] + axis_h
        x = 0.0
        for c in range(ncol):
            x += gutters[c]
            axes[r, c].set_position((x / width, y / height, axis_w / width, axis_h / height))
            x += axis_w + gap
        y -= bottoms[r]


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
    which = (f"{len(points)} of the sweep's {len(sweep.points)} points (those its file "
             "names under report:)," if sweep.reported is not None else f"{len(points)} points")
    return (f"{which} varying {what or 'nothing'}, each from {sweep.spec.base} (in the "
            "tables and plots below each point is one approach).")


#: The small tables of a run the sweep's report stacks (a row or a few per run).
SMALL_TABLES = tuple(name for name in DATA_TABLES if name not in SPREADS)


def run_digest(folder: Path, label: str) -> dict:
    """What the sweep's aggregates need of one stored run (its ``runs/<key>/`` folder).

    :func:`digest_tables` of the tables as stored: what the parent reads back of
    runs finished before a resume, or on a cluster.
    """
    return digest_tables({name: pd.read_parquet(folder / f"{name}.parquet")
                          for name in (*SMALL_TABLES, *SPREADS)}, label)


def digest_tables(tables: dict[str, pd.DataFrame], label: str) -> dict:
    """What the sweep's aggregates need of one run's tables (:func:`analysis.compare.reduce_run`).

    Its small tables, and its long ones (every wait, every patient's indices) as
    their summaries (:mod:`analysis.spread`, under ``label``). A local worker
    makes it as soon as it has stored the run, from the tables it just wrote
    (reading them back cost a tenth of a run), so the parent only adds digests
    up (:class:`SweepTotals`), while the runs go on. The small tables are taken
    as the files hold them (a fresh row index): the same digest either way (tested).
    """
    digest = {name: tables[name].reset_index(drop=True) for name in SMALL_TABLES}
    waits, values = WaitsWithin(), IndexValues()
    waits.add(label, tables["waits"])
    values.add(label, tables["patient_continuity"])
    digest[SPREADS["waits"]] = waits
    digest[SPREADS["patient_continuity"]] = values
    return digest


class SweepTotals:
    """The runs' digests (:func:`run_digest`) added up as they arrive, in any order.

    Each run's small tables (a few rows) are joined into one table each, a few
    hundred runs at a time (a table per run cost about 25 KB of bookkeeping
    each; joined, a few KB); the distributions are summed into one summary per
    approach. So memory stays nearly flat in the number of runs. Whatever the
    order the digests come in, the tables made at the end are the same (sums
    of whole numbers; rows put in the sweep's order).
    """

    #: Runs whose small tables are joined at a time.
    CHUNK = 256

    def __init__(self) -> None:
        self.done: set[tuple[str, int]] = set()
        self.pending: list[tuple[str, int, dict[str, pd.DataFrame]]] = []
        self.chunks: dict[str, list[pd.DataFrame]] = {name: [] for name in SMALL_TABLES}
        self.waits = WaitsWithin()
        self.values = IndexValues()

    def add(self, label: str, k: int, digest: dict) -> None:
        """One run's digest (replication ``k`` of the point ``label``)."""
        if (label, k) in self.done:
            return
        self.done.add((label, k))
        self.pending.append((label, k, {name: digest[name] for name in SMALL_TABLES}))
        self.waits.merge(digest[SPREADS["waits"]])
        self.values.merge(digest[SPREADS["patient_continuity"]])
        if len(self.pending) >= self.CHUNK:
            self._join()

    def _join(self) -> None:
        """The pending runs' small tables joined, with ``scenario`` and ``replication``."""
        if not self.pending:
            return
        for name in SMALL_TABLES:  # in the order they came (sorted when the tables are made)
            self.chunks[name].append(stack_runs(
                [(label, k, tables[name]) for label, k, tables in self.pending], None))
        self.pending = []

    def add_stored(self, sweep, out: Path) -> None:
        """Every finished run on disk not added yet (run before a resume, or on a cluster)."""
        missing = [(p.label, k, out / "runs" / key) for p, k, key in sweep.runs()
                   if (p.label, k) not in self.done
                   and (out / "runs" / key / "metadata.json").is_file()]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for i in range(0, len(missing), 16):  # a few runs read at once
                chunk = missing[i:i + 16]
                digests = pool.map(lambda m: run_digest(m[2], m[0]), chunk)
                for (label, k, _), digest in zip(chunk, digests, strict=True):
                    self.add(label, k, digest)

    def _table(self, name: str, rank: dict[str, int]) -> pd.DataFrame:
        """Table ``name`` of every run added of the ranked points, by rank then replication."""
        self._join()
        if not self.chunks[name]:  # no run finished (every one failed)
            return pd.DataFrame({"scenario": pd.Series(dtype=object),
                                 "replication": pd.Series(dtype=np.int64)})
        df = pd.concat(self.chunks[name], ignore_index=True)
        df = df[df["scenario"].isin(list(rank))]
        # A stable sort keeps each run's rows in their order, as stacking run by run did.
        order = np.lexsort((df["replication"].to_numpy(),
                            df["scenario"].map(rank).to_numpy(dtype=np.int64)))
        return df.iloc[order].reset_index(drop=True)

    def summaries(self, sweep) -> tuple[list[tuple[Point, int]], pd.DataFrame]:
        """Every run added, in the sweep's order: ``(point, replication)`` pairs, summary rows.

        The rows are a table, a row a run in the same order as the pairs.
        """
        runs = self._table("runs", {p.label: i for i, p in enumerate(sweep.points)})
        at = {(label, k): i for i, (label, k) in
              enumerate(zip(runs["scenario"], runs["replication"], strict=True))}
        picked = [(p, k) for p, k, _ in sweep.runs() if (p.label, k) in at]
        rows = runs.iloc[[at[(p.label, k)] for p, k in picked]]
        return picked, rows.drop(columns=["scenario", "replication"]).reset_index(drop=True)

    def data(self, labels: list[str]) -> dict[str, pd.DataFrame | None]:
        """The report's data: the small tables stacked, the distributions' summaries.

        The long tables themselves are not repeated in the report's data: each
        run's are in ``runs/<key>/``.
        """
        rank = {label: i for i, label in enumerate(labels)}
        data: dict[str, pd.DataFrame | None] = {name: self._table(name, rank)
                                                for name in SMALL_TABLES}
        data[SPREADS["waits"]] = self.waits.table(labels)
        data[SPREADS["patient_continuity"]] = self.values.table(labels)
        for name in SPREADS:
            data[name] = None
        return data


def write_aggregates(stage: Path, sweep, totals: SweepTotals, parameter_rows, resolved_yaml,
                     meta: dict) -> pd.DataFrame:
    """Write the tidy table, the sweep plots and the comparison report into ``stage``.

    ``totals``: every finished run's digest, added up (:class:`SweepTotals`). The
    report compares the points the sweep file names under ``report:``, else every
    point if at most :data:`REPORT_POINTS` have finished runs (else there is none).
    """
    from .report import _can_draw_side_by_side, written_aside

    tidy = tidy_table(sweep, totals)
    tidy.to_parquet(stage / "sweep.parquet", index=False)
    write_csv(tidy, stage / "sweep.csv", index=False)
    # The sweep's own plots are drawn in other processes (each about 1 s past a few
    # hundred points), while this one writes and draws the comparison report (a third
    # of a 100-run sweep's time, done side by side).
    folder = stage / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    processes = max(1, min(len(sweep.swept), usable_cores()))

    def report() -> None:
        _write_report(stage, sweep, totals, parameter_rows, resolved_yaml, meta, tidy,
                      set(tidy["point"]))

    if _can_draw_side_by_side():
        # Forked processes, each drawing every k-th plot: no pool, so no thread of a pool's
        # runs beside this one when the report forks its own figures aside (a fork
        # beside threads can leave the child a lock that no thread will release).
        with written_aside(*(_plots_drawer(tidy, sweep.swept[i::processes], sweep.swept,
                                           folder) for i in range(processes)
                             if sweep.swept[i::processes])):
            report()
        return tidy
    # Where this process may not fork (macOS, Windows, beside other threads, or in a
    # worker): a pool, started as sim.processes.worker_context decides; here, one plot
    # after another, where its workers would run the main script's calls again.
    context = worker_context()
    try:
        refuse_to_run_main_again(context)
    except UnguardedMain:
        report()
        _plots_drawer(tidy, sweep.swept, sweep.swept, folder)()
        return tidy
    with ProcessPoolExecutor(max_workers=processes, initializer=end_with_parent,
                             initargs=(os.getpid(),), mp_context=context) as pool:
        plots = [pool.submit(sweep_plot, tidy, sweep.swept, param, folder)
                 for param in sweep.swept]
        report()
        for plot in plots:
            plot.result()
    return tidy


def _plots_drawer(tidy: pd.DataFrame, params: list[str], swept: list[str], folder: Path):
    """A call drawing :func:`sweep_plot` against each of ``params``, in turn."""
    def draw() -> None:
        for param in params:
            sweep_plot(tidy, swept, param, folder)

    return draw


def reported_points(sweep, finished: set[str]) -> list:
    """The points a sweep's report compares, of those whose labels are in ``finished``.

    Those the sweep file names under ``report:`` if it names any; else every one,
    if they are at most :data:`REPORT_POINTS`; else none. None for a sweep of one
    replication: the report's verdict and tables stand on intervals, which need two.
    """
    if sweep.spec.replications < 2:
        return []
    points = [p for p in sweep.points if p.label in finished]
    if sweep.reported is not None:
        chosen = set(sweep.reported)
        points = [p for p in points if p.label in chosen]
    return points if len(points) <= REPORT_POINTS else []


def _write_report(stage: Path, sweep, totals: SweepTotals, parameter_rows, resolved_yaml,
                  meta: dict, tidy: pd.DataFrame, finished: set[str]) -> None:
    """The comparison report of the sweep's finished points, into ``stage/report``.

    The points are :func:`reported_points`; with none, nothing is written.
    """
    points = reported_points(sweep, finished)
    if not points:
        return
    from .report import render

    labels = [p.label for p in points]
    report = stage / "report"
    report.mkdir()
    data = totals.data(labels)
    params = pd.DataFrame([{"scenario": p.label, **row} for p in points
                           for row in parameter_rows(p.scenario)])
    write_comparison(report, data, labels, {p.label: point_name(p) for p in points},
                     {p.label: resolved_yaml(p.scenario) for p in points}, params,
                     {**meta, "replications": int(tidy.groupby("point").size().max()),
                      "lead": _lead(sweep, points)})
    del data  # the report reads what was just written; the stack need not be held twice
    render(report, side_by_side=True)  # run by the command line (sweeps are not in the app)
