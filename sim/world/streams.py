"""Named random streams, one per source of randomness.

Each stream is spawned from the scenario seed, the replication number and a
stable hash of the stream's name, so that adding a new source of randomness
does not reshuffle the others, and replication ``k`` of two scenarios with the
same seed sees the same patients and the same demand (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np

#: The sources of randomness the engine uses; each is a separate stream.
STREAM_NAMES = (
    "population", "lists", "demand", "case_mix", "leave", "sickness", "dna", "follow_up", "policy",
    "reviews", "emergency_access", "emergency_ae", "emergency_admission", "relationship_years",
    "navigation", "planned_care", "coding", "history", "willingness", "triage",
)


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


class Streams:
    """A factory of independent ``numpy.random.Generator`` objects keyed by name.

    Args:
        seed: the scenario's master seed.
        replication: the replication number (0, 1, ...).
    """

    def __init__(self, seed: int, replication: int = 0):
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = int(seed)
        self.replication = int(replication)

    def get(self, name: str) -> np.random.Generator:
        """A fresh generator for the named stream (same name, same numbers)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.Generator(np.random.PCG64(ss))
