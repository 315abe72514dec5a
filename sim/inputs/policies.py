"""Which booking policy a scenario names: a registered name or ``package.module:Class``.

``sim`` never imports the ``policies`` package by name. Whoever loads a
scenario may hand over a registry (name -> class), as the command line does
with ``policies.REGISTRY``; without one, the names registered by installed
packages under the ``gpsim.policies`` entry-point group are used (this
project registers its built-in policies there, so ``pip install -e .``, which
``requirements.txt`` runs, makes them known). An entry point may name one
class or a mapping of names to classes.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from difflib import get_close_matches
from importlib.metadata import entry_points

#: The entry-point group where installed packages register policy names.
ENTRY_POINT_GROUP = "gpsim.policies"

Registry = Mapping[str, type]


class PolicyLookupError(LookupError):
    """A policy name or dotted path that does not resolve to a policy class."""


@functools.cache
def installed_policies() -> dict[str, type]:
    """Policy names registered by installed packages (entry points), read once per process."""
    out: dict[str, type] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        value = ep.load()
        if isinstance(value, Mapping):
            out.update(value)
        else:
            out[ep.name] = value
    return out


def registry_or_installed(registry: Registry | None) -> Registry:
    """The registry handed over, else the installed one."""
    return installed_policies() if registry is None else registry


def policy_class(name: str, registry: Registry | None = None) -> type:
    """Resolve a registered name or ``package.module:Class`` to a policy class.

    Raises:
        PolicyLookupError: with a suggestion for a misspelt name.
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise PolicyLookupError(
                f"cannot import module {module_name!r} for policy {name!r}: {e}"
            ) from None
        cls = getattr(module, attr, None)
        if cls is None:
            raise PolicyLookupError(f"module {module_name!r} has no class {attr!r}")
    else:
        known = registry_or_installed(registry)
        if name not in known:
            if not known:
                raise PolicyLookupError(
                    f"unknown policy {name!r}: no policies are registered (install the project "
                    "with 'python -m pip install -e .', or give package.module:Class)")
            msg = f"unknown policy {name!r}"
            close = get_close_matches(name, list(known), n=1)
            msg += f"; did you mean {close[0]!r}?" if close else ""
            msg += f" (registered: {', '.join(sorted(known))}; or give package.module:Class)"
            raise PolicyLookupError(msg)
        cls = known[name]
    if not isinstance(cls, type) or not callable(getattr(cls, "offers", None)):
        raise PolicyLookupError(f"{name!r} is not a policy class with an offers() method")
    return cls
