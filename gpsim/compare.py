"""Comparing scenarios (or networks) over replications: the library behind ``run.py compare``.

:func:`run_comparison` decides the shared seed (common random numbers), gives
each scenario a label, runs every (scenario, replication) through the one
executor (:mod:`sim.runs.executor`), reduces each run where it ran
(:func:`analysis.compare.reduce_run`), and writes the comparison folder
atomically: tables, the parameter table with sources, the report, and a
manifest of file hashes (``metadata.json``, written last).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.compare import (
    ComparisonTotals,
    reduce_network,
    reduce_practice,
    reduce_run,
    write_comparison,
)
from analysis.replications import INITIAL, KEY_MEASURES, LOOK_AHEAD, advise, needed
from sim.files.outputs import claim_output
from sim.files.provenance import code_version, environment
from sim.inputs.files import is_network_file
from sim.inputs.loading import load_scenario
from sim.inputs.networks import Network, load_network, with_network_seed
from sim.inputs.parameters import parameter_rows, parameter_sources
from sim.inputs.policies import Registry, describe_policy
from sim.inputs.resolve import resolved_yaml, with_seed
from sim.inputs.schema import Scenario
from sim.processes import usable_cores
from sim.runs.batch import run_batch
from sim.runs.executor import importing, kept_workers

#: What may be compared: a scenario or network file, or a loaded scenario or network.
Item = str | Path | Scenario | Network


class ComparisonError(ValueError):
    """A comparison that cannot be run as asked (a message for the user)."""


@dataclasses.dataclass(frozen=True)
class ComparisonResult:
    """What :func:`run_comparison` did.

    Attributes:
        out: the comparison folder (``report.html``, ``comparison.csv``, ...).
        labels: each scenario's label, the baseline first.
        names: label -> the scenario's (or network's) name.
        seed: the master seed every scenario ran with.
        replications: replications per scenario.
        runs: runs made.
        seconds: wall time.
        precision: with a precision target, where it stands (:func:`precision_status`).
    """

    out: Path
    labels: list[str]
    names: dict[str, str]
    seed: int
    replications: int
    runs: int
    seconds: float
    precision: dict | None = None


def load_items(items: Sequence[Item], overrides: Mapping[str, Any] | None = None,
               policies: Registry | None = None) -> list[Scenario | Network]:
    """Scenarios and networks from files (or as given); ``overrides`` apply to scenarios only."""
    out: list[Scenario | Network] = []
    for it in items:
        if isinstance(it, Scenario | Network):
            out.append(it)
        elif is_network_file(it):
            if overrides:
                raise ComparisonError(f"{it}: --set applies to scenarios; put a network's "
                                      "overrides in its practices' set:")
            from gpsim.exports import calibrate_network_practices

            out.append(load_network(it, policies, calibrate_network_practices))
        else:
            out.append(load_scenario(it, overrides, policies))
    return out


def approach_items(files: Sequence[str], approaches: Sequence[str], root: Path,
                   overrides: Mapping[str, Any] | None = None,
                   policies: Registry | None = None
                   ) -> tuple[list[str], list[Scenario], list[str]]:
    """Each scenario file under each approach (a policy name): labels, scenarios and files.

    Each is named "<scenario's name>, <approach>" and labelled with the policy
    name (with one file) or "<file stem>_<policy name>".

    An approach shipped in ``scenarios/policies/`` brings that file's whole
    ``policy:`` block (the clinical champion's cohorts, say) and its short
    name; another policy name is used with its defaults.
    """
    from sim.inputs.yaml_files import read_yaml

    out, labels, files_used = [], [], []
    for name in approaches:
        shipped = root / "scenarios" / "policies" / f"{name}.yaml"
        policy: dict[str, Any] = {"name": name}
        label = name.replace("_", " ")
        if shipped.is_file():
            data = read_yaml(shipped).data
            policy = dict(data.get("policy", policy))
            label = str(data.get("name", label)).split(", ", 1)[-1]
        for f in files:
            base = load_scenario(f, overrides, policies)
            out.append(load_scenario(f, {**(overrides or {}), "policy": policy,
                                         "name": f"{base.name}, {label}"}, policies))
            labels.append(name if len(files) == 1 else f"{Path(f).stem}_{name}")
            files_used.append(f)
    return labels, out, files_used


def labels_for(items: Sequence[Item]) -> list[str]:
    """A short, unique label per item: the file's stem, or the scenario's name made safe."""
    labels: list[str] = []
    for it in items:
        if isinstance(it, Scenario | Network):
            name = it.name if isinstance(it, Scenario) else it.spec.name
            stem = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:40]
        else:
            stem = Path(it).stem
        label, n = stem, 2
        while label in labels:
            label = f"{stem}_{n}"
            n += 1
        labels.append(label)
    return labels


def resolved_text(item: Scenario | Network) -> str:
    """A scenario's resolved YAML; for a network, its spec and every practice's scenario."""
    if isinstance(item, Scenario):
        return resolved_yaml(item)
    data = {"network": item.spec.model_dump(mode="json"),
            "practices": {pid: s.model_dump(mode="json") for pid, s in item.practices}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _parameter_table(labels: list[str], items: list[Scenario | Network],
                     sources: list[Item]) -> pd.DataFrame:
    rows = []
    for label, it, src in zip(labels, items, sources, strict=True):
        if isinstance(it, Network):  # its practices, then the first one's parameters
            rows.append({"scenario": label, "parameter": "network.practices", "value": "; ".join(
                f"{pid}: {s.policy.name}, {s.population.size:,} patients"
                for pid, s in it.practices), "source": f"network file {it.file}"})
            rows += [{"scenario": label, **row} for row in parameter_rows(it.practices[0][1])]
        else:
            found = parameter_sources(src) if isinstance(src, str | Path) else None
            rows += [{"scenario": label, **row} for row in parameter_rows(it, found)]
    return pd.DataFrame(rows)


def change_dates(item: Scenario | Network) -> list[str]:
    """The dates a scenario's policy changes (for a network: any practice's), in order."""
    scenarios = [s for _, s in item.practices] if isinstance(item, Network) else [item]
    return sorted({str(c.from_date) for s in scenarios for c in s.policy_changes})


def approach_text(item: Scenario | Network, policies: Registry | None = None) -> str:
    """What a compared scenario does, in plain words: its policy and any changes of it.

    For a network, the first practice's policy (and how many practices there are).
    """
    if isinstance(item, Network):
        s = item.practices[0][1]
        size = sum(p.population.size for _, p in item.practices)
        lead = f"A network of {len(item.practices)} practices ({size:,} patients). "
    else:
        s, lead = item, ""
    text = lead + describe_policy(s.policy.name, s.policy.params, policies)
    care = urgent_care_text(s)
    if care:
        text += " " + care
    for c in s.policy_changes:
        weeks = max((r.weeks for r in c.ramp), default=0)
        text += (f" From {c.from_date.day} {c.from_date:%B %Y}: "
                 + describe_policy(c.policy.name, c.policy.params, policies))
        if weeks:
            text += f" Uptake builds up over {weeks:g} weeks."
    return text


def urgent_care_text(s: Scenario) -> str:
    """How the practice sees urgent requests and triages, in words ("" for the defaults)."""
    care = s.practice.urgent_care
    words = []
    if care.model == "duty_doctor":
        n = care.duty_doctors_per_day
        words.append(f"Urgent requests go to the day's duty GP{'s' if n > 1 else ''} "
                     f"({n} a day) first.")
    t = care.triage
    if t.requests != "none":
        which = ("each urgent request" if t.requests == "urgent"
                 else "every new urgent or routine request (total triage)")
        words.append(f"A GP telephones {which} before it is booked ({t.minutes_per_call:g} "
                     f"minutes a call; {t.resolved_share:.0%} resolved on the telephone).")
    return " ".join(words)


def descriptions(items: Sequence[Scenario | Network]) -> tuple[str, list[str]]:
    """The practice's description shared by every item (or ""), and what is left of each."""
    texts = [" ".join(((it.practices[0][1] if isinstance(it, Network) else it).description
                       or "").split()) for it in items]
    common = texts[0] if len(set(texts)) == 1 else ""
    return common, ["" if common else t for t in texts]


