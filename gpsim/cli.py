"""The command line: parse the arguments, call the library, print what happened and where.

Installed as ``gpsim`` (``python -m pip install -e .``); ``python run.py`` in
the project folder is the same command. With no arguments it runs the default
comparison: the default practice under four booking approaches.

Exit status: 0 success, 2 bad input (a message names the file, the line and
the key, or what is wrong with an option), 1 a Dask cluster that cannot be
used (the message says why) or an unexpected error (run again with
``--debug`` for the traceback), 130 interrupted (the message says what was
saved).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import yaml

from gpsim.paths import project_root

EXIT_BAD_INPUT = 2
DEFAULT_REPLICATIONS = 10
#: The default comparison: the baseline, usual-GP-first and the My Care project's two
#: approaches. micro_team is left out: on the default practice, whose teams all have the
#: approach-2 shape, it books exactly as personalised_micro_teams (docs/findings.md).
DEFAULT_POLICIES = ("access_first", "usual_gp_first", "clinical_champion",
                    "personalised_micro_teams")
#: ``--workers``' default, as every command's help says it (sim.processes.usable_cores).
ALL_CORES = "(default: every core this process may use)"


class BadInput(Exception):
    """Input that cannot be used; each argument is one problem, reported without a traceback."""


class Interrupted(Exception):
    """Ctrl-C during a command; the message says what was saved and how to go on."""


def _registry(args: argparse.Namespace | None = None):
    """The built-in policies, and the classes the user enabled with --policy-class."""
    from policies import REGISTRY

    paths = getattr(args, "policy_class", None) or []
    if not paths:
        return REGISTRY
    from sim.inputs.policies import PolicyLookupError, enable_policy_classes

    try:
        return {**REGISTRY, **enable_policy_classes(paths)}
    except PolicyLookupError as e:
        raise BadInput(str(e)) from None


def _parse_set(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set {item!r}: expected KEY=VALUE, e.g. population.size=5000 or "
                           "'clinicians[gp_adams].sessions=[mon_am, tue_am]'")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise BadInput(f"--set {item!r}: the value is not valid YAML") from None
        except (ValueError, OverflowError) as e:  # a date that is no real date
            raise BadInput(f"--set {item!r}: {raw.strip()!r} is not a real date ({e}); write "
                           "dates as YYYY-MM-DD") from None
    return out


def _positive(text: str) -> int:
    """A whole number of 1 or more, for argparse (its message on anything else)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


# ----------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its results."""
    from gpsim.single import run_scenario
    from sim import load_scenario

    scenario = load_scenario(args.scenario, _parse_set(args.set or []), _registry(args))
    from sim.inputs.notes import scenario_notes

    for note in scenario_notes(scenario):
        print(f"note: {note}")
    out = Path(args.out) if args.out else project_root() / "results" / Path(args.scenario).stem
    print(f"Running {scenario.name!r} ({scenario.population.size:,} patients, "
          f"{scenario.warmup_days} warm-up + {scenario.duration_days} recorded days) ...",
          flush=True)
    try:
        result, s = run_scenario(scenario, out, replication=args.replication, seed=args.seed,
                                 policies=_registry(args), force=args.force)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {out}") from None
    print(f"Done in {result.info['wall_seconds']:.1f} s (seed {result.scenario.seed}, "
          f"replication {args.replication}, {result.info['engine']} engine).")
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
    from gpsim.compare import ComparisonError, ComparisonRequest, run_comparison

    out = Path(args.out) if args.out else project_root() / "results" / "comparison"

    def started(labels: list[str], runs: int, processes: int) -> None:
        where = f"Dask scheduler {args.scheduler}" if args.scheduler else \
            f"{processes} process(es)"
        more = (f", then more until every key measure is within {args.precision:.0%} of its "
                f"mean, up to {args.max_replications}" if args.precision is not None else "")
        print(f"Comparing {len(labels)} scenario(s) x {args.replications} replications "
              f"({runs} runs, {where}{more}) ...", flush=True)

    items, labels, sources = args.scenarios, None, None
    overrides = _parse_set(args.set or [])
    if args.approaches:
        from gpsim.compare import approach_items

        names = (list(DEFAULT_POLICIES) if args.approaches == "default"
                 else [n.strip() for n in args.approaches.split(",") if n.strip()])
        if len(names) < 2 and len(items) < 2:
            raise BadInput("--approaches needs two or more (e.g. access_first,usual_gp_first, "
                           "or default for the four of the default comparison)")
        labels, items, sources = approach_items(items, names, project_root(), overrides,
                                                _registry(args))
        overrides = {}
    def more(done: int, target: int, status: dict) -> None:
        from analysis.labels import measure

        worst = max(status["worst"], key=lambda w: w["relative_precision"] or math.inf)
        rel = worst["relative_precision"]
        within = "?" if rel is None else f"{rel:.1%}"
        print(f"After {done} replications, {measure(worst['measure']).label} in "
              f"{worst['scenario']} is known to within \u00b1{within} of its mean (target "
              f"\u00b1{status['target']:.0%}): running to {target} ...", flush=True)

    precision = {}
    if args.measures and args.precision is None:
        raise BadInput("--measures says what --precision applies to; give --precision too "
                       "(e.g. --precision 0.05)")
    if args.precision is not None:
        precision = {"precision": args.precision, "max_replications": args.max_replications}
        if args.measures:
            precision["precision_measures"] = args.measures
    try:
        result = run_comparison(ComparisonRequest(
            items, out, replications=args.replications, workers=args.workers,
            seed=args.seed, overrides=overrides, title=args.title, labels=labels,
            sources=sources, side_by_side_plots=True, scheduler=args.scheduler,
            policies=_registry(args), plot_formats=tuple(args.format or ("png",)),
            force=args.force, **precision), on_start=started, on_more=more)
    except ComparisonError as e:
        raise BadInput(str(e)) from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {out} (a comparison is "
                          "written only when every run has finished)") from None
    if args.precision is not None:
        status = result.precision or {}
        if status.get("reached"):
            print(f"Every key measure is within {args.precision:.0%} of its mean (95% "
                  f"interval) after {result.replications} replications.")
        else:
            print(f"Stopped at {result.replications} replications (--max-replications "
                  f"{args.max_replications}) before every key measure was within "
                  f"{args.precision:.0%} of its mean; the report says which.")
    print(f"Done in {result.seconds:.0f} s. Report: {out / 'report.html'}")
    print(f"Tables: {out / 'comparison.csv'} (means, 95% intervals), "
          f"{out / 'differences.csv'} (paired differences from {result.labels[0]})")
    return 0


