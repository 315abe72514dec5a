"""Choosing an approach and its settings: the library behind ``gpsim choose``.

Three stages, every run through the project's one executor (local processes
or a Dask cluster) and every run stored as it finishes, so an interrupted
choice resumes where it stopped and gives the same answer:

1. **Search** (Optuna's TPE sampler, with the constraints): settings of each
   option are proposed in fixed batches, each run for the same replications
   as today's practice (common random numbers). Each option is tried first at
   the middle of its ranges. Optuna was chosen because its ask-and-tell
   interface lets the project's executor run a batch in parallel while the
   sampler stays deterministic for a seed, and its TPE sampler handles mixed,
   conditional spaces (each option has its own settings) and constraints.
2. **Selection** among the search's best (the finalists, and today's
   practice): each is run on fresh replications; a constraint is met only when
   its whole 95% interval is on the right side (more replications while
   undecided); then Kim and Nelson's KN procedure (:mod:`analysis.selection`)
   picks the best of those that meet every constraint, with a stated
   indifference zone and probability of correct selection.
3. **Robustness**: the chosen option and its nearest rivals are run at
   practices sampled across the assumptions' plausible ranges, Morris
   screening first and Sobol indices on the assumptions that matter most
   (SALib); the report says in what share of those practices the choice stays
   best, or within the indifference zone.

Replication numbers: the search uses 0, 1, ...; the selection starts at
10,000 and the robustness check at 20,000, so the selection's verdict is not
drawn from the noise that made the finalists look good.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.selection import (
    KNState,
    judge_constraint,
    kn_choice,
    kn_screen,
    morris_design,
    morris_indices,
    per_replication,
    run_measures,
    sobol_design,
    sobol_indices,
)
from analysis.summary import SUMMARY_COLUMNS
from sim.files.outputs import claim_output, write_text_atomically
from sim.inputs.policies import Registry
from sim.inputs.questions import TODAY, Candidate, Question, Range, grid_size, load_question
from sim.inputs.schema import Scenario
from sim.inputs.sweeps import run_key
from sim.runs.batch import run_batch
from sim.runs.executor import kept_workers

SELECTION_FROM = 10_000
ROBUSTNESS_FROM = 20_000
#: The measures an objective or constraint may name: a run's summary columns.
MEASURES = set(SUMMARY_COLUMNS)


def load(path: str | Path, policies: Registry | None = None) -> Question:
    """Read and check a question file (measures included)."""
    return load_question(path, policies, MEASURES)


class RunStore:
    """Every run's measures, one small JSON file per run under ``runs/``, kept between calls.

    A run is named by :func:`sim.inputs.sweeps.run_key` (its resolved scenario
    and replication), so a run asked for twice (the same setting proposed
    again, or a resumed choice) is made once.
    """

    def __init__(self, folder: Path, workers: int = 1, scheduler: str | None = None,
                 progress: bool | None = None, policies: Registry | None = None):
        self.folder = folder
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress
        self.policies = policies
        self.known: dict[str, dict[str, float]] = {}
        self.made = 0
        self.reused = 0
        self._scenarios: dict[tuple, Scenario] = {}
        if folder.is_dir():
            for f in sorted(folder.glob("*.json")):
                try:
                    self.known[f.stem] = json.loads(f.read_text(encoding="utf-8"))["measures"]
                except (ValueError, KeyError, OSError):
                    continue  # a file cut short by an interruption: the run is made again

    def scenario(self, question: Question, candidate: Candidate,
                 assumed: tuple[tuple[str, Any], ...] = ()) -> Scenario:
        """The candidate's scenario under the assumed values (loaded once)."""
        key = (candidate, assumed)
        if key not in self._scenarios:
            self._scenarios[key] = question.scenario(candidate, dict(assumed), self.policies)
        return self._scenarios[key]

    def measure(self, jobs: list[tuple[Scenario, int]], what: str) -> list[dict[str, float]]:
        """The measures of every ``(scenario, replication)``, running those not yet stored."""
        keys = [run_key(s, k) for s, k in jobs]
        todo: dict[str, tuple[Scenario, int]] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key not in self.known and key not in todo:
                todo[key] = job
        self.reused += len(keys) - len(todo)  # asked for again, in this batch or before
        if todo:
            self.folder.mkdir(parents=True, exist_ok=True)
            batch = [(key, s, k) for key, (s, k) in todo.items()]
            for key, _k, kept in run_batch(batch, run_measures, workers=self.workers,
                                           scheduler=self.scheduler, progress=self.progress,
                                           description=what, policies=self.policies):
                write_text_atomically(self.folder / f"{key}.json",
                                      json.dumps({"measures": kept}, sort_keys=True))
                self.known[key] = kept
                self.made += 1
        return [self.known[key] for key in keys]


