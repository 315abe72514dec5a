"""England's bank holidays, computed (the calibrated scenario's closed days).

The regular rules: New Year's Day, Good Friday, Easter Monday, the first and
last Mondays of May, the last Monday of August, Christmas Day and Boxing Day,
each moved to the next weekday when it falls at a weekend. One-off holidays
(coronations, jubilees, state funerals) are not included: add them to the
scenario's ``closed_dates`` by hand.
"""

from __future__ import annotations

import datetime as dt


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)


def _monday_on_or_after(d: dt.date) -> dt.date:
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> dt.date:
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
    return last - dt.timedelta(days=last.weekday())


def bank_holidays(year: int) -> list[dt.date]:
    """England and Wales bank holidays in ``year`` (the regular ones)."""
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() >= 5:
        new_year = _monday_on_or_after(new_year)
    easter = easter_sunday(year)
    christmas, boxing = dt.date(year, 12, 25), dt.date(year, 12, 26)
    if christmas.weekday() == 5:      # Saturday: Monday and Tuesday
        christmas, boxing = dt.date(year, 12, 27), dt.date(year, 12, 28)
    elif christmas.weekday() == 6:    # Sunday: Boxing Day Monday, Christmas Tuesday
        christmas, boxing = dt.date(year, 12, 27), dt.date(year, 12, 26)
    elif boxing.weekday() == 5:       # Friday Christmas, Saturday Boxing Day
        boxing = dt.date(year, 12, 28)
    return sorted([new_year, easter - dt.timedelta(days=2), easter + dt.timedelta(days=1),
                   _monday_on_or_after(dt.date(year, 5, 1)), _last_monday(year, 5),
                   _last_monday(year, 8), christmas, boxing])


def bank_holidays_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Bank holidays from ``start`` to ``end`` inclusive."""
    days = [d for y in range(start.year, end.year + 1) for d in bank_holidays(y)]
    return [d for d in days if start <= d <= end]
