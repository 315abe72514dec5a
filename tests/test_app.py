"""The web app, three ways.

Its logic directly; its page with Streamlit's own test harness (no browser);
and end to end in a real browser (Playwright driving Debian's Chromium, in
the slow tier).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import DEFAULT, ROOT, chromium, keep_screenshots

from gpsim import app_logic as logic
from sim import load_scenario

PAGE = ROOT / "gpsim" / "app.py"


def test_practice_settings_go_through_the_strict_schema():
    base = load_scenario(DEFAULT)
    form = logic.practice_form(base)
    assert form["list_size"] == base.population.size and "gp" in form["roles"]
    smaller, problems = logic.with_practice(base, {**form, "list_size": 3000})
    assert problems == [] and smaller.population.size == 3000
    _, problems = logic.with_practice(base, {**form, "booking_horizon_days": 0})
    assert problems == ["the practice form: practice.booking_horizon_days: Input should be "
                        "greater than or equal to 1 (got 0)"]
    _, problems = logic.approach_scenario(smaller, "usual_gp_first", {"adherance": 0.7})
    assert "policy.params.adherance: unknown key 'adherance'; did you mean 'adherence'?" \
        in problems[0]


def test_sessions_a_week_change_which_sessions_a_clinician_works():
    base = load_scenario(DEFAULT)
    form = logic.practice_form(base)
    first = base.clinicians[0]
    assert form["clinicians"][first.id]["sessions_per_week"] == len(first.sessions) == 8
    form["clinicians"][first.id]["sessions_per_week"] = 10
    more, problems = logic.with_practice(base, form)
    assert problems == [] and more.clinicians[0].sessions == (*first.sessions, "fri_am",
                                                             "fri_pm")
    form["clinicians"][first.id]["sessions_per_week"] = 3
    fewer, _ = logic.with_practice(base, form)
    assert fewer.clinicians[0].sessions == first.sessions[:3]
    form["clinicians"][first.id]["sessions_per_week"] = 12
    _, problems = logic.with_practice(base, form)
    assert problems == [f"clinicians.{first.id}.sessions: 12 sessions a week is more than "
                        "the 10 the practice opens"]


def test_uploads_are_limited_and_get_the_command_lines_messages():
    _, problems = logic.read_upload("big.yaml", b"x" * (logic.MAX_UPLOAD_BYTES + 1))
    assert problems[0].startswith("big.yaml: 1,000,001 bytes; the app takes scenario files")
    _, problems = logic.read_upload("mine.yaml", b"population: {size: -3}\n")
    assert "mine.yaml:1: population.size: Input should be greater than or equal to 1 " \
           "(got -3)" in problems
    _, problems = logic.read_upload("net.yaml", b"practices: []\n")
    assert "not a scenario file" in problems[0]
    ok, problems = logic.read_upload("default.yaml", DEFAULT.read_bytes())
    assert problems == [] and ok.population.size == load_scenario(DEFAULT).population.size


def test_an_upload_refers_to_no_other_file_and_its_messages_quote_none(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("root: the-first-line-of-a-private-file\n")
    for key, ref in (("extends", str(secret)), ("extends", "../../../etc/passwd"),
                     ("extends", str(DEFAULT))):
        _, problems = logic.read_upload("evil.yaml", f"{key}: {ref}\n".encode())
        assert any("outside the folders input files may refer to" in p for p in problems)
        assert not any("the-first-line" in p or "root:" in p for p in problems)
        assert not any(str(tmp_path) in p and "secret" not in ref for p in problems)
    for bad, said in (("2024-02-30", "is not a real date"),
                      ("9999-12-01", "outside the dates a scenario may use")):
        text = re.sub(r"(?m)^start_date: \S+", f"start_date: {bad}", DEFAULT.read_text())
        _, problems = logic.read_upload("d.yaml", text.encode())
        assert any(said in p for p in problems), problems  # a message, not an exception
    text = re.sub(r"(?m)^policy:\n  name: access_first", "policy:\n  name: 'this:X'",
                  DEFAULT.read_text())
    _, problems = logic.read_upload("d.yaml", text.encode())
    assert any("an input file cannot run code" in p for p in problems), problems
    text = DEFAULT.read_text().replace("population:\n", "population:\n  list_file: /etc/hosts\n")
    _, problems = logic.read_upload("list.yaml", text.encode())
    assert any("population.list_file" in p and "outside the folders" in p for p in problems)


def test_user_text_is_shown_as_text_not_markdown():
    shown = logic.plain("![x](http://127.0.0.1:8799/leak.png) :red[big] $x$ <b>b</b>")
    for token in ("![", "](", ":red[", "<b>"):
        assert token not in shown
    # Every character is still there, escaped: a person reads what the file said.
    assert shown.replace("\\", "") == "![x](http://127.0.0.1:8799/leak.png) :red[big] $x$ <b>b</b>"


def test_the_page_leaves_nothing_in_the_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    base = load_scenario(DEFAULT, {"population.size": 1500, "warmup_days": 7,
                                   "duration_days": 21})
    a, _ = logic.approach_scenario(base, "access_first", {})
    b, _ = logic.approach_scenario(base, "usual_gp_first", {})
    got = logic.answer([a, b], 2, workers=1)
    assert got.report.startswith(b"<!doctype html>") and len(got.plots) >= 4
    assert got.plots[0][1].startswith(b"\x89PNG")
    assert list(tmp_path.iterdir()) == [], "the comparison's folder is removed"


def test_the_scenarios_taken_away_give_the_same_numbers_on_the_command_line(tmp_path):
    base = load_scenario(DEFAULT, {"population.size": 1500, "warmup_days": 14,
                                   "duration_days": 42})
    a, _ = logic.approach_scenario(base, "access_first", {})
    b, _ = logic.approach_scenario(base, "usual_gp_first", {"adherence": 0.8})
    app = logic.run_app_comparison([a, b], tmp_path / "app", 2, workers=2)
    files = []
    for label, s in zip(app.labels, (a, b), strict=True):
        f = tmp_path / f"{label}.yaml"
        f.write_text(logic.scenario_yaml(s, app.seed))
        files.append(str(f))
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", *files, "-r", "2",
                        "--out", str(tmp_path / "cli")], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "app" / "runs.csv"),
                                  pd.read_csv(tmp_path / "cli" / "runs.csv"))


def test_the_page_runs_a_comparison_in_the_test_harness():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    assert not at.exception and not at.error
    assert [h.value for h in at.header] == ["1. Your practice", "2. The approaches to compare",
                                            "3. Run the comparison"]
    at.number_input[0].set_value(1500).run()           # list size
    at.number_input[-1].set_value(2).run()              # replications
    at.button[0].click().run(timeout=300)
    assert not at.exception and not at.error
    assert "4. The answer" in [h.value for h in at.header]
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # shown as plain text
    assert "Usual-GP-first gives the most continuity" in text
    # Approaches as columns and measures as rows, so the table fits the page.
    table = at.dataframe[-1].value
    assert list(table.columns) == ["Access-first (baseline)", "Usual-GP-first"]
    slicc = table.loc["GP visits with the patient's own GP (SLICC) (%)"]
    assert " points" in slicc.iloc[1] and " points" not in slicc.iloc[0]
    assert "Decision: for continuity, choose usual-GP-first" in text


def test_a_bad_setting_shows_the_schemas_message_beside_the_form():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.multiselect[0].set_value([]).run()               # no opening days
    assert not at.exception
    # Beside the field: in the opening days' column, under it, and nowhere else.
    opening = at.columns[2]
    assert any("practice.opening.days" in e.value.replace("\\", "") for e in opening.error)
    assert not any("practice.opening.days" in e.value.replace("\\", "")
                   for e in at.columns[0].error)
    at.multiselect[0].set_value(["mon", "tue", "wed", "thu", "fri"]).run()
    assert not at.columns[2].error


def test_problems_are_grouped_by_the_field_they_name():
    grouped = logic.by_field([
        "the practice form: practice.opening.days: give at least one day",
        "the practice form: roles.gp.slots_per_session: must be 48 or less",
        "clinicians.gp_adams.sessions: 15 sessions a week is more than the 10 the practice opens",
        "population.size: this practice's list comes from its list file",
        "the practice form: needs: something else"])
    assert {k: len(v) for k, v in grouped.items()} == {
        "opening_days": 1, "roles": 1, "clinicians": 1, "list_size": 1, "general": 1}


def test_stopping_a_comparison_cancels_the_runs_not_yet_started(tmp_path):
    """Stop raises in the page's progress callback: later runs never start, nothing is written."""
    from marking_task import mark_then_wait

    from sim.runs.executor import execute

    tasks = [(str(tmp_path), i) for i in range(40)]
    runs = execute(tasks, mark_then_wait, workers=2, progress=False)
    next(runs)
    runs.close()  # what an exception in the consumer does to the generator
    started = len(list(tmp_path.glob("started-*")))
    # Those running and the few the pool had already queued finish; the rest never start.
    assert started < 20, started

    class Stopped(Exception):
        pass

    def stop(done, total):
        raise Stopped

    small = load_scenario(DEFAULT, {"population.size": 1500, "duration_days": 28,
                                    "warmup_days": 14})
    out = tmp_path / "comparison"
    with pytest.raises(Stopped):
        logic.run_app_comparison([small, small.model_copy(update={"name": "b"})], out, 5, stop,
                                 workers=2)
    assert not out.exists()


