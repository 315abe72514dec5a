"""Many (scenario or network, replication) runs, each reduced where it ran.

Replication ``k`` of every scenario uses the same random streams (common
random numbers). Each run's full tables are reduced in the worker by a
caller-supplied function (for example :func:`analysis.compare.reduce_run`) to
the small tables a comparison needs, so memory does not grow with the number
of runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..inputs.networks import Network
from ..inputs.policies import Registry
from ..inputs.schema import Scenario
from ..outcomes.tables import RunResult
from .executor import execute
from .network import run_network
from .single import run

Reducer = Callable[[RunResult], Any]


class RunAndReduce:
    """A picklable task function: run a scenario (or a whole network) and reduce it.

    Args:
        reducer: turns a run's result into what is kept.
        network_reducer: for a :class:`sim.inputs.networks.Network`: turns the
            list of ``(practice id, kept)`` into what is kept.
        practice_reducer: ``(practice id, result) -> kept``, applied to each
            practice of a network as soon as it has run, so a network never
            holds its practices' full results at once.
        policies: the policy registry (None: the installed one).
    """

    def __init__(self, reducer: Reducer, network_reducer: Callable[[list], Any] | None = None,
                 practice_reducer: Callable[[str, RunResult], Any] | None = None,
                 policies: Registry | None = None):
        self.reducer = reducer
        self.network_reducer = network_reducer
        self.practice_reducer = practice_reducer
        self.policies = policies

    def __call__(self, task: tuple[Scenario | Network, int]) -> Any:
        """Run ``(scenario or network, replication)`` and return what is kept."""
        item, replication = task
        if isinstance(item, Network):
            return self.network_reducer(list(run_network(
                item, replication, workers=1, reducer=self.practice_reducer,
                policies=self.policies)))
        return self.reducer(run(item, replication=replication, policies=self.policies))


def run_batch(
    jobs: Sequence[tuple[str, Scenario | Network, int]],
    reducer: Reducer,
    workers: int = 1,
    progress: bool | None = None,
    description: str = "runs",
    network_reducer: Callable[[list], Any] | None = None,
    practice_reducer: Callable[[str, RunResult], Any] | None = None,
    scheduler: str | None = None,
    policies: Registry | None = None,
) -> Iterator[tuple[str, int, Any]]:
    """Run every ``(label, scenario or network, replication)``; yield ``(label, k, kept)``.

    Results come in completion order. Every scenario must have its seed set,
    so that all processes use the same streams. See :class:`RunAndReduce` for
    the reducers and :func:`sim.runs.executor.execute` for ``workers``,
    ``scheduler`` and ``progress``.
    """
    for _, s, _ in jobs:
        if isinstance(s, Scenario) and s.seed is None:
            raise ValueError("every scenario in a batch needs its seed set")
    fn = RunAndReduce(reducer, network_reducer, practice_reducer, policies)
    tasks = [(item, k) for _, item, k in jobs]
    for i, kept in execute(tasks, fn, workers=workers, scheduler=scheduler, progress=progress,
                           description=description):
        label, _, k = jobs[i]
        yield label, k, kept
