"""The days a practice is shut although it opens on that weekday: bank holidays and its own.

Bank holidays come by rule for every year of a run, from the ``holidays``
package (python-holidays): it knows the regular rules and the one-off days a
hand-written rule misses (the 2020 VE Day move, the 2022 Jubilee and state
funeral, the 2023 coronation), is kept up to date with each year's
announcements, and is small. A scenario names its nation
(``practice.bank_holidays``), adds its own closures (``closed_dates``: training
afternoons count as sessions, not closures) and removes a bank holiday it opens on
(``open_dates``).
"""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np

from ..inputs.schema import Scenario

#: ``practice.bank_holidays``: the country and subdivision python-holidays knows them by.
BANK_HOLIDAYS = {"england_and_wales": ("GB", "ENG"), "scotland": ("GB", "SCT"),
                 "northern_ireland": ("GB", "NIR")}


def bank_holidays(nation: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """Bank holidays of ``nation`` from ``first`` to ``last`` inclusive (none for ``none``)."""
    if nation == "none":
        return []
    country, subdiv = BANK_HOLIDAYS[nation]
    days = holidays.country_holidays(country, subdiv=subdiv,
                                     years=range(first.year, last.year + 1))
    return sorted(d for d in days if first <= d <= last)


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
