"""Dates and times in a practice's own export: ISO or day/month/year, never guessed per row.

Accepted forms (a time is optional, seconds too):

* ISO: ``2024-03-31``, ``2024-03-31 09:30``, ``2024-03-31T09:30:00``;
* with slashes: ``31/03/2024``, ``31/03/2024 09:30``, read day first (UK
  exports) unless ``dayfirst=False`` (month first: ``03/31/2024``).

A year before 1900 or after 2199 is taken as unreadable (a placeholder such as
01/01/1000 or 31/12/9999), like a date that does not exist.

A column that mixes the two forms is refused rather than guessed, since
``04/05/2024`` written by one system and ``2024-05-04`` by another cannot be
told apart safely.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_ISO = r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_SLASH = (r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4})"
          r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?$")


#: Years taken as real: an export's 01/01/1000 or 31/12/9999 is a placeholder or a typing
#: slip, and outside what timestamps hold (pandas's end in 2262).
FIRST_YEAR, LAST_YEAR = 1900, 2199
#: How a message describes the readable forms (callers add it to "unreadable at ...").
FORMS = ("use 2024-03-31, 2024-03-31 09:30, 31/03/2024 or 31/03/2024 09:30, with a year "
         f"from {FIRST_YEAR} to {LAST_YEAR}")


class DateColumnError(ValueError):
    """A date column that mixes forms; the message says which lines hold which form."""


def parse_dates(values: pd.Series, dayfirst: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Parse a column of date texts; return the timestamps and a mask of unreadable rows.

    Args:
        values: the column, as text (surrounding spaces are ignored).
        dayfirst: read ``dd/mm/yyyy`` (True, UK) or ``mm/dd/yyyy`` (False).

    Raises:
        DateColumnError: the column holds both ISO and slashed dates.
    """
    text = values.astype(str).str.strip()
    iso = text.str.match(_ISO).to_numpy()
    parts = text.str.extract(_SLASH)
    slash = parts["year"].notna().to_numpy()
    if iso.any() and slash.any():
        first_iso = int(np.argmax(iso)) + 2
        first_slash = int(np.argmax(slash)) + 2
        raise DateColumnError(
            f"mixes ISO dates (e.g. {text.iloc[first_iso - 2]!r} on line {first_iso}) and "
            f"dates with slashes (e.g. {text.iloc[first_slash - 2]!r} on line {first_slash}); "
            "export the column in one form")
    year = pd.to_numeric(text.str.extract(r"^(\d{4})-")[0].fillna(parts["year"]),
                         errors="coerce").to_numpy()
    in_range = (year >= FIRST_YEAR) & (year <= LAST_YEAR)
    iso = iso & in_range
    slash = slash & in_range
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if iso.any():
        out[iso] = pd.to_datetime(text[iso], errors="coerce", format="ISO8601")
    if slash.any():
        p = parts[slash]
        day, month = (p["a"], p["b"]) if dayfirst else (p["b"], p["a"])
        normal = (p["year"] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + " "
                  + p["hour"].fillna("0").str.zfill(2) + ":" + p["minute"].fillna("00") + ":"
                  + p["second"].fillna("00"))
        out[slash] = pd.to_datetime(normal, errors="coerce", format="%Y-%m-%d %H:%M:%S")
    bad = out.isna().to_numpy()
    return out, bad
