#!/usr/bin/env python3
"""Command line for the continuity-of-care booking simulator.

    python run.py                          compare the default practice under the five policies
    python run.py compare A.yaml B.yaml ... [--replications R] [--out DIR] [--workers N]
    python run.py report DIR               re-render a comparison's report from saved results
    python run.py sweep SWEEP.yaml [--workers N] [--scheduler ADDRESS] [--out DIR]
    python run.py network NETWORK.yaml [--workers N] [--replication K] [--out DIR]
    python run.py run SCENARIO [--out DIR] [--seed N] [--replication K] [--set KEY=VALUE ...]
    python run.py validate FILE [FILE ...]
    python run.py schema [--out FILE]
    python run.py indices VISITS.csv --out OUT.csv [--min-visits N] [--from DATE] [--to DATE]
                          [--roles ROLE,...]

Exit status: 0 success, 2 bad input (a message names the file, key and line),
1 an unexpected error (run again with --debug for the traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "default.yaml"
DEFAULT_COMPARISON = [ROOT / "scenarios" / "policies" / f"{name}.yaml" for name in (
    "access_first", "usual_gp_first", "micro_team", "clinical_champion",
    "personalised_micro_teams")]
DEFAULT_REPLICATIONS = 10
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """A command-line argument that cannot be used; reported without a traceback."""


def _parse_set(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set {item!r}: expected KEY=VALUE, e.g. population.size=5000")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise BadInput(f"--set {item!r}: the value is not valid YAML") from None
    return out


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its results."""
    from analysis.outputs import write_run
    from analysis.summary import run_summaries
    from sim import load_scenario, run

    scenario = load_scenario(args.scenario, _parse_set(args.set or []))
    out = Path(args.out) if args.out else ROOT / "results" / Path(args.scenario).stem
    t0 = time.perf_counter()
    print(f"Running {scenario.name!r} ({scenario.population.size:,} patients, "
          f"{scenario.warmup_days} warm-up + {scenario.duration_days} recorded days) ...",
          flush=True)
    result = run(scenario, replication=args.replication, seed=args.seed)
    write_run(result, out)
    s = run_summaries(result)[0].iloc[0]
    print(f"Done in {time.perf_counter() - t0:.1f} s (seed {result.scenario.seed}, "
          f"replication {args.replication}).")
    print(f"  consultations per patient per year  {s.consultations_per_patient_year:6.2f}")
    print(f"  same-day share of appointments      {s.same_day_share:6.1%}")
    print(f"  routine wait, mean / 90th centile   {s.routine_wait_mean_days:6.1f} / "
          f"{s.routine_wait_p90_days:.1f} days")
    print(f"  urgent requests seen same day       {s.urgent_same_day_share:6.1%}")
    print(f"  DNA rate                            {s.dna_rate:6.1%}")
    print(f"  utilisation                         {s.utilisation:6.1%}")
    print(f"  UPC (GP, 3+ visits) / SLICC         {s.upc_mean:6.2f} / {s.slicc:.2f}")
    print(f"  A&E per 1,000 a year (proxy)        {s.ae_per_1000:6.0f} "
          f"({s.ae_access_per_1000:.0f} after failing to get an appointment)")
    print(f"  admissions per 1,000 a year (proxy) {s.admissions_per_1000:6.0f}")
    print(f"Results written to {out}/ (summary.csv, appointments.parquet, "
          "wait_distribution.png, ...)")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run scenarios over replications and write the comparison and its report."""
    import hashlib
    import os

    import pandas as pd

    from analysis.compare import (
        collect,
        reduce_network,
        reduce_practice,
        reduce_run,
        write_comparison,
    )
    from analysis.report import render
    from sim import load_scenario
    from sim.atomic import atomic_dir
    from sim.batch import run_batch
    from sim.loading import parameter_sources
    from sim.network import Network, is_network_file, load_network, with_network_seed
    from sim.provenance import code_version, environment, parameter_rows
    from sim.results import with_seed

    if args.replications < 2:
        raise BadInput("--replications must be 2 or more (intervals need two)")
    files = [Path(f) for f in args.scenarios]
    overrides = _parse_set(args.set or [])
    items = []  # a Scenario, or a Network of practices compared as a whole
    for f in files:
        if is_network_file(f):
            if overrides:
                raise BadInput(f"{f}: --set applies to scenarios; put a network's overrides in "
                               "its practices' set:")
            items.append(load_network(f))
        else:
            items.append(load_scenario(f, overrides))
    # One seed for all, so replication k of every scenario shares its streams.
    first = items[0]
    seed = args.seed if args.seed is not None else (
        first.spec.seed if isinstance(first, Network) else with_seed(first).seed)
    items = [with_network_seed(it, seed) if isinstance(it, Network)
             else it.model_copy(update={"seed": seed}) for it in items]
    scenarios = [it.practices[0][1] if isinstance(it, Network) else it for it in items]
    labels: list[str] = []
    for f in files:
        label = f.stem
        n = 2
        while label in labels:
            label = f"{f.stem}_{n}"
            n += 1
        labels.append(label)
    names = {lb: (it.spec.name if isinstance(it, Network) else it.name)
             for lb, it in zip(labels, items, strict=True)}
    workers = args.workers or os.cpu_count() or 1
    out = Path(args.out) if args.out else ROOT / "results" / "comparison"
    jobs = [(lb, it, k) for k in range(args.replications)
            for lb, it in zip(labels, items, strict=True)]
    print(f"Comparing {len(labels)} scenario(s) x {args.replications} replications "
          f"({len(jobs)} runs, {min(workers, len(jobs))} process(es)) ...", flush=True)
    t0 = time.perf_counter()
    reduced = list(run_batch(jobs, reduce_run, workers=min(workers, len(jobs)),
                             description="runs", network_reducer=reduce_network,
                             practice_reducer=reduce_practice))
    data = collect(reduced, labels)
    rows = []
    for lb, it, f in zip(labels, items, files, strict=True):
        if isinstance(it, Network):  # its practices, then the first one's parameters
            rows.append({"scenario": lb, "parameter": "network.practices", "value": "; ".join(
                f"{pid}: {s.policy.name}, {s.population.size:,} patients"
                for pid, s in it.practices), "source": f"network file {f}"})
            rows += [{"scenario": lb, **row} for row in parameter_rows(it.practices[0][1])]
        else:
            rows += [{"scenario": lb, **row} for row in parameter_rows(it, parameter_sources(f))]
    params = pd.DataFrame(rows)
    s0 = scenarios[0]
    meta = {
        "title": args.title or "Comparison of booking approaches",
        "replications": args.replications, "seeds": [seed],
        "warmup_days": s0.warmup_days, "window_days": s0.duration_days,
        "code_version": code_version(), "environment": environment(),
        "files": {lb: str(f) for lb, f in zip(labels, files, strict=True)},
    }
    with atomic_dir(out) as stage:
        write_comparison(stage, data, labels, names,
                         {lb: _resolved(it) for lb, it in zip(labels, items, strict=True)},
                         params, meta)
        render(stage)
        hashes = {p.relative_to(stage).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted(stage.rglob("*")) if p.is_file()}
        (stage / "metadata.json").write_text(json.dumps({"files": hashes}, indent=2),
                                             encoding="utf-8")
    print(f"Done in {time.perf_counter() - t0:.0f} s. Report: {out / 'report.html'}")
    print(f"Tables: {out / 'comparison.csv'} (means, 95% intervals), "
          f"{out / 'differences.csv'} (paired differences from {labels[0]})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep (resuming if interrupted) and write its aggregates and report."""
    import os

    from analysis.sweep import write_aggregates
    from sim.atomic import atomic_dir
    from sim.provenance import code_version, environment, parameter_rows, resolved_yaml
    from sim.sweep import execute, load_sweep, read_runs

    sweep = load_sweep(args.sweep)
    out = Path(args.out) if args.out else ROOT / "results" / "sweeps" / Path(args.sweep).stem
    runs = sweep.runs()
    workers = args.workers or os.cpu_count() or 1
    done_before = sum((out / "runs" / key / "metadata.json").is_file() for _, _, key in runs)
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{workers} process(es)"
    print(f"Sweep {sweep.spec.name!r}: {len(sweep.points)} points x "
          f"{sweep.spec.replications} replications = {len(runs)} runs; {done_before} already "
          f"done in {out}; running the rest on {where} ...", flush=True)
    t0 = time.perf_counter()
    failures = []
    from analysis.compare import reduce_run

    for _key, point, k, error in execute(sweep, out, reduce_run, workers=workers,
                                         scheduler=args.scheduler):
        if error:
            failures.append((point, k, error))
            print(f"  failed: {point.description}, replication {k}: {error}", file=sys.stderr,
                  flush=True)
    meta = {"title": f"Sweep: {sweep.spec.name}", "seeds": [sweep.points[0].scenario.seed],
            "warmup_days": sweep.points[0].scenario.warmup_days,
            "window_days": sweep.points[0].scenario.duration_days,
            "code_version": code_version(), "environment": environment(),
            "sweep_file": str(args.sweep)}
    with atomic_dir(out) as stage:
        tidy = write_aggregates(stage, sweep, out, read_runs, parameter_rows, resolved_yaml,
                                meta)
    print(f"Done in {time.perf_counter() - t0:.0f} s: {len(tidy)} of {len(runs)} runs "
          f"finished. Table: {out / 'sweep.csv'}; plots: {out / 'plots'}; "
          f"report: {out / 'report' / 'report.html'}")
    if failures:
        print(f"{len(failures)} run(s) failed (errors in {out / 'failures'}):", file=sys.stderr)
        for point, k, error in failures:
            print(f"  {point.description}, replication {k}: {error}", file=sys.stderr)
        print("Run the same command again to retry them.", file=sys.stderr)
        return 1
    return 0


