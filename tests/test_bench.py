"""The benchmark's scaled scenario stays valid as the default scenario grows (no timing here)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import scaled_scenario


def test_scaled_scenario_is_valid_and_scaled():
    s = scaled_scenario(30_000, days=7)
    assert s.population.size == 30_000
    assert len(s.clinicians) == 3 * 16
    assert len(s.teams) == 3 * 4
