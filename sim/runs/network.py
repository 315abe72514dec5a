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
from .executor import execute, in_order
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


class ReplicatedPracticeRun:
    """A picklable task function: run one practice in one replication, reduce it where it ran.

    Tasks are ``(replication, practice id, scenario)``; ``reducers`` gives each
    replication's reducer (as :class:`PracticeRun`'s).
    """

    def __init__(self, reducers: dict[int, Callable[[str, RunResult], Any] | None],
                 policies: Registry | None = None):
        self.reducers = reducers
        self.policies = policies

    def __call__(self, task: tuple[int, str, Scenario]) -> Any:
        """Run ``(replication, practice id, scenario)``; return what is kept."""
        replication, practice_id, scenario = task
        return PracticeRun(replication, self.reducers[replication], self.policies)(
            (practice_id, scenario))[1]


def largest_first(practices: list[tuple[str, Scenario]]) -> list[int]:
    """The practices' positions, the most work first (patients x simulated days).

    Handed out in this order, the last practices any worker starts are the
    smallest, so the workers finish close together: a large practice started
    last would keep one worker busy while the others wait. Equal practices
    keep the network's order.
    """
    def work(i: int) -> int:
        scenario = practices[i][1]
        return scenario.population.size * (scenario.warmup_days + scenario.duration_days)

    return sorted(range(len(practices)), key=lambda i: -work(i))


def run_network(network: Network, replication: int = 0, workers: int = 1,
                reducer: Callable[[str, RunResult], Any] | None = None,
                scheduler: str | None = None, progress: bool | None = False,
                policies: Registry | None = None) -> Iterator[tuple[str, RunResult | Any]]:
    """Run every practice; yield ``(practice id, result or kept)`` in the network's order.

    On more than one worker (or a Dask cluster) the practices start largest
    first (:func:`largest_first`); the results are the same in any order, as
    each practice has its own seed.
    """
    fn = PracticeRun(replication, reducer, policies)
    practices = list(network.practices)
    if workers <= 1 and not scheduler:
        for _, kept in execute(practices, fn, progress=progress, description="practices"):
            yield kept
        return
    order = largest_first(practices)
    done = execute([practices[j] for j in order], fn, workers=workers, scheduler=scheduler,
                   progress=progress, description="practices")
    # In the network's order, as soon as each can be.
    for _, kept in in_order((order[i], kept) for i, kept in done):
        yield kept


def run_network_replications(
        network: Network, replications: range, workers: int = 1,
        reducers: dict[int, Callable[[str, RunResult], Any] | None] | None = None,
        scheduler: str | None = None, progress: bool | None = False,
        policies: Registry | None = None) -> Iterator[tuple[int, str, RunResult | Any]]:
    """Every practice in every replication: ``(replication, practice id, kept)``.

    Each replication's practices come in the network's order, replication by
    replication, the same as :func:`run_network` gives them for each. On more
    than one worker (or a Dask cluster) every replication's practices go to the
    workers as one batch, largest first within each replication, so the
    workers do not wait at the end of one replication for its last practice
    before the next starts. ``reducers``: each replication's reducer (default
    none: full results).
    """
    reducers = reducers if reducers is not None else dict.fromkeys(replications)
    if workers <= 1 and not scheduler:
        for k in replications:
            for pid, kept in run_network(network, k, reducer=reducers[k], progress=progress,
                                         policies=policies):
                yield k, pid, kept
        return
    practices = list(network.practices)
    order = largest_first(practices)
    tasks = [(k, *practices[j]) for k in replications for j in order]
    done = execute(tasks, ReplicatedPracticeRun(reducers, policies), workers=workers,
                   scheduler=scheduler, progress=progress, description="practices")
    n = len(practices)
    # Task i is replication replications[i // n], practice order[i % n]; put each
    # replication's practices in the network's order, replications in turn.
    position = {i: (i // n) * n + order[i % n] for i in range(len(tasks))}
    for at, kept in in_order((position[i], kept) for i, kept in done):
        k = replications[at // n]
        yield k, practices[at % n][0], kept
