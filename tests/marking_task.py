"""A task for the executor tests: leaves a mark when it starts, then takes a while."""

import time
from pathlib import Path


def mark_then_wait(task):
    folder, i = task
    (Path(folder) / f"started-{i}").touch()
    time.sleep(0.4)
    return i
