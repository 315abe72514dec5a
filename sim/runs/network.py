"""Running every practice of a network, in this process, in local processes or on Dask.

Practices do not interact once the hub's slots are allocated (at load time,
:mod:`sim.inputs.networks`), so each runs independently; each practice's seed
is derived from the network seed and its id, so the results are the same
however the runs are spread over processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..inputs.networks import Network
from ..inputs.policies import Registry
from ..inputs.schema import Scenario
from ..outcomes.tables import RunResult
from .executor import execute
from .single import run


class PracticeRun:
    """A picklable task function: run one practice, reduce it where it ran.

    ``reducer(practice_id, result)`` turns the :class:`RunResult` into what is
    kept; without one the full result comes back.
    """

    def __init__(self, replication: int, reducer: Callable[[str, RunResult], Any] | None = None,
                 policies: Registry | None = None):
        self.replication = replication
        self.reducer = reducer
        self.policies = policies

    def __call__(self, task: tuple[str, Scenario]) -> tuple[str, Any]:
        """Run ``(practice id, scenario)``; return the id with what is kept."""
        practice_id, scenario = task
        result = run(scenario, replication=self.replication, policies=self.policies)
        return practice_id, (self.reducer(practice_id, result) if self.reducer is not None
                             else result)


def run_network(network: Network, replication: int = 0, workers: int = 1,
                reducer: Callable[[str, RunResult], Any] | None = None,
                scheduler: str | None = None, progress: bool | None = False,
                policies: Registry | None = None) -> Iterator[tuple[str, RunResult | Any]]:
    """Run every practice; yield ``(practice id, result or kept)`` in the network's order."""
    fn = PracticeRun(replication, reducer, policies)
    for _, kept in execute(list(network.practices), fn, workers=workers, scheduler=scheduler,
                           ordered=True, progress=progress, description="practices"):
        yield kept
