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
    """A picklable task function: run one practice in one replication, reduce it where it ran.

    Tasks are ``(replication, practice id, scenario)``. ``reducers[replication]``
    (``reducer(practice_id, result)``) turns the :class:`RunResult` into what is
    kept; without one the full result comes back.
    """

    def __init__(self, reducers: dict[int, Callable[[str, RunResult], Any] | None],
                 policies: Registry | None = None):
        self.reducers = reducers
        self.policies = policies

    def __call__(self, task: tuple[int, str, Scenario]) -> Any:
        """Run ``(replication, practice id, scenario)``; return what is kept."""
        replication, practice_id, scenario = task
        result = run(scenario, replication=replication, policies=self.policies)
        reducer = self.reducers[replication]
        return reducer(practice_id, result) if reducer is not None else result


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
    for _, pid, kept in run_network_replications(
            network, range(replication, replication + 1), workers, {replication: reducer},
            scheduler=scheduler, progress=progress, policies=policies):
        yield pid, kept


def run_network_replications(
        network: Network, replications: range, workers: int = 1,
        reducers: dict[int, Callable[[str, RunResult], Any] | None] | None = None,
        scheduler: str | None = None, progress: bool | None = False,
        policies: Registry | None = None, meanwhile: Callable[[], Any] | None = None,
) -> Iterator[tuple[int, str, RunResult | Any]]:
    """Every practice in every replication: ``(replication, practice id, kept)``.

    Each replication's practices come in the network's order, replication by
    replication, as soon as each can be. On more than one worker (or a Dask
    cluster) every replication's practices go to the workers as one batch,
    largest first within each replication (:func:`largest_first`), so the
    workers do not wait at the end of one replication for its last practice
    before the next starts. ``reducers``: each replication's reducer (default
    none: full results). ``meanwhile``: this process's own work while the
    practices run elsewhere (:func:`sim.runs.executor.execute`).
    """
    reducers = reducers if reducers is not None else dict.fromkeys(replications)
    practices = list(network.practices)
    n = len(practices)
    order = largest_first(practices) if workers > 1 or scheduler else list(range(n))
    tasks = [(k, *practices[j]) for k in replications for j in order]
    done = execute(tasks, PracticeRun(reducers, policies), workers=workers,
                   scheduler=scheduler, progress=progress, description="practices",
                   meanwhile=meanwhile)
    # Task i is replication replications[i // n], practice order[i % n]; put each
    # replication's practices in the network's order, replications in turn.
    for at, kept in in_order(((i // n) * n + order[i % n], kept) for i, kept in done):
        yield replications[at // n], practices[at % n][0], kept