@dataclasses.dataclass
class Finalist:
    """A candidate in the selection: its replications' measures and verdicts."""

    candidate: Candidate
    from_search: float | None
    runs: list[dict[str, float]] = dataclasses.field(default_factory=list)
    verdicts: list[tuple[str, float, float, float]] = dataclasses.field(default_factory=list)
    status: str = "undecided"  # feasible / infeasible / not shown / chosen / tied / screened
    screened_at: int = 0


@dataclasses.dataclass
class Choice:
    """What a choice found: everything the report and tables need."""

    question: Question
    search: pd.DataFrame
    finalists: list[Finalist]
    today_runs: list[dict[str, float]]
    chosen: Candidate | None
    tied: list[Candidate]
    kn: dict
    robustness: pd.DataFrame | None = None
    morris: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    rivals: list[Candidate] = dataclasses.field(default_factory=list)
    runs_made: int = 0
    runs_reused: int = 0
    seconds: float = 0.0


class Chooser:
    """Runs the three stages of a choice for one question."""

    def __init__(self, question: Question, store: RunStore,
                 say: Callable[[str], None] = lambda _: None):
        self.q = question
        self.spec = question.spec
        self.store = store
        self.say = say
        self.maximise = self.spec.objective.direction == "maximise"
        self._search: pd.DataFrame | None = None

    # ------------------------------------------------------------------ helpers

    def runs(self, candidates: list[Candidate], reps: range, what: str,
             assumed: tuple[tuple[str, Any], ...] = ()) -> dict[Candidate, list[dict]]:
        """Each candidate's measures at each replication (one executor call for them all)."""
        return self.runs_at(candidates, reps, what, [assumed])[0]

    def runs_at(self, candidates: list[Candidate], reps: range, what: str,
                points: list[tuple[tuple[str, Any], ...]]) -> list[dict[Candidate, list[dict]]]:
        """:meth:`runs` at each point of assumed values, all in one executor call."""
        jobs = [(self.store.scenario(self.q, c, assumed), k)
                for assumed in points for c in candidates for k in reps]
        got = self.store.measure(jobs, what)
        n, per_point = len(reps), len(candidates) * len(reps)
        return [{c: got[p * per_point + i * n:p * per_point + (i + 1) * n]
                 for i, c in enumerate(candidates)} for p in range(len(points))]

    def values(self, runs: list[dict], today: list[dict], constraint) -> np.ndarray:
        """A constraint's measure per replication; paired with today's where it is relative."""
        return per_replication(runs, constraint.measure,
                               today if constraint.relative_to == TODAY else None)

    def violations(self, runs: list[dict], today: list[dict]) -> list[float]:
        """Each constraint's mean excess over its bound (0 or less: met on the mean)."""
        return [float(c.excess(np.nanmean(self.values(runs, today, c))))
                for c in self.spec.constraints]

    def objective(self, runs: list[dict]) -> float:
        """The objective's mean over runs."""
        return float(np.nanmean(per_replication(runs, self.spec.objective.measure)))

    def ranked(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Search rows best first: those meeting the constraints on their means first."""
        rows = rows.assign(_b=[self.better(x) for x in rows["objective"]])
        return rows.sort_values(["meets_constraints_on_mean", "_b", "trial"],
                                ascending=[False, False, True], kind="stable")

    def better(self, x: float) -> float:
        """The objective oriented so that larger is better."""
        return x if self.maximise else -x

    # ------------------------------------------------------------------ search

    def search(self) -> tuple[pd.DataFrame, list[dict]]:
        """Stage 1: propose settings in batches, run them, tell the sampler; every trial's row."""
        import optuna

        s = self.spec.search
        reps = range(s.replications)
        today = self.runs([Candidate(TODAY)], reps, "today")[Candidate(TODAY)]
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if s.sampler == "tpe":
                # Multivariate TPE, grouped because each option has its own settings;
                # the constant liar keeps a batch's proposals apart.
                sampler = optuna.samplers.TPESampler(
                    seed=self.q.today.seed % 2**32, multivariate=True, group=True,
                    constant_liar=True, n_startup_trials=min(10, max(1, s.trials // 3)))
            else:
                sampler = optuna.samplers.RandomSampler(seed=self.q.today.seed % 2**32)
            study = optuna.create_study(direction="maximize" if self.maximise else "minimize",
                                        sampler=sampler)
            for o in self.spec.options:
                study.enqueue_trial(self._middle(o))
            rows: list[dict] = []
            tried: dict[Candidate, tuple[float, list[float]]] = {}
            space = sum(grid_size(o.search) for o in self.spec.options)
            while len(rows) < s.trials and len(tried) < space:
                # A batch of settings not tried before; a repeat proposal is told its
                # known result at once (it costs nothing) and another is asked for.
                asked, cands, repeats = [], [], 0
                want = min(s.batch, s.trials - len(rows))
                while len(asked) < want and repeats < 50 * s.batch:
                    t = study.ask()
                    c = self._suggest(t)
                    if c in tried:
                        self._tell(study, t, *tried[c])
                        repeats += 1
                    elif c in cands:
                        study.tell(t, state=optuna.trial.TrialState.PRUNED)
                        repeats += 1
                    else:
                        asked.append(t)
                        cands.append(c)
                if not asked:
                    break
                self.say(f"search: settings {len(rows) + 1} to {len(rows) + len(asked)} "
                         f"of {s.trials}")
                got = self.runs(cands, reps, "search")
                for t, c in zip(asked, cands, strict=True):
                    obj = self.objective(got[c])
                    viol = self.violations(got[c], today)
                    tried[c] = (obj, viol)
                    self._tell(study, t, obj, viol)
                    rows.append({"trial": len(rows) + 1, "candidate": c.label,
                                 "option": c.option, "settings": json.dumps(dict(c.values)),
                                 "objective": obj, "meets_constraints_on_mean":
                                 all(v <= 0 for v in viol),
                                 **{f"constraint_{i + 1}_excess": v
                                    for i, v in enumerate(viol)},
                                 "_candidate": c})
        self._search = pd.DataFrame(rows)
        return self._search, today

    @staticmethod
    def _tell(study, trial, objective: float, violations: list[float]) -> None:
        for i, v in enumerate(violations):  # 0 or less: met (Optuna's convention)
            trial.set_constraint(f"constraint_{i + 1}", v)
        study.tell(trial, objective)

    def _middle(self, option) -> dict:
        """The enqueued first trial of an option: the middle of each of its ranges."""
        params: dict[str, Any] = {"option": option.name}
        for path, space in option.search.items():
            name = f"{option.name}|{path}"
            if isinstance(space, list):
                params[name] = (len(space) - 1) // 2
            else:
                mid = (space.low + space.high) / 2
                if space.step:
                    mid = space.low + round((mid - space.low) / space.step) * space.step
                params[name] = round(float(mid)) if space.whole else mid
        return params

    def _suggest(self, trial) -> Candidate:
        """The candidate a trial proposes."""
        names = [o.name for o in self.spec.options]
        name = trial.suggest_categorical("option", names)
        values = []
        for path, space in self.q.option(name).search.items():
            key = f"{name}|{path}"
            if isinstance(space, list):
                values.append((path, space[trial.suggest_categorical(
                    key, list(range(len(space))))]))
            elif space.whole:
                values.append((path, trial.suggest_int(key, int(space.low), int(space.high),
                                                       step=int(space.step or 1))))
            else:
                x = trial.suggest_float(key, space.low, space.high, step=space.step)
                values.append((path, round(float(x), 6)))
        return Candidate(name, tuple(values))

    # ------------------------------------------------------------------ selection

    def select(self, search: pd.DataFrame) -> tuple[list[Finalist], list[dict],
                                                    Candidate | None, list[Candidate], dict]:
        """Stage 2: constraints on intervals, then KN among those that meet them all."""
        sel = self.spec.selection
        ranked = self.ranked(search)
        # Each option's best first (so every approach reaches the selection), then the
        # best of the rest; those meeting the constraints on their search means first.
        seen: dict[Candidate, float] = {}
        for o in self.spec.options:
            mine = ranked[ranked["option"] == o.name]
            if len(mine) and len(seen) < sel.finalists:
                seen[mine["_candidate"].iloc[0]] = float(mine["objective"].iloc[0])
        for c, obj in zip(ranked["_candidate"], ranked["objective"], strict=True):
            if len(seen) >= sel.finalists:
                break
            seen.setdefault(c, float(obj))
        finalists = [Finalist(c, obj) for c, obj in seen.items()]
        if sel.include_today:
            finalists.insert(0, Finalist(Candidate(TODAY), None))
        today_c = Candidate(TODAY)
        today: list[dict] = []

        by_candidate = {f.candidate: f for f in finalists}

        def extend(group: list[Finalist], n: int, what: str) -> None:
            """Run each of ``group`` (and today) on to ``n`` selection replications."""
            nonlocal today
            need = [(f.candidate, len(f.runs)) for f in group
                    if f.candidate != today_c and len(f.runs) < n]
            if len(today) < n:
                need.append((today_c, len(today)))
            jobs = [(self.store.scenario(self.q, c), SELECTION_FROM + k)
                    for c, have in need for k in range(have, n)]
            got = self.store.measure(jobs, what)
            i = 0
            for c, have in need:
                part, i = got[i:i + n - have], i + n - have
                if c == today_c:
                    today = today + part
                else:
                    by_candidate[c].runs = by_candidate[c].runs + part
            if today_c in by_candidate:
                by_candidate[today_c].runs = today

        n = sel.first_stage
        self.say(f"selection: {len(finalists)} finalists, {n} replications each to start")
        extend(finalists, n, "selection")
        undecided = list(finalists)
        while True:
            for f in undecided:
                f.verdicts = [judge_constraint(self.values(f.runs, today, c), c.bound,
                                               c.at_most is not None)
                              for c in self.spec.constraints]
                words = [v[0] for v in f.verdicts]
                f.status = ("infeasible" if "not met" in words else
                            "undecided" if "undecided" in words else "feasible")
            undecided = [f for f in undecided if f.status == "undecided"]
            if not undecided or n >= sel.max_replications:
                break
            n = min(sel.max_replications, n + sel.first_stage)
            self.say(f"selection: {len(undecided)} finalist(s) not yet clear of a constraint; "
                     f"{n} replications")
            extend(undecided, n, "constraints")
        for f in undecided:
            f.status = "not shown"
        feasible = [f for f in finalists if f.status == "feasible"]
        kn = {"alpha": 1 - sel.probability, "delta": sel.indifference_zone,
              "n0": sel.first_stage, "k": len(feasible), "replications": 0, "h2": 0.0,
              "stopped": "none met the constraints" if not feasible else "one met them"}
        if len(feasible) < 2:
            chosen = feasible[0].candidate if feasible else None
            if feasible:
                feasible[0].status = "chosen"
                kn["replications"] = len(feasible[0].runs)
            return finalists, today, chosen, [], kn
        state = KNState([f.candidate.label for f in feasible], 1 - sel.probability,
                        sel.indifference_zone, sel.first_stage, self.maximise)
        rows = min(len(f.runs) for f in feasible)
        measure = self.spec.objective.measure
        while True:
            obs = np.full((rows, len(feasible)), np.nan)
            for j, f in enumerate(feasible):
                vals = per_replication(f.runs[:rows], measure)
                obs[:len(vals), j] = vals
            kn_screen(state, obs)
            if state.done or rows >= sel.max_replications:
                break
            rows = min(sel.max_replications, rows + sel.first_stage)
            alive = [f for f, a in zip(feasible, state.alive, strict=True) if a]
            self.say(f"selection: {len(alive)} still in the running; {rows} replications")
            extend(alive, rows, "selection")
        best, others = kn_choice(state, obs)
        for j, f in enumerate(feasible):
            f.screened_at = int(state.eliminated_at[j])
            f.status = ("chosen" if j == best else "tied" if j in others else "screened out")
        kn.update(h2=state.h2, replications=state.r,
                  stopped=("one left" if state.alive.sum() == 1 else
                           "tied" if state.tied else "budget"))
        return (finalists, today, feasible[best].candidate,
                [feasible[j].candidate for j in others], kn)

    # ------------------------------------------------------------------ robustness

    def rivals(self, chosen: Candidate, finalists: list[Finalist]) -> list[Candidate]:
        """The chosen option's nearest rivals: the best setting of each other option, then today.

        Other settings of the chosen option are no rivals a practice weighs (they
        are the same approach); the question is whether another approach, or
        staying as it is, would win. Each option's best is its best finalist that
        met every constraint, else its best in the search.
        """
        out: list[Candidate] = []
        failed = {f.candidate for f in finalists if f.status in ("infeasible", "not shown")}
        for o in self.spec.options:
            if o.name == chosen.option:
                continue
            met = [f for f in finalists if f.candidate.option == o.name
                   and f.status in ("tied", "screened out", "feasible")]
            if met:
                out.append(max(met, key=lambda f: self.better(self.objective(f.runs))).candidate)
            elif self._search is not None:
                rows = self._search[(self._search["option"] == o.name)
                                    & ~self._search["_candidate"].isin(failed)]
                if len(rows):
                    out.append(self.ranked(rows)["_candidate"].iloc[0])
        if chosen.option != TODAY:
            out.append(Candidate(TODAY))
        return out

    def robustness(self, chosen: Candidate, finalists: list[Finalist]) -> tuple:
        """Stage 3: the choice and its rivals across the assumptions' plausible ranges."""
        rob = self.spec.robustness
        names = list(rob.assumptions)
        ranges: list[Range] = [rob.assumptions[k] for k in names]
        bounds = [(r.low, r.high) for r in ranges]
        rivals = [chosen, *self.rivals(chosen, finalists)][:rob.finalists]
        need_today = any(c.relative_to == TODAY for c in self.spec.constraints)
        run_for = rivals + ([Candidate(TODAY)] if need_today and Candidate(TODAY) not in rivals
                            else [])
        reps = range(ROBUSTNESS_FROM, ROBUSTNESS_FROM + rob.replications)
        seed = self.q.today.seed
        rows: list[dict] = []

        def run_points(x: np.ndarray, design: str, what: str) -> None:
            # Every sampled practice's runs in one batch (the design is fixed beforehand),
            # so the workers are never left waiting for the last run of a point.
            points = [tuple((k, r.value(v)) for k, r, v in zip(names, ranges, point,
                                                               strict=True)) for point in x]
            got = self.runs_at(run_for, reps, what, points)
            for i, (assumed, at_point) in enumerate(zip(points, got, strict=True)):
                rows.append(self._point_row(design, i, dict(assumed), at_point, rivals))

        xm = morris_design(names, bounds, rob.trajectories, rob.levels, seed)
        self.say(f"robustness: Morris screening, {len(xm)} sampled practices x "
                 f"{len(run_for)} options x {rob.replications} replications")
        run_points(xm, "morris", "Morris")
        table = pd.DataFrame(rows)
        outputs = self._outputs()
        morris = []
        for out, label in outputs:
            ind = morris_indices(names, bounds, xm, table[out].to_numpy(), rob.levels, seed)
            morris += [{"output": out, "output_label": label, "assumption": k,
                        "low": b[0], "high": b[1], **{m: float(ind[m][i]) for m in ind}}
                       for i, (k, b) in enumerate(zip(names, bounds, strict=True))]
        morris = pd.DataFrame(morris)
        sobol = None
        if rob.sobol_samples and names:
            margin = morris[morris["output"] == "margin"].sort_values("mu_star",
                                                                      ascending=False)
            top = list(margin["assumption"][:min(rob.sobol_top, len(names))])
            if len(top) >= 1:
                sub_bounds = [bounds[names.index(k)] for k in top]
                xs = sobol_design(top, sub_bounds, rob.sobol_samples, seed)
                full = np.array([[(lo + hi) / 2 for lo, hi in bounds]] * len(xs))
                for j, k in enumerate(top):
                    full[:, names.index(k)] = xs[:, j]
                self.say(f"robustness: Sobol indices of {', '.join(top)}, {len(xs)} sampled "
                         "practices")
                before = len(rows)
                run_points(full, "sobol", "Sobol")
                part = pd.DataFrame(rows[before:])
                found = []
                for out, label in outputs[:2]:
                    ind = sobol_indices(top, sub_bounds, part[out].to_numpy(), seed)
                    found += [{"output": out, "output_label": label, "assumption": k,
                               **{m: float(ind[m][i]) for m in ind}}
                              for i, k in enumerate(top)]
                sobol = pd.DataFrame(found)
        return pd.DataFrame(rows), morris, sobol, rivals

    def _outputs(self) -> list[tuple[str, str]]:
        """What the sensitivity analysis explains: the objective, the lead, each constraint."""
        outs = [("objective", "the chosen option's objective"),
                ("margin", "its lead over the best rival")]
        outs += [(f"constraint_{i + 1}", f"constraint {i + 1} ({c.measure})")
                 for i, c in enumerate(self.spec.constraints)]
        return outs

    def _point_row(self, design: str, i: int, assumed: dict, got: dict, rivals: list
                   ) -> dict:
        """One sampled practice: each option's objective, the chosen one's lead and constraints.

        ``margin`` is the chosen option's lead on the objective over its best rival
        (whatever the rival's constraints); ``stays_best`` compares it only with the
        rivals that meet every constraint there (on the mean of the runs).
        """
        objs = {c: self.objective(got[c]) for c in rivals}
        today = got.get(Candidate(TODAY), got.get(rivals[0]))
        meets = {}
        cons = {}
        for c in rivals:
            ok = True
            for j, k in enumerate(self.spec.constraints):
                v = float(np.nanmean(self.values(got[c], today, k)))
                ok &= k.excess(v) <= 0
                if c == rivals[0]:
                    cons[f"constraint_{j + 1}"] = v
            meets[c] = bool(ok)
        chosen, others = rivals[0], rivals[1:]
        mine = self.better(objs[chosen])
        best = max(others, key=lambda c: self.better(objs[c])) if others else None
        margin = mine - self.better(objs[best]) if best is not None else 0.0
        valid = [self.better(objs[c]) for c in others if meets[c]]
        lead = mine - max(valid) if valid else np.inf
        zone = self.spec.selection.indifference_zone
        return {"design": design, "point": i + 1, **assumed, "objective": objs[chosen],
                "margin": margin, "best_rival": best.label if best is not None else "",
                **{f"objective_{c.label}": objs[c] for c in rivals},
                **{f"meets_constraints_{c.label}": meets[c] for c in others}, **cons,
                "meets_constraints": meets[chosen], "stays_best": bool(lead >= 0),
                "within_zone": bool(lead >= -zone)}


def choose(question: Question, out: Path, *, workers: int = 1, scheduler: str | None = None,
           progress: bool | None = None, policies: Registry | None = None,
           force: bool = False, say: Callable[[str], None] = lambda _: None) -> Choice:
    """Answer a question: search, select, check robustness; write the report into ``out``."""
    from analysis.choice_report import write_choice
    from sim.files.provenance import code_version, environment
    from sim.inputs.parameters import parameter_rows

    started = time.perf_counter()
    with claim_output(out, command="choose", force=force, bulk=("runs",)) as folder:
        folder.mark_bulk()
        store = RunStore(out / "runs", workers, scheduler, progress, policies)
        if store.known:
            say(f"resuming: {len(store.known)} runs already saved in {out / 'runs'}")
        ch = Chooser(question, store, say)
        # One set of worker processes for every stage's batches (each loads the engine
        # once), rather than new ones for each batch.
        with kept_workers(workers if not scheduler else 1):
            search, _ = ch.search()
            finalists, today, chosen, tied, kn = ch.select(search)
            choice = Choice(question, search.drop(columns="_candidate"), finalists, today,
                            chosen, tied, kn)
            if chosen is not None and question.spec.robustness.assumptions:
                (choice.robustness, choice.morris, choice.sobol,
                 choice.rivals) = ch.robustness(chosen, finalists)
        choice.runs_made, choice.runs_reused = store.made, store.reused
        choice.seconds = time.perf_counter() - started
        say("writing the report")
        chosen_scenario = (store.scenario(question, chosen) if chosen is not None
                           else question.today)
        meta = {"code_version": code_version(), "environment": environment(),
                "question_file": str(question.file), "workers": workers,
                "scheduler": scheduler}
        with folder.writing() as stage:
            write_choice(stage, choice, parameter_rows(chosen_scenario), meta)
    return choice
