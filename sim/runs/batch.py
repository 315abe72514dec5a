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
from .network import largest_first
from .single import run

Reducer = Callable[[RunResult], Any]


class RunAndReduce:
    """A picklable task function: run a scenario (or one practice of a network) and reduce it.

    Args:
        reducer: turns a run's result into what is kept.
        practice_reducer: ``(practice id, result) -> kept``, for a task naming a
            network's practice (default: the full result).
        policies: the policy registry (None: the installed one).
    """

    def __init__(self, reducer: Reducer,
                 practice_reducer: Callable[[str, RunResult], Any] | None = None,
                 policies: Registry | None = None):
        self.reducer = reducer
        self.practice_reducer = practice_reducer
        self.policies = policies

    def __call__(self, task: tuple[Scenario, int] | tuple[Scenario, int, str]) -> Any:
        """Run ``(scenario, replication)`` or ``(scenario, replication, practice id)``."""
        scenario, replication, *practice = task
        result = run(scenario, replication=replication, policies=self.policies)
        if not practice:
            return self.reducer(result)
        return (self.practice_reducer(practice[0], result) if self.practice_reducer is not None
                else result)


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
    meanwhile: Callable[[], Any] | None = None,
) -> Iterator[tuple[str, int, Any]]:
    """Run every ``(label, scenario or network, replication)``; yield ``(label, k, kept)``.

    Results come in completion order. Every scenario must have its seed set,
    so that all processes use the same streams. A network's practices are
    separate tasks (largest first within each network, networks in the jobs'
    order), so a few networks' replications fill as many workers as they have
    practices: each practice is reduced where it ran (``practice_reducer``,
    ``(practice id, result) -> kept``) and, once the last has come back,
    ``network_reducer`` turns the list of ``(practice id, kept)``, in the
    network's order, into what is kept of the network (here, in this process).
    See :func:`sim.runs.executor.execute` for ``workers``, ``scheduler``,
    ``progress`` and ``meanwhile``.
    """
    for _, s, _ in jobs:
        if isinstance(s, Scenario) and s.seed is None:
            raise ValueError("every scenario in a batch needs its seed set")
        if isinstance(s, Network) and network_reducer is None:
            raise ValueError("a batch with a network needs a network_reducer")
    tasks: list[tuple] = []
    owners: list[tuple[int, int]] = []  # each task's job, and its practice's position (or -1)
    for i, (_, item, k) in enumerate(jobs):
        if isinstance(item, Network):
            for j in largest_first(item.practices):
                pid, scenario = item.practices[j]
                tasks.append((scenario, k, pid))
                owners.append((i, j))
        else:
            tasks.append((item, k))
            owners.append((i, -1))
    if len(tasks) > len(jobs) and description == "runs":
        description = "practice runs"
    fn = RunAndReduce(reducer, practice_reducer, policies)
    waiting: dict[int, dict[int, Any]] = {}  # a network's practices back so far, by position
    for t, kept in execute(tasks, fn, workers=workers, scheduler=scheduler, progress=progress,
                           description=description, meanwhile=meanwhile):
        i, j = owners[t]
        label, item, k = jobs[i]
        if j < 0:
            yield label, k, kept
            continue
        back = waiting.setdefault(i, {})
        back[j] = kept
        if len(back) == len(item.practices):
            del waiting[i]
            yield label, k, network_reducer([(pid, back[x])
                                             for x, (pid, _) in enumerate(item.practices)])
