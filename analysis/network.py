"""A network's results: each practice's summary and the network's, which add up.

Each practice's run is reduced, where it ran, to its summary *parts*
(:func:`analysis.summary.summary_parts`: counts, sums and routine waits); the
network's figures are computed from the parts added together, so counts add
up exactly, rates are the list-weighted rates of the whole network, and the
90th percentile wait is that of all the network's routine waits. Memory
stays flat however many practices there are (tested equal to pooling every
practice's tables, :func:`pool_tables`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .continuity import one_of
from .monthly import monthly_from_parts, monthly_parts_by_code, with_routine_waits
from .outputs import write_run
from .summary import (
    SUMMARY_COLUMNS,
    WAIT_ARRAYS,
    cohorts_from_parts,
    combine_parts,
    run_parts,
    summary_from_parts,
)

POOLED = ("appointments", "requests", "unmet", "clinician_days", "patients", "emergency")


@dataclasses.dataclass
class PracticeParts:
    """What the network summary needs of one practice's run."""

    policy: str
    window_days: int
    parts: dict
    cohorts: dict[str, dict]
    hub_appointments: int
    #: The monthly parts without their routine waits (``parts["routine_waits"]`` are
    #: the same waits), and each of those waits' month (:func:`monthly_parts_by_code`):
    #: sent once rather than twice, and held once by a network's parent.
    monthly: dict
    routine_months: np.ndarray
    #: The practice's own summary row and monthly table, made where it ran (so that the
    #: parent, which adds up every practice, only adds), or None to be made from the parts.
    summary: pd.DataFrame | None = None
    monthly_table: pd.DataFrame | None = None

    def full_monthly(self) -> dict:
        """The monthly parts with each month's routine waits (:func:`monthly_parts`)."""
        return with_routine_waits(self.monthly, self.parts["routine_waits"],
                                  self.routine_months)


def practice_parts(result, hub_ids=frozenset(), parts=None, tables: str = "") -> PracticeParts:
    """A practice's summary parts, cohort parts and hub appointments (:class:`sim.RunResult`).

    ``parts``: the run's :func:`analysis.summary.run_parts`, if already computed.
    ``tables``: ``"summary"`` makes the practice's own summary row too, ``"monthly"``
    its monthly table as well (in a worker: the parent adding up a network of
    hundreds of practices then only adds).
    """
    summary, cohorts = parts if parts is not None else run_parts(result)
    s = result.scenario
    gp_roles = tuple(name for name, role in s.roles.items() if role.holds_list)
    # the same routine waits as the summary parts', in the same order (one set of rows)
    monthly, _, months = monthly_parts_by_code(result.tables, s.start_date, s.warmup_days,
                                               s.end_day, s.population.size, gp_roles)
    reduced = PracticeParts(
        policy=s.policy.name, window_days=s.duration_days, parts=summary, cohorts=cohorts,
        hub_appointments=_hub_count(result.tables["appointments"], hub_ids), monthly=monthly,
        routine_months=months,
        summary=summary_from_parts(summary) if tables in ("summary", "monthly") else None)
    if tables == "monthly":
        reduced.monthly_table = monthly_from_parts(reduced.full_monthly())
    return reduced


def write_and_reduce(result, out: str | Path, hub_ids=frozenset(),
                     plots: bool = True) -> PracticeParts:
    """In a worker: write a practice's full results to ``out``; keep its summary parts.

    The practice is named by its folder's name (its id in the network file);
    ``plots``: draw its wait plot too. ``out`` is wholly the tool's (inside the
    network's claimed output folder) and is replaced in one step.
    """
    reduced = practice_parts(result, hub_ids, tables="monthly")
    write_run(result, out, parts=(reduced.parts, reduced.cohorts),
              label=f"Practice {Path(out).name} ({result.scenario.policy.name})",
              plots=plots, whole=True,
              made=(reduced.summary, reduced.monthly_table))
    return reduced


def pool_tables(results: list[tuple[str, object]]) -> dict[str, pd.DataFrame]:
    """The practices' tables stacked, with ``practice_id``; ids made unique across practices.

    Patient ids are offset so they do not collide. Clinician ids become whole
    numbers unique across the network (the summaries only compare and group
    them), and text columns stay categorical with shared categories, so a
    400,000-patient network pools in a few hundred MB rather than gigabytes of
    Python strings.
    """
    import numpy as np

    clin_cols = ("clinician_id", "usual_clinician_id", "usual_clinician_at_end_id",
                 "asked_by_clinician_id")
    shared: dict[tuple[str, str], list[str]] = {}
    for _, res in results:  # the union of categories of every categorical text column
        for name in POOLED:
            df = res.tables[name]
            for col in df.columns:
                if col not in clin_cols and isinstance(df[col].dtype, pd.CategoricalDtype):
                    cats = shared.setdefault((name, col), [])
                    cats += [c for c in df[col].cat.categories if c not in cats]
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in POOLED}
    offset = clin_offset = 0
    for pid, res in results:
        n = res.scenario.population.size
        n_clin = len(res.scenario.clinicians)
        for name in POOLED:
            df = res.tables[name].copy()
            if "patient_id" in df.columns:
                df["patient_id"] = df["patient_id"].astype("int64") + offset
            for col in df.columns:
                if col in clin_cols:
                    codes = (df[col].cat.codes.to_numpy(dtype=np.int64)
                             if isinstance(df[col].dtype, pd.CategoricalDtype)
                             else df[col].to_numpy(dtype=np.int64))
                    df[col] = np.where(codes >= 0, codes + clin_offset, -1)
                elif (name, col) in shared:
                    df[col] = pd.Categorical(df[col].astype(object),
                                             categories=shared[(name, col)])
            df.insert(0, "practice_id", pid)
            out[name].append(df)
        offset += n
        clin_offset += n_clin
    pooled = {name: pd.concat(parts, ignore_index=True) for name, parts in out.items()}
    cohort_cols = [c for c in pooled["patients"].columns if c.startswith("cohort_")]
    pooled["patients"][cohort_cols] = pooled["patients"][cohort_cols].fillna(False).astype(bool)
    return pooled


