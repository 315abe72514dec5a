"""Speed and memory of the engine: prints figures, asserts nothing.

Each case runs in its own process so that peak memory (max RSS) is its own.
The workforce is the default practice's, copied once per 10,000 patients, so
capacity scales with the list.

    python benchmarks/bench.py            # 10,000 and 100,000 patients, one simulated year
    python benchmarks/bench.py 400000     # any list sizes
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scaled_scenario(patients: int, days: int = 365):
    """The default practice with ``patients`` and its workforce (and teams) scaled to match."""
    from sim.loading import read_scenario_data, scenario_from_dict

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


def one(patients: int) -> dict:
    """Run one case in this process and report its figures."""
    import resource

    from sim import run

    s = scaled_scenario(patients)
    t0 = time.perf_counter()
    res = run(s)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {
        "patients": patients,
        "clinicians": res.info["clinicians"],
        "requests": res.info["requests_handled"],
        "wall_s": wall,
        "build_s": res.info["build_seconds"],
        "requests_per_s": res.info["requests_handled"] / wall,
        "peak_mib": peak,
    }


def main(argv: list[str]) -> int:
    """Run each list size in a fresh process and print a table."""
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    print("One simulated year, default practice scaled (access-first); no warm-up.")
    print(f"{'patients':>9} {'clinicians':>10} {'requests':>10} {'wall s':>8} {'build s':>8} "
          f"{'requests/s':>11} {'peak MiB':>9}")
    for n in sizes:
        p = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                           text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{r['patients']:>9,} {r['clinicians']:>10,} {r['requests']:>10,} "
              f"{r['wall_s']:>8.2f} {r['build_s']:>8.2f} {r['requests_per_s']:>11,.0f} "
              f"{r['peak_mib']:>9,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
