"""The practices the benchmarks run: the default practice scaled to a list size.

Shared by ``bench.py`` and ``naive_simpy.py`` (each imports this, neither the other).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def scaled_scenario(patients: int, days: int = 365):
    """The default practice with ``patients`` and its workforce (and teams) scaled to match."""
    from sim.inputs.loading import read_scenario_data, scenario_from_dict

    data, _ = read_scenario_data(ROOT / "scenarios" / "default.yaml")
    copies = max(1, round(patients / data["population"]["size"]))
    clinicians, teams = [], []
    for k in range(copies):
        for c in data["clinicians"]:
            clinicians.append({**c, "id": f"{c['id']}_{k}"})
        for t in data.get("teams", []):
            teams.append({"id": f"{t['id']}_{k}", "lead": f"{t['lead']}_{k}",
                          "members": [f"{m}_{k}" for m in t.get("members", [])]})
    data = {**data, "clinicians": clinicians, "teams": teams, "warmup_days": 0,
            "duration_days": days,
            "population": {**data["population"], "size": patients}}
    return scenario_from_dict(data, source=f"bench:{patients}")