class _PracticeSummary:
    """Picklable reducer for network runs: keep a practice's summary parts, write nothing."""

    def __init__(self, hub_ids=frozenset()):
        self.hub_ids = hub_ids

    def __call__(self, practice_id: str, result):
        from analysis.network import practice_parts

        return practice_parts(result, self.hub_ids)


class _PracticeWriter:
    """Picklable reducer for network runs: write a practice's results, keep its summary parts."""

    def __init__(self, folder: Path, hub_ids=frozenset()):
        self.folder = folder
        self.hub_ids = hub_ids

    def __call__(self, practice_id: str, result):
        from analysis.network import write_and_reduce

        return write_and_reduce(result, self.folder / practice_id, self.hub_ids)


def cmd_network(args: argparse.Namespace) -> int:
    """Run every practice of a network; write each practice's results and the network's."""
    import os

    from analysis.network import network_summaries
    from sim.atomic import atomic_dir
    from sim.network import load_network, run_network

    network = load_network(args.network)
    out = Path(args.out) if args.out else ROOT / "results" / "networks" / Path(args.network).stem
    workers = min(args.workers or os.cpu_count() or 1, len(network.practices))
    patients = sum(s.population.size for _, s in network.practices)
    print(f"Network {network.spec.name!r}: {len(network.practices)} practices, {patients:,} "
          f"patients, replication {args.replication}, {workers} process(es) ...", flush=True)
    t0 = time.perf_counter()
    # Each worker writes its practice's results (unless --summary-only) and returns
    # only the practice's summary parts, so memory stays flat for large networks.
    reducer = (_PracticeSummary(network.hub_ids) if args.summary_only
               else _PracticeWriter(out / "practices", network.hub_ids))
    results = list(run_network(network, args.replication, workers, reducer=reducer))
    table, by_cohort = network_summaries(results, network.hub_ids)
    with atomic_dir(out) as stage:
        table.to_csv(stage / "network_summary.csv", index=False)
        by_cohort.to_csv(stage / "network_summary_by_cohort.csv", index=False)
    net = table.iloc[-1]
    print(f"Done in {time.perf_counter() - t0:.1f} s. Network: "
          f"{net.consultations_per_patient_year:.2f} consultations per patient a year, "
          f"routine wait {net.routine_wait_mean_days:.1f} days, UPC {net.upc_mean:.2f}, "
          f"A&E {net.ae_per_1000:.0f} per 1,000 (proxy).")
    if network.hub_ids:
        print(f"Hub ({network.spec.hub.name}): {int(net.hub_appointments):,} appointments, "
              + ", ".join(f"{r.practice_id} {int(r.hub_appointments):,}"
                          for r in table.iloc[:-1].itertuples()) + ".")
    if args.summary_only:
        print(f"Per-practice and network summary: {out / 'network_summary.csv'} (no practice "
              "files: --summary-only)")
        if (out / "practices").is_dir():
            print(f"Note: {out / 'practices'}/ holds files from an earlier run, not this one.")
    else:
        print(f"Per-practice and network summary: {out / 'network_summary.csv'}; each "
              f"practice's results in {out / 'practices'}/")
    return 0