def _hub_count(appointments: pd.DataFrame, hub_ids) -> int:
    happened = (appointments["in_window"].to_numpy(dtype=bool)
                & one_of(appointments["status"], ["attended", "dna"]))
    clinician = appointments["clinician_id"]
    if isinstance(clinician.dtype, pd.CategoricalDtype):  # each name looked up once
        return int((one_of(clinician, hub_ids) & happened).sum())
    return int(clinician[happened].astype(str).isin(hub_ids).sum())


def combine_cohort_parts(per_practice: list[dict[str, dict]]) -> dict[str, dict]:
    """Cohort parts of several practices added up; a cohort adds the practices that define it."""
    names: list[str] = []
    for cohorts in per_practice:
        names += [n for n in cohorts if n not in names]
    return {n: combine_parts([c[n] for c in per_practice if n in c]) for n in names}


class _Joined:
    """A 1-D array joined from parts as they come: ``np.concatenate`` of them, built as it goes.

    Each part is copied in as it is added (while the other practices still
    run), into room that grows in place, so taking the whole is not a copy of
    everything at the end: for ten BNSSGs' waits (270 MB), joining them at the
    end was about 0.6 s of the parent's serial time. Same values, order and
    type as ``np.concatenate`` of the parts (the type promoted as it would be).
    """

    def __init__(self) -> None:
        self.array: np.ndarray | None = None
        self.size = 0

    def add(self, part: np.ndarray) -> None:
        part = np.asarray(part)
        if part.ndim != 1:
            raise ValueError("only 1-D parts are joined")
        if self.array is None:
            self.array = np.empty(max(part.size, 1), dtype=part.dtype)
        elif np.result_type(self.array, part) != self.array.dtype:
            self.array = self.array.astype(np.result_type(self.array, part))
        end = self.size + part.size
        if end > self.array.size:  # grows in place where the allocator can (no copy)
            self.array.resize(max(end, 2 * self.array.size), refcheck=False)
        self.array[self.size:end] = part
        self.size = end

    def whole(self) -> np.ndarray:
        """The parts joined, without room to spare (no parts: an empty float array)."""
        if self.array is None:
            return np.empty(0)
        self.array.resize(self.size, refcheck=False)
        return self.array


class _Sum:
    """Parts added one at a time, as :func:`analysis.summary.combine_parts` adds a list.

    ``first``: keys taken from the first part; ``joined``: arrays joined in the
    order the parts came (as they come: :class:`_Joined`); ``every``: flags
    that hold if they hold in every part; the rest summed in the order the
    parts came (the same sums as the list's). Every part has the same keys (one
    function makes them). :meth:`total` ends the adding. A part's arrays are
    copied in as it comes and not held, so the waits are never held twice (ten
    BNSSGs' are hundreds of MiB).
    """

    def __init__(self, first: tuple[str, ...], joined: tuple[str, ...], every: tuple[str, ...]):
        self.first, self.joined, self.every = first, joined, every
        self.out: dict = {}
        self.joining: dict[str, _Joined] = {}
        self.joined_already = False

    def add(self, part: dict) -> None:
        if self.joined_already:
            raise RuntimeError("parts added after their total was taken")
        for key, value in part.items():
            if key in self.first:
                self.out.setdefault(key, value)
            elif key in self.joined:
                self.joining.setdefault(key, _Joined()).add(value)
            elif key in self.every:
                self.out[key] = self.out.get(key, True) and value
            else:
                self.out[key] = self.out.get(key, 0) + value

    def total(self) -> dict:
        self.joined_already = True
        for key in list(self.joining):
            self.out[key] = self.joining.pop(key).whole()
        return dict(self.out)


def _parts_sum() -> _Sum:
    return _Sum(first=("window_days",), joined=WAIT_ARRAYS,
                every=("has_emergency", "has_preferring"))


def _monthly_sum() -> _Sum:
    return _Sum(first=("days",), joined=(), every=("has_emergency",))