def write_manifest(folder: Path) -> None:
    """``metadata.json``: the SHA-256 of every file in ``folder`` (written last)."""
    hashes = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "metadata.json"}
    (folder / "metadata.json").write_text(json.dumps({"files": hashes}, indent=2),
                                          encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class ComparisonRequest:
    """What a comparison is asked to do (:func:`run_comparison`).

    Attributes:
        items: scenario or network files (or loaded ones); the first is the baseline.
        out: the folder to write (claimed before anything runs; see
            :func:`sim.files.outputs.claim_output`).
        replications: runs per item (2 or more: intervals need two).
        workers: local processes (default: every core this process may use).
        seed: the master seed (default: the first item's own, else a fresh one).
        overrides: ``{"dotted.key": value}`` for every scenario (not networks).
        title: the report's title.
        scheduler: a Dask scheduler's address, to run on its cluster.
        progress: draw a progress bar (None: on a terminal outside CI).
        policies: the policy registry (None: the installed one).
        plot_formats: plot formats to write besides PNG (``svg``, ``pdf``), for papers.
        labels: a label per item (default: from the file names or scenario names).
        sources: the file each item came from, when items are loaded scenarios (its
            comments are the parameters' sources in the report).
        side_by_side_plots: draw the plots in forked processes, shared out over the
            cores (the command line; not the app, whose server runs many threads).
        force: write into ``out`` even if it holds files the tool did not write (they
            are left as they are).
        precision: a target relative precision (0.05: every key measure's 95% interval
            within 5% of its mean, in every scenario); ``replications`` is then the first
            batch, and batches are added (the confidence-interval method's projection)
            until the target is met or ``max_replications`` is reached.
        max_replications: the most replications ``precision`` may run per scenario.
        precision_measures: the measures ``precision`` applies to.
    """

    items: Sequence[Item]
    out: str | Path
    replications: int = 10
    workers: int | None = None
    seed: int | None = None
    overrides: Mapping[str, Any] | None = None
    title: str | None = None
    scheduler: str | None = None
    progress: bool | None = None
    policies: Registry | None = None
    plot_formats: tuple[str, ...] = ("png",)
    labels: Sequence[str] | None = None
    sources: Sequence[Item] | None = None
    side_by_side_plots: bool = False
    force: bool = False
    precision: float | None = None
    max_replications: int = 100
    precision_measures: Sequence[str] = KEY_MEASURES


def precision_status(reduced: list, labels: list[str], precision: float,
                     measures: Sequence[str], cap: int) -> dict:
    """Where a comparison stands against its precision target, and what to run next.

    Returns ``{"target", "reached", "next", "capped", "worst"}``: ``next`` is the
    replications to run per scenario (the largest any scenario's measure wants,
    at most ``cap``); ``worst`` lists the measures not yet within the target as
    ``{"scenario", "measure", "relative_precision", "wanted"}``.
    """
    runs = pd.concat([t["runs"].assign(scenario=lb, replication=k) for lb, k, t in reduced],
                     ignore_index=True)
    runs = runs[runs["scenario"].isin(labels)]
    advice = advise(runs, precision, measures)
    want = needed(advice)
    short = [a for a in advice if a.reached is None]
    reached = not short
    nxt = cap if want is None else min(cap, want)
    return {"target": precision, "reached": reached, "next": int(nxt),
            "capped": (not reached) and (want is None or want > cap),
            "worst": [{"scenario": a.scenario, "measure": a.measure,
                       "relative_precision": (round(a.relative_precision, 4)
                                              if math.isfinite(a.relative_precision) else None),
                       "wanted": a.wanted} for a in short]}


def run_comparison(
    request: ComparisonRequest,
    *,
    on_start: Callable[[list[str], int, int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_more: Callable[[int, int, dict], None] | None = None,
) -> ComparisonResult:
    """Run every item ``replications`` times and write the comparison folder ``out``.

    Args:
        request: what to compare, how and where (:class:`ComparisonRequest`).
        on_start: called with (labels, runs, processes) once everything is
            loaded and before anything runs (the command line prints it).
        on_progress: called with (runs finished, runs in all) as each run finishes (the
            app's progress bar); an exception it raises stops the comparison, and runs
            not yet started never start.
        on_more: with ``precision``, called with (replications run, replications to reach,
            the precision status) before each further batch.

    Raises:
        ComparisonError: for a request that cannot be run (too few replications).
        sim.ScenarioError: for a file with problems (every problem named).
        sim.files.outputs.OutputRefused: an output folder it may not write.
    """
    r = request
    items, out, replications, workers, seed = r.items, r.out, r.replications, r.workers, r.seed
    overrides, title, scheduler, progress = r.overrides, r.title, r.scheduler, r.progress
    policies, plot_formats, labels, sources = r.policies, r.plot_formats, r.labels, r.sources
    side_by_side_plots, force = r.side_by_side_plots, r.force
    if replications < 2:
        raise ComparisonError("--replications must be 2 or more (intervals need two)")
    if r.precision is not None and replications < INITIAL + LOOK_AHEAD:
        raise ComparisonError(f"with --precision, --replications is the first batch and must "
                              f"be {INITIAL + LOOK_AHEAD} or more (the method judges from "
                              f"{INITIAL} and looks {LOOK_AHEAD} ahead)")
    if r.precision is not None and r.max_replications < replications:
        raise ComparisonError(f"--max-replications ({r.max_replications}) is below the first "
                              f"batch (--replications {replications})")
    loaded = load_items(items, overrides, policies)
    labels = list(labels) if labels is not None else labels_for(items)
    first = loaded[0]
    # One seed for all, so replication k of every scenario shares its streams.
    if seed is None:
        seed = first.spec.seed if isinstance(first, Network) else with_seed(first).seed
    loaded = [with_network_seed(it, seed) if isinstance(it, Network)
              else it.model_copy(update={"seed": seed}) for it in loaded]
    names = {lb: (it.spec.name if isinstance(it, Network) else it.name)
             for lb, it in zip(labels, loaded, strict=True)}
    # Each run's long tables wait on disk until the comparison is written (a network's
    # run has millions of waits), so memory stays flat in the number of runs.
    with claim_output(out, command="compare", force=force) as folder, \
            tempfile.TemporaryDirectory(prefix="gpsim-compare-") as spill:
        workers = workers or usable_cores()
        target = replications
        planned = target * len(loaded)
        if on_start is not None:
            on_start(labels, planned, 0 if scheduler else min(workers, planned))
        t0 = time.perf_counter()
        totals = ComparisonTotals(Path(spill))
        done, precision = 0, None
        # With --precision, every batch of replications goes to one set of workers,
        # as many as the most runs that may be asked for (a single batch's, without).
        most = (r.max_replications if r.precision is not None else replications) * len(loaded)
        workers = min(workers, most)
        with kept_workers(workers if not scheduler else 1):
            while True:
                jobs = [(lb, it, k) for k in range(done, target)
                        for lb, it in zip(labels, loaded, strict=True)]
                for finished in run_batch(jobs, reduce_run, workers=workers,
                                          description="runs", network_reducer=reduce_network,
                                          practice_reducer=reduce_practice, scheduler=scheduler,
                                          progress=progress, policies=policies,
                                          meanwhile=importing("analysis.report")):
                    totals.add(*finished)
                    if on_progress is not None:
                        on_progress(len(totals.small), max(planned, len(totals.small)))
                done = target
                if r.precision is None:
                    break
                precision = precision_status(totals.small, labels, r.precision,
                                             r.precision_measures, r.max_replications)
                if precision["reached"] or precision["next"] <= done:
                    break
                target = precision["next"]
                planned = target * len(loaded)
                if on_more is not None:
                    on_more(done, target, precision)
        replications = done
        data = totals.data(labels)
        scenarios = [it.practices[0][1] if isinstance(it, Network) else it for it in loaded]
        s0 = scenarios[0]
        meta = {
            "title": title or "Comparison of booking approaches",
            "replications": replications, "seeds": [seed], "precision": precision,
            "warmup_days": s0.warmup_days, "window_days": s0.duration_days,
            "code_version": code_version(), "environment": environment(),
            "files": {lb: str(it) for lb, it in zip(labels, items, strict=True)
                      if isinstance(it, str | Path)},
            "changes": {lb: change_dates(it) for lb, it in zip(labels, loaded, strict=True)},
        }
        common, own = descriptions(loaded)
        meta["practice_description"] = common
        meta["approaches"] = {lb: " ".join(x for x in (text, approach_text(it, policies)) if x)
                              for lb, it, text in zip(labels, loaded, own, strict=True)}
        with folder.writing() as stage:
            texts = {lb: resolved_text(it) for lb, it in zip(labels, loaded, strict=True)}
            write_comparison(stage, data, labels, names, texts,
                             _parameter_table(labels, loaded, list(sources or items)), meta)
            totals.write_long(stage / "data", labels)
            from analysis.report import render

            render(stage, formats=plot_formats, side_by_side=side_by_side_plots)
            write_manifest(stage)
    return ComparisonResult(out=Path(out), labels=labels, names=names, seed=seed,
                            replications=replications, runs=len(totals.small),
                            seconds=time.perf_counter() - t0, precision=precision)