def _resolved(item) -> str:
    """A scenario's resolved YAML; for a network, its spec and every practice's scenario."""
    from sim.network import Network
    from sim.provenance import resolved_yaml

    if not isinstance(item, Network):
        return resolved_yaml(item)
    data = {"network": item.spec.model_dump(mode="json"),
            "practices": {pid: s.model_dump(mode="json") for pid, s in item.practices}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def cmd_report(args: argparse.Namespace) -> int:
    """Re-render the report of a saved comparison, without simulating."""
    from analysis.report import render
    from sim.atomic import atomic_dir

    folder = Path(args.folder)
    if not (folder / "comparison.json").is_file():
        raise BadInput(f"{folder}: not a comparison folder (no comparison.json); make one with "
                       "python run.py compare A.yaml B.yaml --out DIR")
    with atomic_dir(folder) as stage:
        render(folder, out=stage)
    print(f"Report written to {folder / 'report.html'}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate scenario files; exit 2 if any is invalid."""
    from sim import ScenarioError, load_scenario

    bad = 0
    for f in args.files:
        try:
            s = load_scenario(f)
        except ScenarioError as e:
            bad += 1
            for p in e.problems:
                print(f"error: {p}", file=sys.stderr)
        else:
            print(f"ok: {f} ({s.name}; {s.population.size:,} patients, "
                  f"{len(s.clinicians)} clinicians, policy {s.policy.name})")
    if bad:
        print(f"{bad} of {len(args.files)} file(s) invalid", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def cmd_indices(args: argparse.Namespace) -> int:
    """Continuity indices of a practice's own visit export (CSV)."""
    import pandas as pd

    from analysis.visits import (
        VisitsError,
        index_table,
        practice_summary,
        read_visits,
        select_visits,
    )
    from sim.atomic import atomic_dir

    if args.min_visits < 2:
        raise BadInput("--min-visits must be 2 or more (the indices need two visits)")
    dates = {}
    for flag in ("from_date", "to_date"):
        value = getattr(args, flag)
        if value is not None:
            try:
                dates[flag] = pd.Timestamp(value)
            except ValueError:
                raise BadInput(f"--{flag.split('_')[0]} {value!r}: not a date "
                               "(use 2024-04-01)") from None
    roles = [r.strip() for r in args.roles.split(",") if r.strip()] if args.roles else None
    try:
        visits = read_visits(args.visits)
        if roles and "role" not in visits.columns:
            raise VisitsError(f"{args.visits}: --roles needs a role column")
        visits = select_visits(visits, dates.get("from_date"), dates.get("to_date"), roles)
    except VisitsError as e:
        raise BadInput(str(e)) from None
    if len(visits) == 0:
        raise BadInput(f"{args.visits}: no visits left after the date and role filters")
    table = index_table(visits, args.min_visits)
    out = Path(args.out)
    with atomic_dir(out.parent if str(out.parent) else Path(".")) as stage:
        table.to_csv(stage / out.name, index=False, na_rep="")
    summary = practice_summary(visits, table)
    print(f"{int(summary['visits']):,} visits, {int(summary['patients']):,} patients; "
          f"{int(summary['patients_with_indices']):,} with {args.min_visits} or more visits "
          "(indices are undefined, left empty, for the others).")
    for key, label in (("upc_mean", "mean UPC"), ("coc_mean", "mean COC"),
                       ("secon_mean", "mean SECON"), ("hhi_mean", "mean HHI"),
                       ("mmci_mean", "mean MMCI"), ("usual_share_mean", "mean usual share"),
                       ("slicc", "SLICC (visits with the usual clinician)"),
                       ("opr", "OPR (list-holders' visits with their own list)")):
        if key in summary:
            print(f"  {label:<48} {summary[key]:.3f}")
    print(f"Per-patient indices written to {out}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print or write the scenario JSON Schema."""
    from sim.scenario import Scenario

    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Continuity-of-care simulator scenario"
    text = json.dumps(schema, indent=2)
    if args.out:
        from sim.atomic import atomic_dir

        out = Path(args.out)
        with atomic_dir(out.parent if str(out.parent) else Path(".")) as stage:
            (stage / out.name).write_text(text + "\n", encoding="utf-8")
        print(f"Schema written to {out}")
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = argparse.ArgumentParser(
        prog="run.py",
        description="Discrete-event simulator of continuity-of-care booking policies "
        "for general practice.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run one scenario and write its results")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--out", help="output folder (default results/<scenario name>)")
    r.add_argument("--seed", type=int, help="override the scenario's seed")
    r.add_argument("--replication", type=int, default=0, help="replication number (default 0)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set population.size=5000")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check scenario files (exit 2 if any is invalid)")
    v.add_argument("files", nargs="+", help="scenario YAML files")
    v.set_defaults(func=cmd_validate)
    cp = sub.add_parser("compare", help="compare scenarios over replications; write a report")
    cp.add_argument("scenarios", nargs="+", help="scenario (or network) YAML files; the first "
                    "is the baseline")
    cp.add_argument("--replications", "-r", type=int, default=DEFAULT_REPLICATIONS,
                    help=f"replications per scenario (default {DEFAULT_REPLICATIONS})")
    cp.add_argument("--out", help="output folder (default results/comparison)")
    cp.add_argument("--workers", type=int, help="processes (default: all cores)")
    cp.add_argument("--seed", type=int, help="master seed for every scenario (default: the "
                    "first scenario's)")
    cp.add_argument("--title", help="title of the report")
    cp.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a key in every scenario, e.g. --set duration_days=182")
    cp.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="run a sweep of scenario variants (resumes if interrupted)")
    sw.add_argument("sweep", help="sweep YAML file (see scenarios/sweeps/)")
    sw.add_argument("--workers", type=int, help="local processes (default: all cores)")
    sw.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    sw.add_argument("--out", help="output folder (default results/sweeps/<sweep name>)")
    sw.set_defaults(func=cmd_sweep)
    nw = sub.add_parser("network", help="run every practice of a network (PCN, federation)")
    nw.add_argument("network", help="network YAML file (see scenarios/networks/)")
    nw.add_argument("--workers", type=int, help="processes (default: all cores)")
    nw.add_argument("--replication", type=int, default=0, help="replication number (default 0)")
    nw.add_argument("--out", help="output folder (default results/networks/<name>)")
    nw.add_argument("--summary-only", action="store_true",
                    help="write only the network's summary tables, not each practice's files "
                         "(about twice as fast for a large network)")
    nw.set_defaults(func=cmd_network)
    rp = sub.add_parser("report", help="re-render a comparison's report from saved results")
    rp.add_argument("folder", help="a folder written by compare")
    rp.set_defaults(func=cmd_report)
    ix = sub.add_parser("indices", help="continuity indices of a visit export (CSV)")
    ix.add_argument("visits", help="CSV: patient_id, date, clinician_id "
                    "[, usual_clinician_id, role]")
    ix.add_argument("--out", required=True, help="CSV to write, one row per patient")
    ix.add_argument("--min-visits", type=int, default=2,
                    help="fewer visits leave a patient's indices undefined (default 2)")
    ix.add_argument("--from", dest="from_date", help="first date to include (ISO date)")
    ix.add_argument("--to", dest="to_date", help="first date to exclude (ISO date)")
    ix.add_argument("--roles", help="keep only these roles, comma-separated (needs a role "
                    "column), e.g. gp")
    ix.set_defaults(func=cmd_indices)
    sc = sub.add_parser("schema", help="print the scenario JSON Schema")
    sc.add_argument("--out", help="write to this file instead")
    sc.set_defaults(func=cmd_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, turn bad input into a message and exit 2."""
    sys.path.insert(0, str(ROOT))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["compare", *map(str, DEFAULT_COMPARISON),
                                  "--title", "The default practice under five booking approaches",
                                  "--out", str(ROOT / "results" / "default_comparison")])
    if getattr(args, "replication", 0) < 0:
        return _fail("--replication must be 0 or more")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        return _fail("--seed must be 0 or more")
    from sim import ScenarioError

    try:
        return args.func(args)
    except ScenarioError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("interrupted: nothing was written for the unfinished run", file=sys.stderr)
        return 130
    except Exception as e:
        if getattr(args, "debug", False):
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