# ------------------------------------------------------------------ in a real browser

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_page(tmp_path):
    """``gpsim app`` on a free port and a Chromium page on it: yields (server, page)."""
    browser = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI needs Playwright (requirements.txt installs it)")
        pytest.skip("Playwright is not installed")
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "app", "--port",
                               str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        first = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1280, "height": 1400})
            deadline = time.monotonic() + 60
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}", timeout=10000)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            page.get_by_role("heading", name="1. Your practice").wait_for(timeout=60000)
            yield server, page
            b.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


REPLICATIONS = "Replications (more: narrower intervals, longer to run)"


def _enter(page, label: str, value: str) -> None:
    """Type ``value`` into the field labelled ``label`` and press Enter, as a user would."""
    field = page.get_by_label(label)
    field.fill(value)
    field.press("Enter")


@pytest.mark.slow
def test_the_app_in_a_real_browser(tmp_path):
    """Open the app, change a value, run a small comparison; the table and plots appear."""
    with app_page(tmp_path) as (_, page):
        _enter(page, "Registered patients (list size)", "1500")
        _enter(page, REPLICATIONS, "2")
        page.wait_for_timeout(1500)
        page.screenshot(path=tmp_path / "app_set_up.png")
        page.get_by_role("button", name="Run").click()
        answer = page.get_by_role("heading", name="4. The answer")
        answer.wait_for(timeout=240000)
        page.wait_for_timeout(2500)
        # The page brings the answer into view by itself once the run finishes.
        top = page.evaluate("document.getElementById('the-answer').getBoundingClientRect().top")
        assert 0 <= top < page.viewport_size["height"] / 2, top
        page.screenshot(path=tmp_path / "app_answer.png")
        # The results table fits the page: no column beyond its right edge.
        grid = page.locator("[data-testid='stDataFrame']").last.bounding_box()
        assert grid["x"] + grid["width"] <= page.viewport_size["width"]
        assert page.locator("[data-testid='stDataFrame']").count() >= 2
        assert page.locator("[data-testid='stImage'] img").count() >= 4
        assert page.get_by_text("Decision: for continuity").count() >= 1
    keep_screenshots(tmp_path / "app_set_up.png", tmp_path / "app_answer.png")


