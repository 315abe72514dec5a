"""Which booking policy a scenario names: a registered name, never code to import.

``sim`` never imports the ``policies`` package by name. Whoever loads a
scenario may hand over a registry (name -> class), as the command line does
with ``policies.REGISTRY``; without one, the names registered by installed
packages under the ``gpsim.policies`` entry-point group are used (this
project registers its built-in policies there, so ``pip install -e .``, which
``requirements.txt`` runs, makes them known). An entry point may name one
class or a mapping of names to classes.

An input file holds data, not code: a ``policy.name`` of the form
``package.module:Class`` is looked up in the registry like any other name and
is never imported because a file says so. A user enables their own class on
the command line (``--policy-class package.module:Class``, through
:func:`enable_policy_classes`), or registers it as an entry point; the web app
enables none.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Mapping
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


#: A dotted class path: ``package.module:Class``.
_CLASS_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def enable_policy_classes(paths: Iterable[str]) -> dict[str, type]:
    """Import the policy classes a user named on the command line, by ``package.module:Class``.

    Returns them by that path, to add to the registry (so a scenario's
    ``policy.name: package.module:Class`` finds them). This is the only place a
    policy is imported by path, and only for paths the user typed.

    Raises:
        PolicyLookupError: a path that is not ``package.module:Class``, a module
            that cannot be imported, or a class without ``offers()``.
    """
    out: dict[str, type] = {}
    for path in paths:
        if not _CLASS_PATH.match(path):
            raise PolicyLookupError(f"--policy-class {path!r}: give package.module:Class, e.g. "
                                    "my_policies:NamedNurseFirst")
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as e:  # any error while importing the user's own module
            raise PolicyLookupError(f"--policy-class {path!r}: cannot import {module_name!r} "
                                    f"({type(e).__name__}: {e})") from None
        cls = getattr(module, attr, None)
        if not isinstance(cls, type) or not callable(getattr(cls, "offers", None)):
            raise PolicyLookupError(f"--policy-class {path!r}: {module_name!r} has no policy "
                                    f"class {attr!r} (a class with an offers() method)")
        out[path] = cls
    return out


def policy_class(name: str, registry: Registry | None = None) -> type:
    """Resolve a registered name (or an enabled ``package.module:Class``) to a policy class.

    Raises:
        PolicyLookupError: with a suggestion for a misspelt name; a class path that
            was not enabled says how to enable it (nothing is imported).
    """
    known = registry_or_installed(registry)
    if name in known:
        cls = known[name]
    elif ":" in name:
        raise PolicyLookupError(
            f"policy {name!r} names code to import, and an input file cannot run code; to use "
            f"your own policy class, enable it on the command line with --policy-class {name} "
            "(or install it under the gpsim.policies entry point; see docs/model.md)")
    else:
        if not known:
            raise PolicyLookupError(
                f"unknown policy {name!r}: no policies are registered (install the project "
                "with 'python -m pip install -e .')")
        msg = f"unknown policy {name!r}"
        close = get_close_matches(name, list(known), n=1)
        msg += f"; did you mean {close[0]!r}?" if close else ""
        msg += f" (registered: {', '.join(sorted(known))})"
        raise PolicyLookupError(msg)
    if not isinstance(cls, type) or not callable(getattr(cls, "offers", None)):
        raise PolicyLookupError(f"{name!r} is not a policy class with an offers() method")
    return cls


#: Plain words for the parameters the built-in policies share, for :func:`describe_policy`.
_PARAM_WORDS = {
    "team_wait_days": "another member of the team is offered within {} days",
    "max_wait_days": "the named clinician is offered within {} days",
}


def policy_description(cls: type) -> str:
    """What a policy class does, in plain words.

    Its ``description``, else its docstring's first paragraph (so a user's
    class needs nothing more).
    """
    text = getattr(cls, "description", None) or (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(str(text).split()) or f"Policy {cls.__name__}."


def describe_policy(name: str, params: Mapping, registry: Registry | None = None) -> str:
    """One or two sentences on a policy reference: what it does, and its uptake settings.

    Parameters left at their defaults are named too (adherence, cohorts), since
    a reader needs them to judge a result; an unresolvable name is described
    by its name alone.
    """
    try:
        cls = policy_class(name, registry)
    except PolicyLookupError:
        return f"Policy {name}."
    text = policy_description(cls)
    model = getattr(cls, "Params", None)
    if model is None:
        return text
    try:
        p = model.model_validate(dict(params)).model_dump()
    except ValueError:  # the loader reports invalid parameters; here only words are wanted
        return text
    bits = []
    if "adherence" in p:
        if p.get("popup_reminder"):
            bits.append(f"reception follows it for {p['adherence_with_popup']:.0%} of requests "
                        "(the pop-up reminder is on)")
        else:
            bits.append(f"reception follows it for {p['adherence']:.0%} of requests")
    if p.get("cohorts"):
        bits.append("cohorts: " + ", ".join(str(c).replace("_", " ") for c in p["cohorts"]))
    elif p.get("coded") not in (None, "all"):
        bits.append("for patients coded in: " + ", ".join(str(c).replace("_", " ")
                                                          for c in p["coded"]))
    if p.get("coded_share", 1) < 1:
        bits.append(f"{p['coded_share']:.0%} of them coded")
    for key, words in _PARAM_WORDS.items():
        if p.get(key) is not None:
            bits.append(words.format(p[key]))
    said = "; ".join(bits)
    return text + (f" {said[0].upper()}{said[1:]}." if bits else "")
