"""Writing one run's results to a folder, whole or not at all, with its provenance."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output, replace_dir, sha256_of
from sim.files.provenance import code_version, environment
from sim.inputs.resolve import resolved_yaml, scenario_hash
from sim.outcomes.tables import RunResult

from .continuity import opr_by_clinician, slicc_by_list, slicc_by_month
from .depth import usual_gp_consultations
from .monthly import monthly_table
from .summary import SUMMARY_COLUMNS, run_summaries

#: Files a run writes, and what each holds.
RUN_FILES = {
    "scenario.resolved.yaml": "the scenario as run: extends applied, defaults filled, seed set",
    "appointments.parquet": "one row per appointment on or after the window start",
    "requests.parquet": "one row per request first made in the window, with its outcome",
    "unmet.parquet": "one row per attempt in the window that found no slot",
    "clinician_days.parquet": "per clinician and rostered day: status and slots",
    "patients.parquet": "the registered list: age band, conditions, usual clinician, "
                        "cohort flags",
    "emergency.parquet": "A&E attendances and emergency admissions by channel (PROXIES for "
                         "comparing policies, not forecasts)",
    "summary.csv": "the summary metrics (analysis.summary.SUMMARY_COLUMNS)",
    "summary_by_cohort.csv": "the outcome metrics for all patients and for each cohort",
    "summary_columns.csv": "what each summary column means, with its unit (A&E: PROXY)",
    "slicc_by_month.csv": "SLICC per calendar month of the window (GP consultations)",
    "monthly.csv": "month by month: access, continuity, A&E proxies, utilisation by role "
                   "(analysis.monthly.MONTHLY_COLUMNS)",
    "continuity_by_list.csv": "per list-holding GP: their list's SLICC and their own OPR",
    "usual_gp_consultations.csv": "patients by number of consultations with their usual GP",
    "wait_distribution.png": "distribution of waits, urgent and routine",
    "metadata.json": "seed, scenario hash, code version, file hashes (written last)",
}


def write_events(table: pd.DataFrame, path: Path) -> None:
    """A run's table as Parquet, dictionary-encoded only in its categorical columns.

    Pyarrow tries a dictionary for every column by default, and for unique ids,
    times and waits it gives up only after building one: a quarter of the time a
    practice's tables took to write (measured: 0.076 s against 0.058 s for a
    network practice's six tables), for files an eighth larger. The frames read
    back are the same.

    Written as ``DataFrame.to_parquet`` writes it (the same bytes: pandas's
    metadata, snappy), but converted on this thread: pandas lets pyarrow convert
    a table's columns on a pool of threads, which on a machine whose cores are
    all running practices only adds hand-overs (the six tables 6% to 10% faster
    alone, more beside other workers).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False, nthreads=1)
    if table.attrs:  # as pandas keeps them
        arrow = arrow.replace_schema_metadata({**arrow.schema.metadata,
                                               "PANDAS_ATTRS": json.dumps(table.attrs)})
    # (by the dtypes: taking each column out of the table cost 6 ms a practice's tables)
    pq.write_table(arrow, path, compression="snappy", use_dictionary=[
        c for c, dtype in table.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)])


def write_run(result: RunResult, out_dir: str | Path, parts=None, label: str | None = None,
              monthly: dict | None = None, plots: bool = True, *, force: bool = False,
              whole: bool = False, made: tuple | None = None) -> dict[str, Path]:
    """Write a run's files into ``out_dir``; return where each went.

    ``parts``: the run's :func:`analysis.summary.run_parts`, if already computed.
    ``label``: what the plot's title calls the run (default: the scenario's name;
    a network gives the practice id). ``monthly``: the run's monthly parts, if
    made; ``made``: its summary row and monthly table, if made. ``plots``: draw
    ``wait_distribution.png`` (a network's practices skip it unless asked: it is a
    sixth of a practice's writing time). Nothing in ``out_dir`` changes unless every
    file was written.

    ``out_dir`` is claimed as an output folder (:func:`sim.files.outputs.claim_output`:
    refused if it holds files the tool did not write, unless ``force``); with
    ``whole`` it is instead a folder wholly the tool's inside one already claimed (a
    network's practice), replaced in one step.
    """
    if whole:
        with replace_dir(out_dir) as stage:
            write_run_files(result, stage, parts, label, monthly, plots, made)
    else:
        with claim_output(out_dir, command="run", force=force) as folder, \
                folder.writing() as stage:
            write_run_files(result, stage, parts, label, monthly, plots, made)
    out_dir = Path(out_dir)
    return {name: out_dir / name for name in RUN_FILES
            if plots or not name.endswith(".png")}