def cmd_warmup(args: argparse.Namespace) -> int:
    """Pilot runs, MSER-5 and Welch's method: how long the scenario must warm up."""
    from gpsim.warmup import WarmupRequest, recommendation_text, run_warmup
    from sim import load_scenario
    from sim.processes import usable_cores

    if args.years < 1 or args.replications < 2:
        raise BadInput("--years must be 1 or more and --replications 2 or more (the "
                       "steadiness check needs an interval)")
    scenario = load_scenario(args.scenario, _parse_set(args.set or []), _registry(args))
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    from sim.inputs.resolve import with_seed

    scenario = with_seed(scenario)  # a scenario without a seed gets one, said in its outputs
    out = Path(args.out) if args.out else \
        project_root() / "results" / "warmup" / Path(args.scenario).stem
    workers = min(args.workers or usable_cores(), args.replications)
    try:
        rec = run_warmup(WarmupRequest(scenario, scenario.name, out, years=args.years,
                                       replications=args.replications, workers=workers,
                                       force=args.force), _registry(args))
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {out}") from None
    print(recommendation_text(rec, scenario, args.years, args.replications))
    print(f"Plot: {out / 'warmup.png'}; tables: truncation.csv, steadiness.csv, series.csv")
    return 0


def _precision(text: str) -> float:
    """A relative precision: 0.05 or 5%, between 0 and 1 (exclusive)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.05 or 5%)") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0 and below 1 (e.g. 0.05 "
                                         "for a half-width within 5% of the mean)")
    return value


def _measures(text: str) -> tuple[str, ...]:
    """Summary measures named on the command line, each checked against summary.csv's."""
    from analysis.summary import SUMMARY_COLUMNS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SUMMARY_COLUMNS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"not a measure of summary.csv: {', '.join(unknown) or '(none given)'}; e.g. "
            "routine_wait_mean_days, urgent_wait_hours_mean, slicc, upc_mean, ae_per_1000")
    return names


def cmd_replications(args: argparse.Namespace) -> int:
    """Pilot replications and the confidence-interval method: how many replications to run."""
    from gpsim.replications import ReplicationsRequest, advice_text, run_replications
    from sim import load_scenario
    from sim.processes import usable_cores

    if args.replications < 3 + 5:
        raise BadInput("--replications must be 8 or more (the method judges from 3 "
                       "replications and looks 5 ahead)")
    scenario = load_scenario(args.scenario, _parse_set(args.set or []), _registry(args))
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    from sim.inputs.resolve import with_seed

    scenario = with_seed(scenario)
    out = Path(args.out) if args.out else \
        project_root() / "results" / "replications" / Path(args.scenario).stem
    workers = min(args.workers or usable_cores(), args.replications)
    measure_set = {"measures": args.measures} if args.measures else {}
    try:
        advice = run_replications(ReplicationsRequest(
            scenario, scenario.name, out, replications=args.replications,
            precision=args.precision, workers=workers, **measure_set,
            scheduler=args.scheduler, force=args.force), _registry(args))
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {out}") from None
    print(advice_text(advice, args.precision))
    print(f"Plot: {out / 'replications.png'}; tables: replications.csv, advice.csv")
    return 0


