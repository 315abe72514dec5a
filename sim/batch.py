"""Running many (scenario, replication) pairs, in parallel processes if asked.

Replication ``k`` of every scenario uses the same random streams (common random
numbers). Each run's full tables are reduced in the worker by a caller-supplied
function (for example :func:`analysis.compare.reduce_run`) to the small tables
a comparison needs, so memory does not grow with the number of runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from .results import RunResult, run
from .scenario import Scenario

Reducer = Callable[[RunResult], Any]


def _one(scenario, replication: int, reducer: Reducer, network_reducer=None,
         practice_reducer=None) -> Any:
    from .network import Network, run_network

    if isinstance(scenario, Network):
        # A whole network in this worker: each practice in turn, reduced as soon as it
        # has run (practice_reducer), then the network from those.
        return network_reducer(list(run_network(scenario, replication, workers=1,
                                                 reducer=practice_reducer)))
    return reducer(run(scenario, replication=replication))


def run_batch(
    jobs: Sequence[tuple[str, Scenario, int]],
    reducer: Reducer,
    workers: int = 1,
    progress: bool | None = None,
    description: str = "runs",
    network_reducer: Callable[[list], Any] | None = None,
    practice_reducer: Callable[[str, RunResult], Any] | None = None,
) -> Iterator[tuple[str, int, Any]]:
    """Run every ``(label, scenario, replication)`` and yield ``(label, replication, reduced)``.

    Results come in completion order when ``workers > 1``. Every scenario must
    have its seed set, so that all processes use the same streams.

    Args:
        jobs: what to run.
        reducer: turns a run's result into what is kept (must be picklable for workers > 1).
        workers: processes to use (1: in this process).
        progress: show a progress bar; None means only on an interactive
            terminal outside CI.
        description: label of the progress bar.
        network_reducer: for jobs that are a :class:`sim.network.Network`
            rather than a scenario: turns the list of ``(practice id, result)``
            into what is kept.
        practice_reducer: ``(practice id, result) -> kept`` applied to each
            practice of a network as soon as it has run, so a network never
            holds its practices' full results at once; ``network_reducer``
            then receives ``(practice id, kept)`` pairs.
    """
    for _, s, _ in jobs:
        if isinstance(s, Scenario) and s.seed is None:
            raise ValueError("every scenario in a batch needs its seed set")
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=description, unit="run", file=sys.stderr)
    try:
        if workers <= 1:
            for label, s, k in jobs:
                yield label, k, _one(s, k, reducer, network_reducer, practice_reducer)
                if bar is not None:
                    bar.update(1)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_one, s, k, reducer, network_reducer, practice_reducer):
                       (label, k)
                       for label, s, k in jobs}
            for fut in as_completed(futures):
                label, k = futures[fut]
                yield label, k, fut.result()
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
