"""Comparing scenarios over replications: what is kept of each run, and the saved comparison.

A comparison folder holds everything the report needs, so ``run.py report DIR``
re-renders it without simulating:

* ``data/*.parquet``: per run (scenario, replication) the summary row, the
  per-cohort outcomes, waits, per-patient continuity, SLICC by month,
  utilisation by role, and consultations with the usual GP;
* ``comparison.csv``: mean and 95% interval of every metric per scenario;
* ``differences.csv``: paired differences from the first (baseline) scenario;
* ``validation.csv``: each scenario beside the published figures (:mod:`analysis.validation`);
* ``monthly.csv``: each scenario's month-by-month measures, mean and 95% interval;
* ``parameters.csv``: every parameter of every scenario with its source;
* ``scenarios/<label>.resolved.yaml``: each scenario as run;
* ``plots/*.png`` and ``report.html``; ``metadata.json`` (written last).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.files.csv_safe import read_csv, write_csv

from .continuity import patient_indices, slicc_by_month
from .depth import usual_gp_consultations
from .monthly import combine_monthly_parts, monthly_from_parts, monthly_table
from .spread import IndexValues, WaitsWithin
from .stats import mean_ci, paired_differences, summarise_replications
from .summary import SUMMARY_COLUMNS, run_summaries
from .validation import validation_table

#: Metrics compared, in report order (all columns of summary.csv but the counts of the set-up).
COMPARED = [m for m in SUMMARY_COLUMNS if m not in ("patients", "window_days")]
DATA_TABLES = ("runs", "cohorts", "waits", "patient_continuity", "slicc_by_month",
               "utilisation", "usual_gp_consultations", "monthly")
#: The long tables whose distributions the report draws from a summary
#: (:mod:`analysis.spread`), and that summary's table.
SPREADS = {"waits": "wait_ecdf", "patient_continuity": "continuity_boxes"}


def reduce_run(result, parts=None, monthly: dict | None = None) -> dict[str, pd.DataFrame]:
    """The small tables a comparison keeps of one run (:class:`sim.RunResult`).

    ``parts``: the run's :func:`analysis.summary.run_parts`, and ``monthly`` its
    :func:`analysis.monthly.monthly_parts`, if already computed.
    """
    s = result.scenario
    t = result.tables
    summary, by_cohort = run_summaries(result, parts)
    holders = [name for name, role in s.roles.items() if role.holds_list]
    a = t["appointments"]
    happened = a[a["in_window"].to_numpy(dtype=bool) & a["status"].isin(["attended", "dna"])]
    waits = happened[happened["urgency"].isin(["urgent", "routine"])]
    waits = pd.DataFrame({"urgency": waits["urgency"].astype(str).to_numpy(),
                          "wait_days": waits["wait_days"].to_numpy(dtype=np.float32)})
    gp = happened[(happened["status"] == "attended") & happened["role"].isin(holders)]
    idx = patient_indices(gp, min_visits=3, time="appointment_at", usual="usual_clinician_id")
    idx = idx[idx["upc"].notna()][["patient_id", "n_visits", "upc", "coc", "secon",
                                   "usual_share"]]
    days = t["clinician_days"]
    util = days.groupby("role", observed=True)[["available_slots", "booked_slots"]].sum()
    util = util.reset_index()
    util["role"] = util["role"].astype(str)
    return {
        "runs": summary,
        "cohorts": by_cohort,
        "waits": waits,
        "patient_continuity": idx.astype({"upc": np.float32, "coc": np.float32,
                                          "secon": np.float32, "usual_share": np.float32}),
        "slicc_by_month": slicc_by_month(gp, time="appointment_at"),
        "utilisation": util,
        "usual_gp_consultations": usual_gp_consultations(gp, t["patients"]["patient_id"]),
        "monthly": monthly_table(result, monthly),
    }


@dataclasses.dataclass
class ReducedPractice:
    """What a comparison keeps of one practice of a network: its reduced tables and parts."""

    tables: dict[str, pd.DataFrame]
    parts: object  # analysis.network.PracticeParts
    patients: int

    @property
    def monthly(self) -> dict:
        """Its :func:`analysis.monthly.monthly_parts` (its waits are sent once, in ``parts``)."""
        return self.parts.full_monthly()


def reduce_practice(practice_id: str, result) -> ReducedPractice:
    """In a worker: one practice of a network, reduced (:func:`reduce_run`) with its parts."""
    from .network import practice_parts
    from .summary import run_parts

    parts = run_parts(result)
    reduced = practice_parts(result, parts=parts)  # its monthly parts made once, used twice
    return ReducedPractice(reduce_run(result, parts, reduced.full_monthly()), reduced,
                           result.scenario.population.size)


def reduce_network(results: list) -> dict[str, pd.DataFrame]:
    """:func:`reduce_run` for a whole network, from its practices reduced one by one.

    ``results`` pairs practice ids with :class:`ReducedPractice` (or full
    results, reduced here). The summary and cohort rows add up the practices'
    parts; waits and per-patient continuity are joined (patient ids offset so
    they stay distinct); SLICC by month, utilisation and consultations with
    the usual GP are added up. Tested equal to reducing the pooled tables.
    """
    from .network import combine_cohort_parts
    from .summary import cohorts_from_parts, combine_parts, summary_from_parts

    reduced = [r if isinstance(r, ReducedPractice) else reduce_practice(pid, r)
               for pid, r in results]
    window = reduced[0].parts.window_days
    t = [r.tables for r in reduced]
    offsets = np.cumsum([0] + [r.patients for r in reduced[:-1]])
    continuity = pd.concat([x["patient_continuity"].assign(
        patient_id=x["patient_continuity"]["patient_id"].astype("int64") + off)
        for x, off in zip(t, offsets, strict=True)], ignore_index=True)
    months = pd.concat([x["slicc_by_month"] for x in t]).groupby("month", sort=True)[
        ["visits", "with_usual"]].sum().reset_index()
    months["slicc"] = months["with_usual"] / months["visits"]
    util = pd.concat([x["utilisation"] for x in t]).groupby("role", sort=True)[
        ["available_slots", "booked_slots"]].sum().reset_index()
    usual = pd.concat([x["usual_gp_consultations"] for x in t]).groupby(
        "consultations_with_usual_gp", sort=False)["patients"].sum().reset_index()
    return {
        "runs": summary_from_parts(combine_parts([r.parts.parts for r in reduced])),
        "cohorts": cohorts_from_parts(combine_cohort_parts([r.parts.cohorts for r in reduced]),
                                      window),
        "waits": pd.concat([x["waits"] for x in t], ignore_index=True),
        "patient_continuity": continuity,
        "slicc_by_month": months,
        "utilisation": util,
        "usual_gp_consultations": usual,
        "monthly": monthly_from_parts(combine_monthly_parts([r.monthly for r in reduced])),
        "practices": pd.concat([summary_from_parts(r.parts.parts).assign(practice_id=pid)
                                for (pid, _), r in zip(results, reduced, strict=True)],
                               ignore_index=True),
    }


def stack_runs(pieces: list[tuple[str, int, pd.DataFrame]], rank: dict[str, int] | None
               ) -> pd.DataFrame:
    """One table of several runs stacked, ``scenario`` and ``replication`` first.

    ``pieces``: (scenario label, replication, the run's table); rows follow the
    scenarios' ``rank`` and then replication (``rank`` None: the pieces' order).
    The pieces are joined once and the two columns added once (adding them to
    each piece cost most of a 1,000-run sweep's aggregates); the pieces are
    left as they are.
    """
    ordered = (pieces if rank is None
               else sorted(pieces, key=lambda r: (rank[r[0]], r[1])))
    df = pd.concat([piece for _, _, piece in ordered], ignore_index=True)
    lengths = [len(piece) for _, _, piece in ordered]
    df.insert(0, "replication", np.repeat(np.array([k for _, k, _ in ordered], dtype=np.int64),
                                          lengths))
    df.insert(0, "scenario", pd.array(np.repeat(np.array([lb for lb, _, _ in ordered],
                                                         dtype=object), lengths),
                                      dtype=object))
    return df


def collect(reduced: list[tuple[str, int, dict[str, pd.DataFrame]]],
            order: list[str], names: tuple[str, ...] = DATA_TABLES) -> dict[str, pd.DataFrame]:
    """Stack the reduced runs into one table each, with ``scenario`` and ``replication`` first.

    Rows are sorted by the scenarios' order and then replication, whatever
    order the runs finished in. ``names``: the tables to stack (default: all).
    """
    rank = {label: i for i, label in enumerate(order)}
    reduced = sorted(reduced, key=lambda r: (rank[r[0]], r[1]))
    out = {name: stack_runs([(label, k, tables[name]) for label, k, tables in reduced], rank)
           for name in names}
    # Networks also keep each practice's summary row (for the report's small multiples).
    practices = [tables["practices"].assign(scenario=label, replication=k)
                 for label, k, tables in reduced if "practices" in tables]
    if practices:
        df = pd.concat(practices, ignore_index=True)
        out["practices"] = df[["scenario", "replication", "practice_id",
                               *[c for c in df.columns if c not in ("scenario", "replication",
                                                                    "practice_id")]]]
    return out


class ComparisonTotals:
    """A comparison's runs, added up as they arrive: memory flat in the number of runs.

    Each run's small tables (a few rows each) are kept. Its long tables (every
    wait, every patient's indices: a 400,000-patient network's run has millions
    of rows) are summed at once into the distributions the report draws
    (:mod:`analysis.spread`: exact counts, the same in any order) and set aside
    in ``spill``, a folder of the caller's (one compressed Arrow file each: about
    20 MB for a 400,000-patient network's run), until :meth:`write_long` writes
    them into ``data/`` one run at a time, in the comparison's order. The tables
    are those :func:`collect` and :func:`write_comparison` make from every run
    held at once (the long files read back the same, one row group per run).
    """

    def __init__(self, spill: Path):
        self.spill = Path(spill)
        self.small: list[tuple[str, int, dict[str, pd.DataFrame]]] = []
        self.set_aside: dict[tuple[str, int], dict[str, Path]] = {}
        self.waits = WaitsWithin()
        self.values = IndexValues()

    def add(self, label: str, k: int, tables: dict[str, pd.DataFrame]) -> None:
        """One run's reduced tables (:func:`reduce_run`): replication ``k`` of ``label``."""
        self.waits.add(label, tables["waits"])
        self.values.add(label, tables["patient_continuity"])
        paths = {}
        for name in SPREADS:
            paths[name] = self.spill / f"{len(self.set_aside)}-{name}.arrow"
            tables[name].to_feather(paths[name], compression="zstd")
        self.set_aside[(label, k)] = paths
        self.small.append((label, k, {n: t for n, t in tables.items() if n not in SPREADS}))

    def data(self, labels: list[str]) -> dict[str, pd.DataFrame | None]:
        """The report's data: the small tables stacked (as :func:`collect` does).

        With the distributions' summaries, and ``None`` for the long tables (written
        by :meth:`write_long`).
        """
        out: dict[str, pd.DataFrame | None] = collect(
            self.small, labels, tuple(name for name in DATA_TABLES if name not in SPREADS))
        out[SPREADS["waits"]] = self.waits.table(labels)
        out[SPREADS["patient_continuity"]] = self.values.table(labels)
        for name in SPREADS:
            out[name] = None
        return out

    def write_long(self, folder: Path, labels: list[str]) -> None:
        """Write ``waits.parquet`` and ``patient_continuity.parquet`` into ``folder``.

        Rows follow the scenarios' order and then replication (as :func:`collect`
        stacks them), read back and written one run at a time.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        rank = {label: i for i, label in enumerate(labels)}
        runs = sorted((key for key in self.set_aside if key[0] in rank),
                      key=lambda key: (rank[key[0]], key[1]))
        for name in SPREADS:
            writer = None
            try:
                for label, k in runs:
                    run = pd.read_feather(self.set_aside[label, k][name])
                    piece = stack_runs([(label, k, run)], None)
                    if writer is None:
                        table = pa.Table.from_pandas(piece, preserve_index=False)
                        writer = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                    else:
                        table = pa.Table.from_pandas(piece, schema=writer.schema,
                                                     preserve_index=False)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()


def comparison_tables(runs: pd.DataFrame, baseline: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means with 95% intervals per scenario, and paired differences from the baseline."""
    return (summarise_replications(runs, COMPARED),
            paired_differences(runs, COMPARED, baseline))