def _workers(server: subprocess.Popen) -> list:
    """The comparison's worker processes: below Streamlit, which is below ``gpsim app``.

    Not multiprocessing's helpers: its resource tracker, and the fork server that
    starts workers where that is how they start (Python 3.14's default on Linux),
    which stays for the server's life. (Its workers, forked from it, share its
    command line: they are told apart by their parent.)
    """
    import psutil

    def worker(k) -> bool:
        try:
            said, parent = " ".join(k.cmdline()), k.parent()
            return k.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in said and (
                "forkserver" not in said
                or (parent is not None and "forkserver" in " ".join(parent.cmdline())))
        except psutil.NoSuchProcess:  # (ended meanwhile)
            return False

    below = psutil.Process(server.pid).children()
    return [k for s in below for k in s.children(recursive=True) if worker(k)]


@pytest.mark.slow
def test_stopping_a_comparison_in_the_browser(tmp_path):
    """Start a long comparison, press Streamlit's Stop: the workers go, no answer appears."""
    with app_page(tmp_path) as (server, page):
        _enter(page, REPLICATIONS, "50")
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Run").click()
        page.get_by_text("of 100 runs").wait_for(timeout=120000)
        deadline = time.monotonic() + 60
        while not _workers(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _workers(server), "the comparison should be running in worker processes"
        page.get_by_role("button", name="Stop").click()
        deadline = time.monotonic() + 60
        while _workers(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _workers(server), "the workers should stop with the comparison"
        shown = page.get_by_text("of 100 runs").inner_text()
        page.wait_for_timeout(3000)
        assert page.get_by_text("of 100 runs").inner_text() == shown  # no more progress
        assert page.get_by_role("heading", name="4. The answer").count() == 0


def test_a_calibrated_practice_on_this_computer_keeps_its_list_and_history(tmp_path):
    import numpy as np
    import yaml

    bands = ["0-4", "5-14", "15-24", "25-44", "45-64", "65-74", "75-84", "85+"]
    pd.DataFrame({"patient_id": [f"P{i}" for i in range(400)],
                  "age_band": np.resize(bands, 400)}).to_csv(tmp_path / "l.csv", index=False)
    pd.DataFrame({"patient_id": ["P1"], "clinician_id": ["gp_adams"],
                  "consultations": [9]}).to_parquet(tmp_path / "h.parquet", index=False)
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data["population"].pop("size")
    data["population"].update(list_file="l.csv", history_file="h.parquet")
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    base, problems = logic.read_local(str(tmp_path / "mine.yaml"))
    assert problems == [] and base.population.size == 400
    practice, problems = logic.with_practice(base, logic.practice_form(base))
    assert problems == []
    assert practice.population.history_file == str((tmp_path / "h.parquet").resolve())
    s, problems = logic.approach_scenario(practice, "usual_gp_first", {"adherence": 0.8})
    assert problems == [] and s.population.list_file == str((tmp_path / "l.csv").resolve())
    assert logic.read_local(str(tmp_path / "l.csv"))[1] == [
        f"{tmp_path / 'l.csv'}: give the path of a scenario file (.yaml)"]


def test_a_rollout_set_in_the_app_is_a_scenario_change_with_a_ramp():
    base = load_scenario(DEFAULT)
    when = logic.default_rollout_date(base)
    s, problems = logic.approach_scenario(base, "usual_gp_first", {"adherence": 0.8},
                                          {"from": when, "weeks": 12})
    assert problems == []
    assert s.policy.name == base.policy.name  # the practice as it is until the change
    (change,) = s.policy_changes
    assert change.from_date == when and change.policy.name == "usual_gp_first"
    assert change.ramp[0].param == "adherence" and change.ramp[0].weeks == 12
    late, problems = logic.approach_scenario(base, "usual_gp_first", {"adherence": 0.8},
                                             {"from": base.start_date.replace(year=2030),
                                              "weeks": 4})
    assert late is None and any("policy_changes[0]" in p for p in problems)


@pytest.mark.slow
def test_an_uploaded_value_is_shown_as_text_and_fetches_nothing(tmp_path):
    """A value written as Markdown (an image on another server) is shown as it was written."""
    import http.server
    import threading

    hits = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    trap = http.server.HTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{trap.server_address[1]}/leak.png"
    evil = tmp_path / "evil.yaml"
    evil.write_text(re.sub(r"(?m)^  size: 10000.*$", f"  size: '![x]({url})'",
                           DEFAULT.read_text(), count=1))
    try:
        with app_page(tmp_path) as (_, page):
            page.get_by_text("A scenario file of my own").click()
            page.locator("input[type=file]").set_input_files(str(evil))
            shown = page.get_by_text("population.size")
            shown.first.wait_for(timeout=60000)
            page.wait_for_timeout(2000)
            text = shown.first.inner_text()
            page.screenshot(path=tmp_path / "app_upload_error.png")
            assert f"![x]({url})" in text, text  # the value as the file wrote it
            assert page.locator(f"img[src*='{trap.server_address[1]}']").count() == 0
    finally:
        trap.shutdown()
    assert hits == [], f"the page fetched {hits}"
    keep_screenshots(tmp_path / "app_upload_error.png")


# ------------------------------------------------------------------ help me choose

def test_the_help_me_choose_page_answers_in_the_test_harness():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=300).run()
    at.switch_page("app_choose.py").run()
    assert not at.exception and not at.error
    assert [h.value for h in at.header] == [
        "1. Today's practice", "2. What the practice could adopt", "3. What matters",
        "4. How robust", "5. Find the answer"]
    at.number_input(key="choose-list").set_value(1500).run()
    at.number_input(key="choose-trials").set_value(4).run()
    at.button(key="choose-run").click().run(timeout=600)
    assert not at.exception and not at.error
    assert "6. The answer" in [h.value for h in at.header]
    said = [m.value.replace("\\", "") for m in at.markdown]
    first = next(s for s in said if s.startswith("**"))
    assert first.startswith(("**Adopt ", "**Keep today's practice"))
    assert any(s.startswith("How sure: ") for s in said)
    assert any(s.startswith("What would change the answer: ") for s in said)
    table = at.dataframe[-1].value
    assert "today's practice, unchanged" in list(table["finalist"])


def test_the_question_taken_away_from_the_page_is_a_valid_question_file(tmp_path):
    import shutil

    from gpsim import app_choice as choice
    from gpsim.choose import load

    base = load_scenario(DEFAULT)
    form = {"list_size": 1500, "approaches": ["usual_gp_first", "micro_team"],
            "try_popup": True, "horizons": [14, 28], "held_for_day": (0.4, 0.5),
            "team_waits": [3, 7], "objective": "slicc", "max_longer_wait": 1.0,
            "min_urgent_same_day": 0.95, "zone": 1.0, "trials": 6,
            "assumptions": list(choice.ASSUMPTIONS)}
    data = choice.question_data(form, base)
    shutil.copy(DEFAULT, tmp_path / DEFAULT.name)
    (tmp_path / "question.yaml").write_text(choice.question_yaml(data, DEFAULT))
    q = load(tmp_path / "question.yaml")
    assert q.spec.set == {"population.size": 1500}
    team = q.option("micro_team")
    assert team.search["policy.params.team_wait_days"] == [3, 7]
    assert team.search["roles.gp.on_the_day_share"].step == 0.05
    assert "policy.params.team_wait_days" not in q.option("usual_gp_first").search
    rate = base.demand.requests_per_patient_year
    r = q.spec.robustness.assumptions["demand.requests_per_patient_year"]
    assert (r.low, r.high) == (round(rate * 0.9, 3), round(rate * 1.1, 3))
    assert q.not_applicable == {"today": {"policy.params.adherence"}}


@pytest.mark.slow
def test_help_me_choose_in_a_real_browser(tmp_path):
    """Open the second page, make the question small, choose; the answer and plots appear."""
    with app_page(tmp_path) as (_, page):
        page.get_by_role("link", name="Help me choose").click()
        page.get_by_role("heading", name="1. Today's practice").wait_for(timeout=60000)
        _enter(page, "Registered patients (list size)", "1500")
        _enter(page, "Settings to try (more: a wider search, longer to run)", "4")
        page.wait_for_timeout(1500)
        page.screenshot(path=tmp_path / "app_choose_set_up.png", full_page=True)
        page.get_by_role("button", name="Choose").click()
        page.get_by_role("heading", name="6. The answer").wait_for(timeout=300000)
        page.wait_for_timeout(2500)
        # The page brings the answer into view by itself once the choice is made.
        top = page.evaluate("document.getElementById('the-choice').getBoundingClientRect().top")
        assert 0 <= top < page.viewport_size["height"] / 2, top
        page.screenshot(path=tmp_path / "app_choose_answer.png", full_page=True)
        assert page.get_by_text("How sure:").count() >= 1
        grid = page.locator("[data-testid='stDataFrame']").last.bounding_box()
        assert grid["x"] + grid["width"] <= page.viewport_size["width"]
        assert page.locator("[data-testid='stImage'] img").count() >= 2
        assert page.get_by_role("button", name="The full answer (HTML)").count() == 1
    keep_screenshots(tmp_path / "app_choose_set_up.png", tmp_path / "app_choose_answer.png")


#: The page as Streamlit runs it (a "__main__" module of its own with the page's
#: path; in bare mode here), then two tasks on two workers started by a fork server
#: (a thread runs beside, as Streamlit's do): has either worker imported Streamlit?
_PAGE_THEN_WORKERS = r"""
import json, sys, threading, types
from marking_task import loaded
from sim.runs.executor import execute

if __name__ == "__main__":
    page = types.ModuleType("__main__")
    page.__file__ = sys.argv[1]
    sys.modules["__main__"] = page
    exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), page.__dict__)
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    print(json.dumps([r for _, r in execute(["streamlit", "streamlit"], loaded, workers=2,
                                            progress=False)]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a fork server on Linux")
def test_workers_started_afresh_do_not_run_the_page_again(tmp_path):
    """Not the page again in each worker: Streamlit imported, the page drawn for nothing."""
    script = tmp_path / "host.py"
    script.write_text(_PAGE_THEN_WORKERS)
    tests = ROOT / "tests"
    p = subprocess.run([sys.executable, str(script), str(PAGE)], capture_output=True,
                       text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tests}"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip().splitlines()[-1] == "[false, false]"