def cmd_choose(args: argparse.Namespace) -> int:
    """Answer a question file: search, select, check robustness; write choice.html."""
    from gpsim.choose import choose, load
    from sim.runs.cluster import ClusterError

    question = load(args.question, _registry(args))
    out = Path(args.out) if args.out else \
        project_root() / "results" / "choices" / Path(args.question).stem
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else \
        f"{args.workers or 'all'} process(es)"
    print(f"Question {question.spec.name!r}: {len(question.spec.options)} option(s), "
          f"{question.spec.search.trials} settings to try; running on {where} ...", flush=True)

    def say(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    from sim.processes import usable_cores

    try:
        c = choose(question, out, workers=args.workers or usable_cores(),
                   scheduler=args.scheduler, policies=_registry(args), force=args.force,
                   say=say)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: the runs finished so far are saved in {out / 'runs'}; "
                          "run the same command again to go on from there (nothing else was "
                          "written)") from None
    except ClusterError as e:
        raise ClusterError(f"{e} The runs finished so far are saved in {out / 'runs'}; run the "
                           "same command again to go on from there.") from None
    from analysis.choice_report import answer

    print(answer(c)[0])
    print(f"{c.runs_made + c.runs_reused:,} runs ({c.runs_made:,} made now) in "
          f"{c.seconds:,.0f} s. Report: {out / 'choice.html'}; tables: choice.csv, search.csv"
          + (", robustness.csv, sensitivity.csv" if c.robustness is not None else ""))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep (resuming if interrupted) and write its aggregates and report."""
    from analysis.sweep import REPORT_POINTS, reported_points
    from gpsim.sweep import SweepProgress, run_sweep
    from sim.runs.cluster import ClusterError

    out = Path(args.out) if args.out else \
        project_root() / "results" / "sweeps" / Path(args.sweep).stem
    state = SweepProgress(out)

    def started(sweep, st: SweepProgress) -> None:
        todo = st.total - st.done_before
        if todo == 0:
            every = {p.label for p in sweep.points}  # (all saved: every point finished)
            what = ("tables, plots and report" if reported_points(sweep, every)
                    else "tables and plots")
            print(f"Sweep {sweep.spec.name!r}: all {st.total} runs are already saved in "
                  f"{out}; writing the {what} ...", flush=True)
            return
        where = f"Dask scheduler {args.scheduler}" if args.scheduler else \
            f"{args.workers or 'all'} process(es)"
        resumed = f"{st.done_before} already saved in {out}; " if st.done_before else ""
        print(f"Sweep {sweep.spec.name!r}: {sweep.size()}; {resumed}running "
              f"{todo} on {where} ...", flush=True)

    def failed(point, k: int, error: str) -> None:
        print(f"  failed: {point.description}, replication {k}: {error}", file=sys.stderr,
              flush=True)

    try:
        run_sweep(args.sweep, out, workers=args.workers, scheduler=args.scheduler,
                  policies=_registry(args), state=state, on_start=started, on_failure=failed,
                  force=args.force, max_runs=args.max_runs)
    except KeyboardInterrupt:
        raise Interrupted(state.interrupted_message()) from None
    except ClusterError as e:  # (what is saved, as after Ctrl-C)
        saved = state.interrupted_message().removeprefix("interrupted: ")
        raise ClusterError(f"{e} {saved}" if state.stage == "running" else str(e)) from None
    if state.report is not None:
        report = f"report: {state.report}"
    elif state.replications < 2:
        report = ("no comparison report: with one replication a point there are no 95% "
                  "intervals to compare (the table holds every run; set replications: 2 or "
                  "more for a report)")
    elif state.points > REPORT_POINTS and not state.chosen:
        report = (f"no comparison report: its {state.points} points are more than the "
                  f"{REPORT_POINTS} a report sets side by side (the table holds every run; "
                  f"name up to {REPORT_POINTS} under report: in the sweep file)")
    else:
        report = "no report: none of its points to report has a finished run"
    # (a sweep that sweeps nothing, only replications, has no plot against a parameter)
    plots = f"plots: {out / 'plots'}; " if (out / "plots").is_dir() else ""
    print(f"Done: {state.saved} of {state.total} runs finished. Table: {out / 'sweep.csv'}; "
          f"{plots}{report}")
    if state.failures:
        print(f"{len(state.failures)} run(s) failed (errors in {out / 'failures'}):",
              file=sys.stderr)
        for point, k, error in state.failures:
            print(f"  {point.description}, replication {k}: {error}", file=sys.stderr)
        print("Run the same command again to retry them (finished runs are skipped).",
              file=sys.stderr)
        return 1
    return 0


def _replications(args: argparse.Namespace) -> str:
    if args.replications < 1:
        raise BadInput("--replications must be 1 or more")
    if args.replications == 1:
        return f"replication {args.replication}"
    return f"replications {args.replication} to {args.replication + args.replications - 1}"


def cmd_network(args: argparse.Namespace) -> int:
    """Run every practice of a network; write each practice's results and the network's."""
    from gpsim.exports import calibrate_network_practices
    from gpsim.network import network_workers, run_network_study
    from sim.inputs.networks import load_network
    from sim.runs.executor import ahead, kept_workers
    from sim.runs.single import load_engine

    replications = _replications(args)
    out = Path(args.out) if args.out else \
        project_root() / "results" / "networks" / Path(args.network).stem
    try:
        with ExitStack() as workers_kept:
            def start_workers(spec) -> None:
                # Once the network file is read: the workers start, and load the engine
                # while this process reads the practices' scenarios.
                if not args.scheduler:
                    n = network_workers(args.workers, len(spec.practices), args.replications)
                    workers_kept.enter_context(kept_workers(n, prepare=load_engine))

            # The workers also check the practices' list files while this process reads
            # the scenarios (ahead).
            network = load_network(args.network, _registry(args), calibrate_network_practices,
                                   on_spec=start_workers, ahead=ahead)
            workers = network_workers(args.workers, len(network.practices), args.replications)
            patients = sum(s.population.size for _, s in network.practices)
            where = (f"Dask scheduler {args.scheduler}" if args.scheduler
                     else f"{workers} process(es)")
            print(f"Network {network.spec.name!r}: {len(network.practices)} practices, "
                  f"{patients:,} patients, {replications}, {where} ...", flush=True)
            result = run_network_study(network, out, replication=args.replication,
                                       replications=args.replications,
                                       workers=workers, scheduler=args.scheduler,
                                       summary_only=args.summary_only,
                                       policies=_registry(args),
                                       practice_plots=args.practice_plots, force=args.force,
                                       side_by_side=True)
    except KeyboardInterrupt:
        saved = "" if args.summary_only else (
            f" Practices that had finished have their files in {out / 'practices'}.")
        raise Interrupted(f"interrupted: the network summary was not written.{saved} Run "
                          "the same command again to run the network.") from None
    net = result.summary.iloc[-1]
    print(f"Done in {result.seconds:.1f} s. Network: "
          f"{net.consultations_per_patient_year:.2f} consultations per patient a year, "
          f"routine wait {net.routine_wait_mean_days:.1f} days, UPC {net.upc_mean:.2f}, "
          f"A&E {net.ae_per_1000:.0f} per 1,000 (proxy).")
    if network.hub_ids:
        print(f"Hub ({network.spec.hub.name}): {int(net.hub_appointments):,} appointments, "
              + ", ".join(f"{r.practice_id} {int(r.hub_appointments):,}"
                          for r in result.summary.iloc[:-1].itertuples()) + ".")
    if args.summary_only:
        print(f"Per-practice and network summary: {out / 'network_summary.csv'} (no practice "
              "files: --summary-only)")
        if (out / "practices").is_dir():
            print(f"Note: {out / 'practices'}/ holds files from an earlier run, not this one.")
    else:
        print(f"Per-practice and network summary: {out / 'network_summary.csv'}; each "
              f"practice's results in {out / 'practices'}/")
    print(f"Report: {out / 'report.html'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Re-render the report of a saved comparison, without simulating."""
    from analysis.report import render
    from sim.files.outputs import check_complete, claim_output

    folder = Path(args.folder)
    if not (folder / "comparison.json").is_file():
        raise BadInput(f"{folder}: not a comparison folder (no comparison.json); make one with "
                       "python run.py compare A.yaml B.yaml --out DIR")
    broken = check_complete(folder)
    if broken:
        raise BadInput(broken)
    with claim_output(folder, command="report", files=["report.html"]) as claimed, \
            claimed.writing() as stage:
        render(folder, out=stage, formats=tuple(args.format or ("png",)), side_by_side=True)
    print(f"Report written to {folder / 'report.html'}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario, network and sweep files; exit 2 if any is invalid."""
    from gpsim.validate import check_files

    checked = check_files(args.files, _registry(args), args.max_runs)
    for c in checked:
        if c.ok:
            print(f"ok: {c.file} ({c.summary})")
        for note in c.notes:
            print(f"note: {note}")
        for p in c.problems:
            print(f"error: {p}", file=sys.stderr)
    bad = sum(not c.ok for c in checked)
    if bad:
        print(f"{bad} of {len(checked)} file(s) invalid", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def cmd_indices(args: argparse.Namespace) -> int:
    """Continuity indices of a practice's own visit export (CSV)."""
    from gpsim.indices import IndicesError, IndicesRequest, run_indices

    roles = tuple(r.strip() for r in args.roles.split(",") if r.strip()) if args.roles else ()
    try:
        done = run_indices(IndicesRequest(
            visits=args.visits, out=args.out, html=args.html, min_visits=args.min_visits,
            from_date=args.from_date, to_date=args.to_date, roles=roles,
            dayfirst=args.dayfirst, duplicates=args.duplicates,
            clinician_names=args.clinician_names))
    except IndicesError as e:
        raise BadInput(*e.problems) from None
    summary = done.summary
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
    print(f"Per-patient indices written to {done.out}; the practice summary to "
          f"{done.summary_file}" + (f"; the page of distributions to {done.page}"
                                    if done.page else ""))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """A scenario, its history and a fit report from a practice's appointment export."""
    from gpsim.calibrate import main_calibrate

    if args.replications < 2 and not args.no_fit:
        raise BadInput("--replications must be 2 or more (intervals need two)")
    if not 0.0 <= args.unmet_share < 1.0:
        raise BadInput("--unmet-share must be at least 0 and below 1")
    if args.list_size is not None and args.list_size < 1:
        raise BadInput("--list-size must be 1 or more")
    return main_calibrate(args, project_root())


def cmd_export_appointments(args: argparse.Namespace) -> int:
    """A run's appointments written as an export (canonical, EMIS Web or SystmOne form)."""
    import pandas as pd

    from analysis.calibration.synthetic import export_from_appointments, list_from_patients
    from sim.files.csv_safe import write_csv
    from sim.files.outputs import check_complete, claim_output
    from sim.files.seen import note_input

    run = Path(args.run)
    if not (run / "appointments.parquet").is_file():
        raise BadInput(f"{run}: no appointments.parquet (give a folder written by 'run')")
    broken = check_complete(run)
    if broken:
        raise BadInput(broken)
    for name in ("appointments.parquet", "patients.parquet"):
        note_input(run / name)
    table = export_from_appointments(pd.read_parquet(run / "appointments.parquet"), args.form)
    people = (list_from_patients(pd.read_parquet(run / "patients.parquet"))
              if args.list_out else None)
    for path, df in ((Path(args.out), table),
                     *(((Path(args.list_out), people),) if args.list_out else ())):
        with claim_output(path.parent, command="export-appointments",
                          files=[path.name]) as claimed, claimed.writing() as stage:
            write_csv(df, stage / path.name, index=False)
    print(f"{len(table):,} appointments written to {args.out} ({args.form})"
          + (f"; the list to {args.list_out}" if args.list_out else ""))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Start the web app on this machine (Streamlit), bound to 127.0.0.1 unless told otherwise."""
    import importlib.util
    import signal
    import subprocess

    if importlib.util.find_spec("streamlit") is None:
        raise BadInput("the app needs Streamlit: python -m pip install -r requirements.txt")
    page = Path(__file__).resolve().parent / "app.py"
    print(f"The app is at http://{args.address}:{args.port} (Ctrl-C stops it); nothing leaves "
          "this machine.", flush=True)
    # The server ends with this command (gpsim.app_server), and shows no traceback in the
    # browser: the page shows its own one-line messages.
    command = [sys.executable, "-m", "gpsim.app_server", str(page),
               "--server.address", args.address, "--server.port", str(args.port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", "1", "--client.toolbarMode", "viewer",
               "--client.showErrorDetails", "none"]
    import os

    from gpsim.app_server import PARENT
    from gpsim.memory import environment_as_found

    # (a long-running server keeps the allocator's defaults: gpsim.memory)
    server = subprocess.Popen(command, env={**environment_as_found(), PARENT: str(os.getpid())})
    # Stopping this command stops the server with it (a terminated parent would otherwise
    # leave Streamlit running on its own).
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.wait()
        return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print or write the scenario JSON Schema, or the scenario reference page."""
    from sim.inputs.schema import Scenario

    if args.markdown:
        from gpsim.reference import render_reference

        text = render_reference().rstrip("\n")
    else:
        schema = Scenario.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "Continuity-of-care simulator scenario"
        text = json.dumps(schema, indent=2)
    if args.out:
        from sim.files.outputs import claim_output

        out = Path(args.out)
        with claim_output(out.parent, command="schema", files=[out.name]) as claimed, \
                claimed.writing() as stage:
            (stage / out.name).write_text(text + "\n", encoding="utf-8")
        print(f"{'Reference' if args.markdown else 'Schema'} written to {out}")
    else:
        print(text)
    return 0


# ----------------------------------------------------------------------- parser


def build_parser(prog: str = "run.py") -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    from sim.inputs.sweeps import DEFAULT_MAX_RUNS

    p = argparse.ArgumentParser(
        prog=prog,
        description="Discrete-event simulator of continuity-of-care booking policies for "
        f"general practice. '{prog}' with no command runs the default comparison: the "
        "default practice under four booking approaches, 10 replications each, into "
        "results/default_comparison/ (report.html).",
        epilog=f"Run '{prog} COMMAND --help' for a command's options. Bad input exits with "
        "status 2 and a message naming the file, line and key; add --debug to see the "
        "traceback of an unexpected error.",
    )
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an unexpected error (status 1)")
    # Options several commands share (each defined once).
    forced = argparse.ArgumentParser(add_help=False)
    forced.add_argument("--force", action="store_true",
                        help="write into the output folder even if it holds files gpsim did not "
                             "write (they are left as they are; gpsim never replaces them)")
    plugins = argparse.ArgumentParser(add_help=False)
    plugins.add_argument("--policy-class", action="append", metavar="MODULE:CLASS",
                         help="enable your own booking policy class (importable, e.g. "
                              "my_policies:NamedNurseFirst) for scenarios whose policy.name "
                              "gives that path; input files never import code themselves "
                              "(repeatable)")
    limited = argparse.ArgumentParser(add_help=False)
    limited.add_argument("--max-runs", type=_positive, default=DEFAULT_MAX_RUNS, metavar="N",
                         help="refuse a sweep of more than N runs (points x replications; "
                              f"default {DEFAULT_MAX_RUNS:,}), counted before anything is made")
    checked = argparse.ArgumentParser(add_help=False)
    checked.add_argument("--duplicates", choices=("drop", "keep"), default="refuse",
                         help="rows that repeat an earlier row in every column are refused "
                              "(they would count twice); drop: drop the repeats; keep: count "
                              "them")
    checked.add_argument("--clinician-names", choices=("merge", "keep"), default="refuse",
                         help="clinician names that differ only in capitals, spaces or "
                              "punctuation (DR ADAMS, Dr Adams) are refused; merge: one "
                              "clinician; keep: different clinicians")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run one scenario and write its results",
                       parents=[forced, plugins])
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--out", help="output folder (default results/<scenario file name>)")
    r.add_argument("--seed", type=int, help="override the scenario's seed")
    r.add_argument("--replication", type=int, default=0, help="replication number (default 0)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set population.size=5000 or "
                   "--set 'clinicians[gp_adams].sessions=[mon_am, tue_am]'")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check scenario, network and sweep files (exit 2 if "
                       "any is invalid)", parents=[limited, plugins])
    v.add_argument("files", nargs="+", help="YAML files of any kind")
    v.set_defaults(func=cmd_validate)
    cp = sub.add_parser("compare", help="compare scenarios over replications; write a report",
                        parents=[forced, plugins])
    cp.add_argument("scenarios", nargs="+", help="scenario (or network) YAML files; the first "
                    "is the baseline")
    cp.add_argument("--replications", "-r", type=int, default=DEFAULT_REPLICATIONS,
                    help=f"replications per scenario (default {DEFAULT_REPLICATIONS})")
    cp.add_argument("--precision", type=_precision, metavar="P",
                    help="add replications until every key measure's 95%% interval is "
                         "within this share of its mean in every scenario (e.g. 0.05); "
                         "--replications is then the first batch (8 or more)")
    cp.add_argument("--max-replications", type=_positive, default=100, metavar="N",
                    help="with --precision, stop at N replications per scenario (default 100)")
    cp.add_argument("--measures", type=_measures, metavar="NAMES",
                    help="with --precision, the measures it applies to (default: "
                         "routine_wait_mean_days, urgent_wait_hours_mean, slicc, upc_mean, "
                         "ae_per_1000)")
    cp.add_argument("--out", help="output folder (default results/comparison)")
    cp.add_argument("--workers", type=_positive, help=f"processes {ALL_CORES}")
    cp.add_argument("--scheduler", help="address of a Dask scheduler to run on its cluster, "
                    "e.g. tcp://10.0.0.5:8786")
    cp.add_argument("--seed", type=int, help="master seed for every scenario (default: the "
                    "first scenario's)")
    cp.add_argument("--title", help="title of the report")
    cp.add_argument("--format", action="append", choices=("png", "svg", "pdf"),
                    help="also write each plot in this format, for papers (repeatable; the "
                         "report embeds the PNGs)")
    cp.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a key in every scenario, e.g. --set duration_days=182")
    cp.add_argument("--approaches", metavar="NAMES",
                    help="run each scenario under each of these booking policies, "
                         "comma-separated (the first is the baseline), or 'default' for the "
                         "default comparison's four: access_first, usual_gp_first, "
                         "clinical_champion, personalised_micro_teams")
    cp.set_defaults(func=cmd_compare)
    wu = sub.add_parser("warmup", help="how long a scenario must warm up: pilot runs, MSER-5 "
                        "and Welch's moving averages", parents=[forced, plugins])
    wu.add_argument("scenario", help="scenario YAML file (run from its start_date)")
    wu.add_argument("--years", type=int, default=3,
                    help="pilot length in years (default 3; 2 or more to judge the seasons)")
    wu.add_argument("--replications", "-r", type=int, default=5,
                    help="pilot runs (default 5)")
    wu.add_argument("--workers", type=_positive, help=f"processes {ALL_CORES}")
    wu.add_argument("--seed", type=int, help="override the scenario's seed")
    wu.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a scenario key, e.g. --set start_date=2024-09-02")
    wu.add_argument("--out", help="output folder (default results/warmup/<scenario file name>)")
    wu.set_defaults(func=cmd_warmup)
    rp = sub.add_parser("replications", help="how many replications a scenario needs for a "
                        "stated precision: the confidence-interval method",
                        parents=[forced, plugins])
    rp.add_argument("scenario", help="scenario YAML file")
    rp.add_argument("--replications", "-r", type=int, default=20,
                    help="pilot replications to run (default 20)")
    rp.add_argument("--precision", type=_precision, default=0.05, metavar="P",
                    help="target: the 95%% interval's half-width within this share of the mean "
                         "(default 0.05, i.e. 5%%)")
    rp.add_argument("--measures", type=_measures, metavar="NAMES",
                    help="comma-separated measures of summary.csv (default: "
                         "routine_wait_mean_days, urgent_wait_hours_mean, slicc, upc_mean, "
                         "ae_per_1000)")
    rp.add_argument("--workers", type=_positive, help=f"processes {ALL_CORES}")
    rp.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    rp.add_argument("--seed", type=int, help="override the scenario's seed")
    rp.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a scenario key, e.g. --set population.size=5000")
    rp.add_argument("--out", help="output folder (default results/replications/<scenario file "
                    "name>)")
    rp.set_defaults(func=cmd_replications)
    sw = sub.add_parser("sweep", help="run a sweep of scenario variants (resumes if interrupted)",
                        parents=[forced, limited, plugins])
    sw.add_argument("sweep", help="sweep YAML file (see scenarios/sweeps/)")
    sw.add_argument("--workers", type=_positive, help=f"local processes {ALL_CORES}")
    sw.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    sw.add_argument("--out", help="output folder (default results/sweeps/<sweep file name>)")
    sw.set_defaults(func=cmd_sweep)
    ch = sub.add_parser("choose", help="which approach and settings suit a practice: search, "
                        "ranking and selection, robustness (resumes if interrupted)",
                        parents=[forced, plugins])
    ch.add_argument("question", help="question YAML file (see scenarios/choices/)")
    ch.add_argument("--workers", type=_positive, help=f"local processes {ALL_CORES}")
    ch.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ch.add_argument("--out", help="output folder (default results/choices/<question file name>)")
    ch.set_defaults(func=cmd_choose)
    nw = sub.add_parser("network", help="run every practice of a network (PCN, federation)",
                        parents=[forced, plugins])
    nw.add_argument("network", help="network YAML file (see scenarios/networks/)")
    nw.add_argument("--workers", type=_positive, help=f"processes {ALL_CORES}")
    nw.add_argument("--scheduler", help="address of a Dask scheduler to run on its cluster "
                    "(with --summary-only, or with the output folder on a shared disk)")
    nw.add_argument("--replication", type=int, default=0, help="(first) replication number "
                    "(default 0)")
    nw.add_argument("--replications", "-r", type=int, default=1,
                    help="replications (default 1); with 2 or more the report gives 95%% "
                         "intervals (practices' own files are written for the first only)")
    nw.add_argument("--out", help="output folder (default results/networks/<file name>)")
    nw.add_argument("--summary-only", action="store_true",
                    help="write only the network's summary tables, not each practice's files "
                         "(about twice as fast for a large network)")
    nw.add_argument("--practice-plots", action="store_true",
                    help="also draw each practice's wait plot (wait_distribution.png); the "
                         "network report shows every practice either way")
    nw.set_defaults(func=cmd_network)
    rp = sub.add_parser("report", help="re-render a comparison's report from saved results")
    rp.add_argument("folder", help="a folder written by compare")
    rp.add_argument("--format", action="append", choices=("png", "svg", "pdf"),
                    help="also write each plot in this format (repeatable)")
    rp.set_defaults(func=cmd_report)
    ap = sub.add_parser("app", help="start the web app on this machine (Streamlit)")
    ap.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    ap.add_argument("--address", default="127.0.0.1",
                    help="address to serve on (default 127.0.0.1: this machine only)")
    ap.set_defaults(func=cmd_app)
    ix = sub.add_parser("indices", help="continuity indices of a visit export (CSV)",
                        parents=[checked])
    ix.add_argument("visits", help="CSV: patient_id, date, clinician_id "
                    "[, usual_clinician_id, role]")
    ix.add_argument("--out", required=True, help="CSV to write, one row per patient (the "
                    "practice summary goes beside it, as NAME_summary.csv)")
    ix.add_argument("--html", action="store_true", help="also write NAME.html: the summary "
                    "and the distribution of each index over patients")
    ix.add_argument("--min-visits", type=int, default=2,
                    help="fewer visits leave a patient's indices undefined (default 2)")
    ix.add_argument("--from", dest="from_date", help="first date to include (e.g. 2024-04-01)")
    ix.add_argument("--to", dest="to_date", help="first date to exclude (e.g. 2025-04-01)")
    ix.add_argument("--roles", help="keep only these roles, comma-separated, in any case "
                    "(needs a role column), e.g. gp")
    ix.add_argument("--monthfirst", dest="dayfirst", action="store_false",
                    help="read dates with slashes as month/day/year (default: day/month/year, "
                    "as UK exports write them; ISO dates are read either way)")
    ix.set_defaults(func=cmd_indices)
    ca = sub.add_parser("calibrate", help="build a scenario from a practice's appointment "
                        "export, with its history and a fit report", parents=[checked])
    ca.add_argument("appointments", help="CSV, one row per appointment: patient_id, "
                    "clinician_id, role, booked_at, appointment_at, status (or an EMIS Web or "
                    "SystmOne report; see docs/calibration.md)")
    ca.add_argument("--out", required=True, help="the scenario to write, e.g. my_practice.yaml "
                    "(its list, history and fit report go beside it)")
    ca.add_argument("--list", help="the registered list (CSV: patient_id and age or age_band; "
                    "optionally n_ltc, housebound, usual_gp)")
    ca.add_argument("--columns", help="a mapping of your export's headings and words (YAML, "
                    "the form of analysis/calibration/formats/emis_web.yaml)")
    ca.add_argument("--list-size", type=int, help="patients on the list, when no list is given "
                    "(default: distinct patients in the export, an underestimate)")
    ca.add_argument("--unmet-share", type=float, default=0.0,
                    help="share of requests that never became an appointment (an export cannot "
                         "show them; default 0)")
    ca.add_argument("--replications", "-r", type=int, default=5,
                    help="replications of the calibrated model for the fit report (default 5)")
    ca.add_argument("--workers", type=_positive,
                    help=f"processes for the fit runs {ALL_CORES}")
    ca.add_argument("--no-fit", action="store_true", help="write the scenario only, no fit report")
    ca.add_argument("--name", help="the practice's name (default: from --out)")
    ca.add_argument("--policy", default="access_first",
                    help="how the practice books today (default access_first; e.g. "
                         "usual_gp_first if reception books patients with their own GP): the "
                         "fit report's continuity shows whether it matches")
    ca.add_argument("--separate-roles", action="store_true",
                    help="each role takes only the requests it saw (default: GPs, ANPs, "
                         "paramedics and physician associates take each other's, as in the "
                         "default practice)")
    ca.add_argument("--monthfirst", dest="dayfirst", action="store_false",
                    help="read dates with slashes as month/day/year (default: day/month/year)")
    ca.set_defaults(func=cmd_calibrate)
    ex = sub.add_parser("export-appointments", help="write a run's appointments as a practice's "
                        "export would be (to try calibrate)")
    ex.add_argument("run", help="a folder written by 'run' (its appointments.parquet)")
    ex.add_argument("--out", required=True, help="the CSV to write")
    ex.add_argument("--form", choices=("canonical", "emis_web", "systmone"), default="canonical",
                    help="column headings and words (default canonical)")
    ex.add_argument("--list", dest="list_out", help="also write the run's patients as a "
                    "registered list (CSV) here")
    ex.set_defaults(func=cmd_export_appointments)
    sc = sub.add_parser("schema", help="print the scenario JSON Schema (or, with --markdown, "
                        "the scenario reference page)")
    sc.add_argument("--out", help="write to this file instead")
    sc.add_argument("--markdown", action="store_true",
                    help="the reference page of every key (docs/scenario-reference.md)")
    sc.set_defaults(func=cmd_schema)
    return p


def entry(prog: str | None = None) -> NoReturn:
    """The command line's entry point (``gpsim``, ``run.py``): :func:`main`, then exit.

    Before exiting, every object is moved out of the garbage collector's reach
    (:func:`gc.freeze`): at exit Python would otherwise sweep them all once more
    (numba's type system alone holds hundreds of thousands: about 0.3 s a
    command), only for the operating system to take the memory back anyway.
    Every file is closed by then (all are written through context managers),
    and exit handlers still run.

    First, the memory each run frees is kept for the next rather than handed
    back to the system (:func:`gpsim.memory.keep_freed_memory`; forked
    workers inherit it). The web app's server is a process of its own, and
    keeps the allocator's defaults.
    """
    from gpsim.memory import keep_freed_memory

    keep_freed_memory()
    code = main(prog=prog)
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Entry point: parse, dispatch, turn bad input into a message and exit 2."""
    prog = prog or Path(sys.argv[0]).name or "gpsim"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command is None:
        root = project_root()
        defaults = [root / "scenarios" / "policies" / f"{name}.yaml"
                    for name in DEFAULT_POLICIES]
        if not all(f.is_file() for f in defaults):
            return _fail("the default comparison needs the project's scenarios/ folder: run "
                         "from the project folder, or give scenario files to 'compare'")
        args = parser.parse_args(["compare", *map(str, defaults),
                                  "--title", "The default practice under four booking approaches",
                                  "--out", str(root / "results" / "default_comparison")])
    if getattr(args, "replication", 0) < 0:
        return _fail("--replication must be 0 or more")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        return _fail("--seed must be 0 or more")
    if getattr(args, "scheduler", None) is not None:  # (read before anything is loaded)
        from sim.runs.cluster import address_problem

        problem = address_problem(args.scheduler)
        if problem:
            return _fail(problem)
    from sim import ScenarioError
    from sim.files.outputs import OutputRefused
    from sim.files.seen import inputs_read
    from sim.runs.cluster import ClusterError

    try:
        with inputs_read():
            return args.func(args)
    except OutputRefused as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ScenarioError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as e:
        for problem in e.args:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except Exception as e:
        if getattr(args, "debug", False):
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1