def monthly_summary(monthly: pd.DataFrame) -> pd.DataFrame:
    """Month by month: each scenario's mean and 95% interval over replications.

    Columns ``scenario, month, days, metric, mean, low, high, n``.
    """
    if monthly is None or len(monthly) == 0:
        return pd.DataFrame(columns=["scenario", "month", "days", "metric", "mean", "low",
                                     "high", "n"])
    metrics = [c for c in monthly.columns if c not in ("scenario", "replication", "month",
                                                        "days")]
    rows = []
    for (label, month), g in monthly.groupby(["scenario", "month"], sort=False):
        days = int(g["days"].iloc[0])
        for metric in metrics:
            mean, low, high, n = mean_ci(g[metric].to_numpy(dtype=float))
            rows.append({"scenario": label, "month": month, "days": days, "metric": metric,
                         "mean": mean, "low": low, "high": high, "n": n})
    return pd.DataFrame(rows)


def write_comparison(stage: Path, data: dict[str, pd.DataFrame], labels: list[str],
                     names: dict[str, str], resolved: dict[str, str],
                     parameters: pd.DataFrame, meta: dict) -> None:
    """Write a comparison's data and tables into ``stage`` (the report is rendered separately)."""
    (stage / "data").mkdir(exist_ok=True)
    data = {**data, **spreads(data, labels)}
    for name, df in data.items():
        if df is not None:  # None: a table a sweep streamed into the folder itself
            df.to_parquet(stage / "data" / f"{name}.parquet", index=False)
    write_csv(data["runs"], stage / "runs.csv", index=False)
    comparison, differences = comparison_tables(data["runs"], labels[0])
    write_csv(comparison, stage / "comparison.csv", index=False)
    write_csv(differences, stage / "differences.csv", index=False)
    write_csv(validation_table(data["runs"], labels), stage / "validation.csv", index=False)
    write_csv(monthly_summary(data["monthly"]), stage / "monthly.csv", index=False)
    write_csv(parameters, stage / "parameters.csv", index=False)
    (stage / "scenarios").mkdir(exist_ok=True)
    for label, text in resolved.items():
        (stage / "scenarios" / f"{label}.resolved.yaml").write_text(text, encoding="utf-8")
    meta = {**meta, "scenarios": [{"label": lb, "name": names[lb]} for lb in labels],
            "baseline": labels[0],
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    (stage / "comparison.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def spreads(data: dict[str, pd.DataFrame | None], labels: list[str]) -> dict[str, pd.DataFrame]:
    """The summaries the report draws the distributions from (:mod:`analysis.spread`).

    Made from the stacked ``waits`` and ``patient_continuity`` unless ``data``
    holds them already (a sweep adds them up run by run).
    """
    out = {}
    if data.get(SPREADS["waits"]) is None:
        within = WaitsWithin()
        within.add_stacked(data["waits"])
        out[SPREADS["waits"]] = within.table(labels)
    if data.get(SPREADS["patient_continuity"]) is None:
        values = IndexValues()
        values.add_stacked(data["patient_continuity"])
        out[SPREADS["patient_continuity"]] = values.table(labels)
    return out


def load_comparison(folder: str | Path) -> dict:
    """Read a comparison folder back (for :mod:`analysis.report`).

    The long tables (every wait, every patient's indices) are read only when
    the folder lacks their summaries (one written before they existed).
    """
    folder = Path(folder)
    meta_file = folder / "comparison.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{folder}: not a comparison folder (no comparison.json); "
                                "create one with: python run.py compare A.yaml B.yaml --out DIR")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))

    def read(name: str) -> pd.DataFrame | None:
        path = folder / "data" / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    data = {name: read(name) for name in (*SPREADS.values(), "practices")}
    labels = [s["label"] for s in meta["scenarios"]]
    for name in DATA_TABLES:  # an older folder may lack a newer table
        if name not in SPREADS or data[SPREADS[name]] is None:
            data[name] = read(name)
            if data[name] is None:
                data[name] = pd.DataFrame()
    data.update(spreads(data, labels))
    # The long tables not read stay empty: the report needs only their summaries.
    data = {name: pd.DataFrame() if data.get(name) is None else data[name]
            for name in (*DATA_TABLES, *SPREADS.values(), "practices")}
    return {
        "meta": meta,
        "data": data,
        "comparison": read_csv(folder / "comparison.csv", dtype={"scenario": str}),
        "differences": read_csv(folder / "differences.csv", dtype={"scenario": str}),
        "monthly": monthly_summary(data["monthly"]),
        "validation": (read_csv(folder / "validation.csv", dtype={"scenario": str})
                       if (folder / "validation.csv").is_file()
                       else validation_table(data["runs"])),
        "parameters": read_csv(folder / "parameters.csv", keep_default_na=False,
                                  dtype=str),
        "resolved": {p.name.removesuffix(".resolved.yaml"): p.read_text(encoding="utf-8")
                     for p in sorted((folder / "scenarios").glob("*.resolved.yaml"))},
    }