class NetworkTotals:
    """A network's practices added up one at a time, in the network's order.

    What :func:`network_summaries`, :func:`network_monthly` and
    :func:`practice_monthly` compute from every practice at once, built as the
    practices arrive (:func:`sim.runs.network.run_network` yields them in
    order): each practice's own summary row and monthly table (``months``) are
    made as it comes, and its parts are added to the network's and let go. The
    work is done while the other practices still run, and the parent holds the
    network's waits rather than every practice's parts. Gives the same tables
    as combining every practice's parts at once (tested).
    """

    def __init__(self, hub_ids=frozenset(), months: bool = True):
        self.hub_ids = hub_ids
        self.months_wanted = months
        self.rows: list[pd.DataFrame] = []
        self.monthly_tables: list[pd.DataFrame] = []
        self.parts = _parts_sum()
        self.cohorts: dict[str, _Sum] = {}
        self.months: dict[str, _Sum] = {}
        self.wait_months: list[np.ndarray] = []
        self.hub = 0
        self.window_days: int | None = None

    def add(self, practice_id: str, result) -> None:
        """One practice's run (:class:`sim.RunResult`) or its :class:`PracticeParts`."""
        r = result if isinstance(result, PracticeParts) else practice_parts(result, self.hub_ids)
        # made where the practice ran, if it was (copied: the columns added here are the
        # network's, not the practice's)
        row = summary_from_parts(r.parts) if r.summary is None else r.summary.copy()
        row.insert(0, "practice_id", practice_id)
        row.insert(1, "policy", r.policy)
        row["hub_appointments"] = r.hub_appointments
        self.rows.append(row)
        self.parts.add(r.parts)
        for name, part in r.cohorts.items():
            self.cohorts.setdefault(name, _parts_sum()).add(part)
        if self.months_wanted:
            table = (monthly_from_parts(r.full_monthly()) if r.monthly_table is None
                     else r.monthly_table.copy())
            table.insert(0, "practice_id", practice_id)
            self.monthly_tables.append(table)
            for month, part in r.monthly.items():
                self.months.setdefault(month, _monthly_sum()).add(part)
            # the months of the network's routine waits (which the parts hold once)
            self.wait_months.append(r.routine_months)
        self.hub += r.hub_appointments
        if self.window_days is None:
            self.window_days = r.window_days

    def summaries(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """As :func:`network_summaries`: a row per practice and the network's; its cohorts."""
        by_cohort = cohorts_from_parts({n: c.total() for n, c in self.cohorts.items()},
                                       self.window_days)
        return self._table(waits=True), by_cohort

    def without_wait_columns(self) -> pd.DataFrame:
        """:meth:`summaries`' table, the network row's :data:`~analysis.summary.WAIT_COLUMNS` NaN.

        Made at once (those put the network's waits in order: most of the
        summary's time), for what needs only the practices' rows and the
        network's means and shares: the practices' figure, drawn meanwhile.
        """
        return self._table(waits=False)

    def _table(self, waits: bool) -> pd.DataFrame:
        net = summary_from_parts(self.parts.total(), waits=waits)
        net.insert(0, "practice_id", "network")
        net.insert(1, "policy", "")
        net["hub_appointments"] = self.hub
        table = pd.concat([*self.rows, net], ignore_index=True)
        return table[["practice_id", "policy", *SUMMARY_COLUMNS, "hub_appointments"]]

    def monthly(self) -> pd.DataFrame:
        """As :func:`network_monthly`: the network's month-by-month table."""
        return monthly_from_parts(with_routine_waits(
            {m: p.total() for m, p in self.months.items()},
            self.parts.total()["routine_waits"], self.wait_months))

    def practice_monthly(self) -> pd.DataFrame:
        """As :func:`practice_monthly`: each practice's month-by-month table, in turn."""
        return (pd.concat(self.monthly_tables, ignore_index=True) if self.monthly_tables
                else pd.DataFrame())


def _totals(results: list[tuple[str, object]], hub_ids, months: bool) -> NetworkTotals:
    totals = NetworkTotals(hub_ids, months=months)
    for pid, r in results:
        totals.add(pid, r)
    return totals


def network_summaries(results: list[tuple[str, object]], hub_ids=frozenset()
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One summary row per practice and one for the network; and the network's cohort table.

    ``results`` pairs practice ids with full results (:class:`sim.RunResult`)
    or their :class:`PracticeParts`. ``hub_appointments`` counts appointments
    (attended or missed) with the clinicians in ``hub_ids`` (the
    extended-access hub). A cohort's network figures add up the practices
    that define it. (:class:`NetworkTotals` adds practices as they arrive.)
    """
    return _totals(results, hub_ids, months=False).summaries()


def practice_monthly(results: list[tuple[str, object]], hub_ids=frozenset()) -> pd.DataFrame:
    """Each practice's month-by-month table, one after another (``practice_id`` first)."""
    return _totals(results, hub_ids, months=True).practice_monthly()


def network_monthly(results: list[tuple[str, object]], hub_ids=frozenset()) -> pd.DataFrame:
    """The network's month-by-month table, from its practices' monthly parts added up."""
    return _totals(results, hub_ids, months=True).monthly()
