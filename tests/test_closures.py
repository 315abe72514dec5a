"""Bank holidays come by rule for every year of a run; a scenario adds and removes its own."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
from conftest import DEFAULT, ROOT

from sim import load_scenario, run
from sim.world.closures import bank_holidays, closed_dates

SMALL = {"population.size": 1500, "start_date": "2025-01-06", "warmup_days": 0}


def _appointment_days(s) -> set[dt.date]:
    appts = run(s).appointments
    return set(pd.to_datetime(appts["appointment_at"]).dt.date)


def test_a_two_year_run_books_nothing_on_its_second_years_bank_holidays():
    s = load_scenario(DEFAULT, {**SMALL, "duration_days": 728})
    second_year = [d for d in bank_holidays("england_and_wales", dt.date(2026, 1, 6),
                                            dt.date(2027, 1, 3)) if d.weekday() < 5]
    assert len(second_year) == 8, second_year   # Good Friday to Christmas, 2026
    booked = _appointment_days(s)
    assert not booked & set(second_year)
    assert dt.date(2026, 4, 7) in booked, "the day after Easter Monday is an ordinary day"


def test_a_practice_may_open_on_a_bank_holiday_and_close_on_a_day_of_its_own():
    holiday, own = dt.date(2025, 5, 5), dt.date(2025, 6, 11)
    s = load_scenario(DEFAULT, {**SMALL, "duration_days": 200,
                                "practice.open_dates": [holiday], "practice.closed_dates": [own]})
    shut = set(closed_dates(s, s.warmup_days + s.duration_days))
    assert holiday not in shut and own in shut
    booked = _appointment_days(s)
    assert holiday in booked and own not in booked


def test_one_off_bank_holidays_are_known_and_each_nation_has_its_own():
    eng = bank_holidays("england_and_wales", dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    assert dt.date(2022, 9, 19) in eng and dt.date(2023, 5, 8) in eng   # funeral, coronation
    sct = bank_holidays("scotland", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert dt.date(2024, 1, 2) in sct and dt.date(2024, 1, 2) not in bank_holidays(
        "england_and_wales", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert bank_holidays("none", dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == []


def test_bank_holidays_kept_for_the_process_are_each_callers_own_and_cut_to_the_span():
    # The years' days are worked out once per process; each call still gets its
    # own list, cut to its own first and last day.
    whole = bank_holidays("england_and_wales", dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    whole.append(dt.date(2025, 7, 1))   # a caller's own change stays its own
    again = bank_holidays("england_and_wales", dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    assert dt.date(2025, 7, 1) not in again and again == sorted(again)
    assert again[0] == dt.date(2025, 1, 1) and again[-1] == dt.date(2026, 12, 28)
    inside = bank_holidays("england_and_wales", dt.date(2025, 4, 19), dt.date(2025, 12, 25))
    assert inside == [d for d in again if dt.date(2025, 4, 19) <= d <= dt.date(2025, 12, 25)]
    assert inside[0] == dt.date(2025, 4, 21) and inside[-1] == dt.date(2025, 12, 25)


def test_a_hand_list_that_runs_out_before_the_run_is_noted(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(f"extends: {DEFAULT}\npractice:\n  bank_holidays: none\n"
                 "  closed_dates: [2025-04-18, 2025-04-21]\n")
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(f)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "note:" in p.stdout and "listed by hand up to 2025-04-21" in p.stdout
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(DEFAULT)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "note:" not in p.stdout


_EVERY_NATION = """
import datetime as dt, json, sys
{before}
from sim.world.closures import BANK_HOLIDAYS, bank_holidays
days = {{n: [d.isoformat() for d in bank_holidays(n, dt.date(1995, 1, 1), dt.date(2045, 12, 31))]
        for n in BANK_HOLIDAYS}}
countries = sorted(m for m in sys.modules if m.startswith("holidays.countries."))
{after}
print(json.dumps({{"days": days, "countries": countries}}))
"""


def _every_nation(before: str = "", after: str = "") -> dict:
    p = subprocess.run([sys.executable, "-c", _EVERY_NATION.format(before=before, after=after)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return json.loads(p.stdout)


def test_the_uk_rules_loaded_on_their_own_give_python_holidays_own_dates():
    # A fresh process loads only the United Kingdom's module (not python-holidays'
    # 250 countries); its dates for every nation and 51 years are those of a
    # process where python-holidays imported all its countries itself first.
    own = _every_nation()
    assert own["countries"] == ["holidays.countries.united_kingdom"], own["countries"][:5]
    theirs = _every_nation(before="import holidays.countries")
    assert len(theirs["countries"]) > 100
    assert own["days"] == theirs["days"]
    assert len(own["days"]["england_and_wales"]) > 400
    # Importing the whole package afterwards reuses the module already loaded.
    later = _every_nation(after=(
        "import holidays, holidays.countries\n"
        "assert holidays.countries.UnitedKingdom is "
        "sys.modules['holidays.countries.united_kingdom'].UnitedKingdom\n"
        "assert sorted(holidays.country_holidays('GB', subdiv='SCT', years=2030)) == "
        "bank_holidays('scotland', dt.date(2030, 1, 1), dt.date(2030, 12, 31))"))
    assert later["days"] == own["days"]


def test_threads_asking_at_once_all_get_the_dates():
    # The web app runs each page in a thread: a thread must not find the UK
    # module registered but not yet loaded by another.
    code = (
        "import datetime as dt, sys, threading\n"
        "from sim.world.closures import bank_holidays\n"
        "sys.setswitchinterval(1e-6)\n"
        "go, got = threading.Barrier(8), []\n"
        "def ask():\n"
        "    go.wait()\n"
        "    try:\n"
        "        got.append(len(bank_holidays('scotland', dt.date(2024, 1, 1),"
        " dt.date(2026, 12, 31))))\n"
        "    except Exception as e:\n"
        "        got.append(repr(e))\n"
        "threads = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(sorted(set(map(str, got))))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120, check=True)
    assert p.stdout.strip() == "['31']", p.stdout
