"""The days a practice is shut although it opens on that weekday: bank holidays and its own.

Bank holidays come by rule for every year of a run, from the ``holidays``
package (python-holidays): it knows the regular rules and the one-off days a
hand-written rule misses (the 2020 VE Day move, the 2022 Jubilee and state
funeral, the 2023 coronation), is kept up to date with each year's
announcements, and is small. A scenario names its nation
(``practice.bank_holidays``), adds its own closures (``closed_dates``: training
afternoons count as sessions, not closures) and removes a bank holiday it opens on
(``open_dates``).

python-holidays imports the rules of all its 250 countries the first time it
is asked for any (about 0.07 s of a process's first run, in every worker and
every command); only the United Kingdom's module is loaded here
(:func:`_holidays`), and the package itself only when a run first needs it.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import sys
import threading
from pathlib import Path

import numpy as np

from ..inputs.schema import Scenario

#: ``practice.bank_holidays``: the country and subdivision python-holidays knows them by.
BANK_HOLIDAYS = {"england_and_wales": ("GB", "ENG"), "scotland": ("GB", "SCT"),
                 "northern_ireland": ("GB", "NIR")}


#: The python-holidays module that holds the United Kingdom's rules.
UK_MODULE = "holidays.countries.united_kingdom"
_LOADING = threading.Lock()


def _holidays():
    """python-holidays, with the United Kingdom's module loaded on its own.

    ``holidays.country_holidays`` imports its country's module by name, which
    first runs ``holidays/countries/__init__.py``, and that imports every
    country. Loading ``united_kingdom.py`` from its file and registering it
    under its own name first lets the lookup find it without the package: the
    same module and the same class, so the same dates. Where a release moves
    that file, nothing is registered and the lookup is python-holidays' own.
    """
    import holidays

    # One thread at a time (the web app runs each page in a thread): another
    # would otherwise find the module registered but not yet run.
    with _LOADING:
        if UK_MODULE not in sys.modules:
            path = Path(holidays.__file__).parent / "countries" / "united_kingdom.py"
            spec = importlib.util.spec_from_file_location(UK_MODULE, path)
            if path.is_file() and spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                sys.modules[UK_MODULE] = module
                try:
                    spec.loader.exec_module(module)
                except Exception:
                    # Not loadable on its own: python-holidays' own import then
                    # loads it, or says what is wrong.
                    del sys.modules[UK_MODULE]
    return holidays


def bank_holidays(nation: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """Bank holidays of ``nation`` from ``first`` to ``last`` inclusive (none for ``none``)."""
    if nation == "none":
        return []
    return [d for d in _years_holidays(nation, first.year, last.year) if first <= d <= last]


@functools.lru_cache(maxsize=64)
def _years_holidays(nation: str, first_year: int, last_year: int) -> tuple[dt.date, ...]:
    """Every bank holiday of ``nation`` in those years, in order.

    Kept for the process: python-holidays works each year's days out afresh
    for every call (a few milliseconds for three years), and a run asks several
    times (the opening days, the workforce's days), a network's worker again
    for each of its practices. The rules are fixed, so the days are too.
    """
    country, subdiv = BANK_HOLIDAYS[nation]
    days = _holidays().country_holidays(country, subdiv=subdiv,
                                        years=range(first_year, last_year + 1))
    return tuple(sorted(days))


def closed_dates(s: Scenario, n_days: int) -> list[dt.date]:
    """Every date of the run the practice is shut by the calendar (bank holidays, its own)."""
    last = s.start_date + dt.timedelta(days=n_days - 1)
    days = set(bank_holidays(s.practice.bank_holidays, s.start_date, last))
    days |= {d for d in s.practice.closed_dates if s.start_date <= d <= last}
    days -= set(s.practice.open_dates)
    return sorted(days)


def closed_days(s: Scenario, n_days: int) -> np.ndarray:
    """:func:`closed_dates` as simulation days (0 is ``start_date``)."""
    return np.array([(d - s.start_date).days for d in closed_dates(s, n_days)], dtype=np.int64)
