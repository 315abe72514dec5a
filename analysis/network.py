"""A network's results: each practice's summary and the network's, which add up.

The network's figures are computed from the practices' tables pooled together
(patients and clinicians kept distinct by practice), so counts add up exactly
and rates are the list-weighted rates of the whole network.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from .summary import SUMMARY_COLUMNS, summarise, summarise_by_cohort

POOLED = ("appointments", "requests", "unmet", "clinician_days", "patients", "emergency")
#: The columns of each table that the summaries read (everything else stays in the
#: practice's own output folder).
KEEP = {
    "appointments": ["patient_id", "clinician_id", "role", "usual_clinician_id", "requested_at",
                     "appointment_at", "wait_days", "lead_days", "urgency", "status",
                     "in_window"],
    "requests": ["patient_id", "requested_at", "urgency", "outcome", "appointment_at"],
    "unmet": ["patient_id"],
    "clinician_days": ["role", "available_slots", "booked_slots"],
    "emergency": ["patient_id", "kind", "channel"],
}


@dataclasses.dataclass
class PracticeTables:
    """What the network summary needs of one practice's run (a light :class:`sim.RunResult`)."""

    scenario: Any
    tables: dict[str, pd.DataFrame]


def write_and_reduce(result, out: str | Path) -> PracticeTables:
    """In a worker: write a practice's full results to ``out``; keep what the summary reads."""
    from .outputs import write_run

    write_run(result, out)
    tables = {name: (df[[c for c in KEEP[name] if c in df.columns]] if name in KEEP else df)
              for name, df in result.tables.items() if name in POOLED}
    return PracticeTables(result.scenario, tables)


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
    a = appointments[appointments["in_window"].to_numpy(dtype=bool)
                     & appointments["status"].isin(["attended", "dna"])]
    return int(a["clinician_id"].astype(str).isin(hub_ids).sum())


def network_summaries(results: list[tuple[str, object]], hub_ids=frozenset()
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One summary row per practice and one for the network; and the network's cohort table.

    ``hub_appointments`` counts appointments (attended or missed) with the
    clinicians in ``hub_ids`` (the extended-access hub).
    """
    rows = []
    gp_roles: set[str] = set()
    for pid, res in results:
        s = res.scenario
        roles = tuple(r for r, role in s.roles.items() if role.holds_list)
        gp_roles |= set(roles)
        row = summarise(res.tables, s.population.size, s.duration_days, roles,
                        s.relationship_depth.points)
        row.insert(0, "practice_id", pid)
        row.insert(1, "policy", s.policy.name)
        row["hub_appointments"] = _hub_count(res.tables["appointments"], hub_ids)
        rows.append(row)
    first = results[0][1].scenario
    pooled = pool_tables(results)
    total = sum(res.scenario.population.size for _, res in results)
    net = summarise(pooled, total, first.duration_days, tuple(sorted(gp_roles)),
                    first.relationship_depth.points)
    net.insert(0, "practice_id", "network")
    net.insert(1, "policy", "")
    net["hub_appointments"] = sum(int(r["hub_appointments"].iloc[0]) for r in rows)
    table = pd.concat([*rows, net], ignore_index=True)
    by_cohort = summarise_by_cohort(pooled, first.duration_days, tuple(sorted(gp_roles)),
                                    first.relationship_depth.points)
    return table[["practice_id", "policy", *SUMMARY_COLUMNS, "hub_appointments"]], by_cohort