def write_run_files(result: RunResult, folder: Path, parts=None, label: str | None = None,
                    monthly: dict | None = None, plots: bool = True,
                    made: tuple | None = None) -> None:
    """Write a run's files into ``folder`` (a staging folder), ``metadata.json`` last.

    ``made``: the run's summary row and monthly table (either may be None), if made.
    """
    s = result.scenario
    summary_row, month_table = made or (None, None)
    summary, by_cohort = run_summaries(result, parts, summary_row)
    appts = result.tables["appointments"]
    holders = [name for name, role in s.roles.items() if role.holds_list]
    gp_visits = appts.loc[appts["in_window"].to_numpy(dtype=bool)
                          & (appts["status"] == "attended").to_numpy(dtype=bool)
                          & appts["role"].isin(holders).to_numpy(dtype=bool),
                          ["patient_id", "clinician_id", "usual_clinician_id", "appointment_at"]]
    with_usual = usual_gp_consultations(gp_visits, result.tables["patients"]["patient_id"])
    stage = Path(folder)
    resolved = resolved_yaml(s)
    (stage / "scenario.resolved.yaml").write_text(resolved, encoding="utf-8")
    for name in ("appointments", "requests", "unmet", "clinician_days", "patients",
                 "emergency"):
        write_events(result.tables[name], stage / f"{name}.parquet")
    write_csv(summary, stage / "summary.csv", index=False)
    write_csv(by_cohort, stage / "summary_by_cohort.csv", index=False)
    write_csv(with_usual, stage / "usual_gp_consultations.csv", index=False)
    write_csv(pd.DataFrame({"column": list(SUMMARY_COLUMNS),
                            "meaning": list(SUMMARY_COLUMNS.values())}),
              stage / "summary_columns.csv", index=False)
    write_csv(slicc_by_month(gp_visits, time="appointment_at"), stage / "slicc_by_month.csv",
              index=False)
    write_csv(monthly_table(result, monthly) if month_table is None else month_table,
              stage / "monthly.csv", index=False)
    by_list = slicc_by_list(gp_visits).rename(columns={
        "usual_clinician_id": "clinician_id", "visits": "list_gp_visits",
        "with_usual": "list_visits_with_them", "slicc": "list_slicc"})
    opr = opr_by_clinician(gp_visits).rename(columns={"appointments": "gp_appointments",
                                                      "own_list": "with_own_list"})
    write_csv(by_list.merge(opr, on="clinician_id", how="outer"),
              stage / "continuity_by_list.csv", index=False)
    if plots:
        # Imported here: matplotlib is a third of the start-up of a network run that
        # draws nothing (--summary-only), in the parent and each worker.
        from .plots import wait_distribution

        wait_distribution(result.tables["appointments"], stage / "wait_distribution.png",
                          title=f"{label or s.name}: wait from request to appointment")
    files = {p.name: sha256_of(p) for p in sorted(stage.iterdir()) if p.is_file()}
    meta = {
        "scenario": s.name,
        "seed": s.seed,
        "replication": result.replication,
        "scenario_sha256": scenario_hash(s, resolved),
        "code_version": code_version(),
        "environment": environment(),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run": {k: v for k, v in result.info.items() if k not in ("seed", "replication")},
        "files": files,
    }
    (stage / "metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
