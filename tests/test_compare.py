"""`run.py compare` and `run.py report`: replications, intervals, plots, the HTML report."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import KNOWN_OUTSIDE, ROOT, chromium, keep_screenshots

from analysis.compare import COMPARED
from analysis.labels import measure
from analysis.report import PLOTS
from analysis.stats import summarise_replications

POLICY_DIR = ROOT / "scenarios" / "policies"
QUICK = ["--set", "population.size=2500", "--set", "warmup_days=14", "--set",
         "duration_days=56"]
PNG = b"\x89PNG\r\n\x1a\n"


def sh(*args: str, timeout: int = 600, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "two"
    p = sh("compare", str(POLICY_DIR / "access_first.yaml"),
           str(POLICY_DIR / "usual_gp_first.yaml"), "-r", "3", "--workers", "2",
           "--out", str(out), *QUICK)
    assert p.returncode == 0, p.stderr
    assert "run/s" not in p.stderr and "%|" not in p.stderr, "no progress bar when piped"
    return out, p


def test_comparison_tables_cover_every_scenario_and_metric(comparison):
    out, p = comparison
    assert str(out / "report.html") in p.stdout
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["scenario"]) == {"access_first", "usual_gp_first"}
    assert set(comp["metric"]) == set(COMPARED)
    assert (comp["n"] == 3).all()
    diff = pd.read_csv(out / "differences.csv")
    assert set(diff["scenario"]) == {"usual_gp_first"}
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6 and sorted(runs["replication"].unique()) == [0, 1, 2]
    # The interval in the table is the one computed from the runs.
    from analysis.stats import mean_ci

    row = comp[(comp["scenario"] == "usual_gp_first") & (comp["metric"] == "upc_mean")].iloc[0]
    mean, low, high, _ = mean_ci(runs.loc[runs["scenario"] == "usual_gp_first", "upc_mean"])
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((mean, low, high))


def test_every_plot_is_a_png_and_the_report_is_self_contained(comparison):
    out, _ = comparison
    for f, *_ in PLOTS:
        data = (out / "plots" / f).read_bytes()
        assert data[:8] == PNG and len(data) > 5000, f
    report = (out / "report.html").read_text()
    assert report.count('src="data:image/png;base64,') == len(PLOTS)
    assert "src=\"http" not in report and "<link" not in report
    for name in ("Default practice, access-first", "Default practice, usual-GP-first"):
        assert name in report
    for metric in COMPARED:  # headline and every measure, by their human names
        assert html.escape(measure(metric).heading) in report, metric
    assert "proxies for comparing policies, not forecasts" in report
    assert "STRESS-DES" in report and "policy.name" in report


def test_report_is_valid_html_with_every_image_embedded_and_no_scientific_numbers(comparison):
    import html5lib

    out, _ = comparison
    report = (out / "report.html").read_text()
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(report)
    images = tree.findall(".//img")
    assert len(images) == len(PLOTS)
    assert all(img.get("src").startswith("data:image/png;base64,") for img in images)
    assert all(img.get("alt") for img in images)
    text = " ".join(tree.itertext())
    assert not re.search(r"\d\.?\d*e[+-]\d", text), re.findall(r"\S*\d\.?\d*e[+-]\d\S*", text)
    # The first screen: the verdict, led by the decision; then what was compared (as a
    # list, with what each approach does), before any table.
    body = text[: text.index("The answer in tables")]
    assert "What was compared" in body and "The verdict" in body
    assert body.index("The verdict") < body.index("Decision: ") < body.index("What was compared")
    assert "the baseline" in body and "Reception offers the patient's usual GP first" in body
    assert len(tree.findall(".//ul[@class='approaches']/li")) == 2


def test_the_verdict_is_built_from_the_numbers():
    """Change which approach leads and what it costs, and the words change with it."""
    from analysis.verdict import verdict

    def tables(slicc_b, wait_b):
        rows = []
        for k in range(5):
            jitter = 0.001 * k
            rows.append({"scenario": "a", "replication": k, "slicc": 0.36 + jitter,
                         "team_continuity": 0.40, "routine_wait_mean_days": 4.5 + jitter,
                         "urgent_same_day_share": 0.95, "upc_mean": 0.53, "ae_per_1000": 315.0,
                         "admissions_per_1000": 93.0})
            rows.append({"scenario": "b", "replication": k, "slicc": slicc_b + 2 * jitter,
                         "team_continuity": 0.40, "routine_wait_mean_days": wait_b + 3 * jitter,
                         "urgent_same_day_share": 0.95, "upc_mean": 0.53,
                         "ae_per_1000": 315.0 - 10 * (slicc_b > 0.4) + jitter,
                         "admissions_per_1000": 93.0})
        runs = pd.DataFrame(rows)
        comp = summarise_replications(runs, [c for c in runs.columns
                                             if c not in ("scenario", "replication")])
        return comp, runs

    names = {"a": "access-first", "b": "usual-GP-first"}
    gain_free = " ".join(verdict(*tables(0.49, 4.2), ["a", "b"], names, 5))
    gain_costly = " ".join(verdict(*tables(0.49, 5.4), ["a", "b"], names, 5))
    no_gain = " ".join(verdict(*tables(0.30, 4.5), ["a", "b"], names, 5))
    quicker = " ".join(verdict(*tables(0.30, 3.3), ["a", "b"], names, 5))
    # The decision comes first, with the difference that decides it and its interval.
    assert gain_free.startswith("Decision: for continuity, choose usual-GP-first: +13.2 points "
                                "of SLICC over access-first (95% interval ")
    assert "with shorter routine waits too (" in gain_free.split(". ")[0]
    assert no_gain.startswith("Decision: none of the alternatives improves continuity or "
                              "routine waits on access-first")
    # A variant judged on access as well: no continuity gain, but shorter waits.
    assert quicker.startswith("Decision: none of the alternatives improves continuity on "
                              "access-first, but usual-GP-first shortens routine waits: 3.3 days "
                              "against 4.5 days (")
    assert "at a cost in continuity" in quicker.split(". ")[0]
    assert "Usual-GP-first gives the most continuity: 49%" in gain_free
    assert "+13.2 points" in gain_free and "costs no access" in gain_free
    assert "10 fewer A&E attendances" in gain_free
    assert "Usual-GP-first costs access" in gain_costly and "5.4 days against 4.5" in gain_costly
    assert "for the shortest routine wait, access-first" in gain_costly
    assert "None of the approaches gives more continuity than the baseline" in no_gain
    assert len({gain_free, gain_costly, no_gain, quicker}) == 4
    for text in (gain_free, gain_costly, no_gain, quicker):
        assert 5 <= text.count(". ") + 1 <= 9


def test_report_rerenders_from_saved_results(comparison):
    out, _ = comparison
    before = (out / "comparison.csv").read_bytes()
    (out / "report.html").unlink()
    for f, *_ in PLOTS:
        (out / "plots" / f).unlink()
    p = sh("report", str(out))
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").stat().st_size > 10000
    assert all((out / "plots" / f).read_bytes()[:8] == PNG for f, *_ in PLOTS)
    assert (out / "comparison.csv").read_bytes() == before


def test_report_of_a_folder_that_is_not_a_comparison_exits_2(tmp_path):
    p = sh("report", str(tmp_path))
    assert p.returncode == 2 and "not a comparison folder" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_parallel_equals_sequential(comparison, tmp_path):
    out, _ = comparison
    p = sh("compare", str(POLICY_DIR / "access_first.yaml"),
           str(POLICY_DIR / "usual_gp_first.yaml"), "-r", "3", "--workers", "1",
           "--out", str(tmp_path / "seq"), *QUICK)
    assert p.returncode == 0, p.stderr
    a = pd.read_csv(out / "runs.csv")
    b = pd.read_csv(tmp_path / "seq" / "runs.csv")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_run_with_no_arguments_writes_the_default_comparison(tmp_path):
    """The default comparison, written where the command is run from, never over yours.

    Run from a folder holding a copy of the scenarios (the command's project root
    there), so the checkout's results/default_comparison/ is left untouched.
    """
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    mine = ROOT / "results" / "default_comparison" / "report.html"
    before = mine.stat().st_mtime_ns if mine.exists() else None
    p = sh(timeout=900, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "results" / "default_comparison"
    assert (mine.stat().st_mtime_ns if mine.exists() else None) == before
    assert str(out / "report.html") in p.stdout
    comp = pd.read_csv(out / "comparison.csv")
    assert list(dict.fromkeys(comp["scenario"])) == [
        "access_first", "usual_gp_first", "clinical_champion", "personalised_micro_teams"]
    assert (comp.dropna(subset=["mean"])["n"] == 10).all()
    validation = pd.read_csv(out / "validation.csv")
    base = validation[validation["scenario"] == "access_first"]
    outside = set(base.loc[base["verdict"] == "outside", "measure"])
    assert len(base) >= 15 and outside <= set(KNOWN_OUTSIDE), outside
    assert base.loc[base["kind"] == "independent", "within"].all()


def test_run_comparison_from_python_without_the_cli(tmp_path):
    """The library call behind `compare`: loaded scenarios in, a comparison folder out."""
    import json

    from gpsim.compare import ComparisonRequest, run_comparison
    from sim import load_scenario

    quick = {"population.size": 1500, "warmup_days": 7, "duration_days": 28}
    a = load_scenario(POLICY_DIR / "access_first.yaml", quick)
    b = load_scenario(POLICY_DIR / "micro_team.yaml", quick)
    seen = []
    result = run_comparison(ComparisonRequest([a, b], tmp_path / "out", replications=2, seed=3),
                            on_start=lambda labels, runs, procs: seen.append((labels, runs)))
    assert seen == [(result.labels, 4)] and result.runs == 4 and result.seed == 3
    assert result.labels[0].startswith("Default_practice")
    comp = pd.read_csv(result.out / "comparison.csv")
    assert set(comp["scenario"]) == set(result.labels)
    manifest = json.loads((result.out / "metadata.json").read_text())["files"]
    assert "report.html" in manifest and "comparison.csv" in manifest
    meta = json.loads((result.out / "comparison.json").read_text())
    assert meta["seeds"] == [3] and meta["replications"] == 2


def test_run_network_study_from_python(tmp_path):
    from gpsim.network import run_network_study

    net = tmp_path / "net.yaml"
    net.write_text("name: two\nseed: 5\npractices:\n"
                   f"  - {{id: a, scenario: {POLICY_DIR / 'access_first.yaml'}, set: "
                   "{population.size: 1200, warmup_days: 7, duration_days: 21}}\n"
                   f"  - {{id: b, scenario: {POLICY_DIR / 'usual_gp_first.yaml'}, set: "
                   "{population.size: 1500, warmup_days: 7, duration_days: 21}}\n")
    result = run_network_study(net, tmp_path / "out", workers=1, summary_only=True)
    assert list(result.summary["practice_id"]) == ["a", "b", "network"]
    assert result.summary.iloc[-1]["patients"] == 2700
    assert (result.out / "network_summary.csv").is_file()
    assert not (result.out / "practices").exists()
    # The report's figure and the monthly tables written in other processes while the
    # summary is made: the same files, in one replication and in three.
    aside = run_network_study(net, tmp_path / "aside", workers=1, summary_only=True,
                              side_by_side=True)
    for name in ("plots/practices.png", "network_intervals.csv", "network_summary.csv",
                 "network_monthly.csv", "network_monthly_by_practice.csv",
                 "network_replications.csv", "network_summary_by_cohort.csv"):
        assert (aside.out / name).read_bytes() == (result.out / name).read_bytes()
    three = [run_network_study(net, tmp_path / f"three{x}", workers=1, summary_only=True,
                               replications=3, side_by_side=x) for x in (False, True)]
    for name in ("plots/practices.png", "network_intervals.csv", "network_summary.csv",
                 "network_monthly.csv", "network_monthly_by_practice.csv",
                 "network_replications.csv"):
        assert (three[0].out / name).read_bytes() == (three[1].out / name).read_bytes()
    for name in ("network_summary.csv", "network_monthly.csv",
                 "network_monthly_by_practice.csv"):  # the first replication's
        assert (three[0].out / name).read_bytes() == (result.out / name).read_bytes()
    assert "data:image/png;base64," in (aside.out / "report.html").read_text()


def test_written_aside_writes_in_other_processes_or_here_if_that_fails(tmp_path, monkeypatch):
    import os

    import analysis.report as report

    monkeypatch.setattr(report, "_can_draw_side_by_side", lambda: True)
    here = os.getpid()

    def draw(name):
        (tmp_path / f"{name}-{'here' if os.getpid() == here else 'aside'}").touch()

    with report.written_aside(lambda: draw("a"), lambda: draw("d")):
        (tmp_path / "block").touch()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-aside", "block", "d-aside"]

    def dies_aside():
        if os.getpid() != here:
            os._exit(3)
        draw("b")

    with report.written_aside(dies_aside, lambda: draw("e")):
        pass
    assert (tmp_path / "b-here").exists()  # drawn again here: nothing goes missing
    assert (tmp_path / "e-aside").exists() and not (tmp_path / "e-here").exists()
    with report.written_aside(lambda: draw("c"), side_by_side=False):
        assert (tmp_path / "c-here").exists()  # here, before the block


def test_no_text_overlaps_in_any_plot(comparison, monkeypatch):
    """Every comparison plot, drawn from the saved results: no two texts overlap."""
    from analysis import plots
    from analysis.compare import load_comparison
    from analysis.report import make_plots

    out, _ = comparison
    seen = {}
    save = plots._save

    def check(fig, path):
        seen[path.name] = plots.overlapping_texts(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", check)
    make_plots(load_comparison(out), out / "checked")
    assert set(seen) == {f for f, *_ in PLOTS}
    assert {name: pairs for name, pairs in seen.items() if pairs} == {}


def test_plots_for_papers_in_other_formats(comparison, tmp_path):
    from analysis.compare import load_comparison
    from analysis.report import make_plots

    out, _ = comparison
    make_plots(load_comparison(out), tmp_path, formats=("png", "svg", "pdf"))
    for f, *_ in PLOTS:
        stem = f.removesuffix(".png")
        assert (tmp_path / f"{stem}.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert (tmp_path / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_overlap_check_finds_overlapping_labels():
    import matplotlib.pyplot as plt

    from analysis.plots import overlapping_texts

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.annotate("Default practice, usual-GP-first", (0.5, 0.5))
    ax.annotate("Default practice, micro-teams", (0.52, 0.51))
    ax.annotate("far away", (0.05, 0.05))
    assert overlapping_texts(fig) == [("Default practice, usual-GP-first",
                                       "Default practice, micro-teams")]
    plt.close(fig)


def screenshot(page, png, width=1280, height=900) -> np.ndarray:
    """A headless-browser screenshot of ``page``, read back as an image array."""
    import matplotlib.image

    p = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={png.parent / 'chromium-profile'}",
                        f"--window-size={width},{height}", f"--screenshot={png}",
                        page.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.is_file(), p.stderr[-2000:]
    return matplotlib.image.imread(png)


@pytest.mark.slow
def test_report_screenshot_in_a_real_browser(comparison, tmp_path):
    """The report's first screen, as a laptop shows it: drawn, not blank, saved to look at."""
    out, _ = comparison
    image = screenshot(out / "report.html", tmp_path / "report_first_screen.png")
    assert image.shape[:2] == (900, 1280)
    # Not a blank page: text and colour in it (the verdict's green band, the swatches).
    grey = image[..., :3].mean(axis=2)
    assert grey.std() > 0.05 and (grey < 0.3).mean() > 0.005
    keep_screenshots(tmp_path / "report_first_screen.png")



def test_approaches_run_one_scenario_under_each_policy(tmp_path):
    out = tmp_path / "cmp"
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare",
                        str(ROOT / "scenarios" / "default.yaml"), "--approaches",
                        "access_first,clinical_champion", "-r", "2", "--out", str(out),
                        "--set", "duration_days=28", "--set", "warmup_days=14",
                        "--set", "population.size=1500"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    comp = pd.read_csv(out / "comparison.csv")
    assert list(dict.fromkeys(comp["scenario"])) == ["access_first", "clinical_champion"]
    resolved = (out / "scenarios" / "clinical_champion.resolved.yaml").read_text(encoding="utf-8")
    # The shipped approach's whole policy block: the champion's cohorts come with it.
    assert "frequent_attenders" in resolved.split("policy:")[1]
    assert "clinical champions for cohorts" in resolved


@pytest.mark.parametrize("cores", [2, 16])
def test_plots_drawn_side_by_side_are_the_same_plots(comparison, tmp_path, monkeypatch, cores):
    """Plots drawn in forked processes are those drawn one after another here.

    Two cores: the heavy two aside. Sixteen: a process a plot.
    """
    import os

    import analysis.report as report
    from analysis.compare import load_comparison

    c = load_comparison(comparison[0])
    one = report.make_plots(c, tmp_path / "one")
    monkeypatch.setattr(report, "_can_draw_side_by_side", lambda: True)
    monkeypatch.setattr(report, "usable_cores", lambda: cores)
    real = report._draw
    parent = os.getpid()
    drawn_here = []

    def noted(calls, jobs, folder, extra):
        if os.getpid() == parent:
            drawn_here.extend(fn for _, fn in jobs)
        real(calls, jobs, folder, extra)

    monkeypatch.setattr(report, "_draw", noted)
    two = report.make_plots(c, tmp_path / "two", side_by_side=True)
    assert list(one) == list(two)
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    light = [fn for *_, fn in report.PLOTS if fn not in report.HEAVY_PLOTS]
    assert drawn_here == (light if cores == 2 else ["compare_monthly"])
    # Forked processes that fail leave their plots to this one, so nothing goes missing.
    def flaky(calls, jobs, folder, extra):
        if os.getpid() != parent:  # a forked process dies
            os._exit(3)
        real(calls, jobs, folder, extra)

    monkeypatch.setattr(report, "_draw", flaky)
    three = report.make_plots(c, tmp_path / "three", side_by_side=True)
    for name in three:
        assert (tmp_path / "three" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_plots_are_shared_out_over_the_cores_each_once():
    """Plots shared out over the cores: each drawn exactly once.

    Two cores: the heavy plots aside, as before. More: a group a core, none
    slower than the slowest plot.
    """
    from analysis.report import HEAVY_PLOTS, PLOT_SECONDS, PLOTS, plot_groups

    jobs = [(f, fn) for f, _, _, fn in PLOTS]
    here, aside = plot_groups(jobs, 2)
    assert {fn for _, fn in aside} == set(HEAVY_PLOTS) and len(here) == len(jobs) - 2
    for cores in (3, 4, 5, 7, 64):
        groups = plot_groups(jobs, cores)
        assert len(groups) == min(cores, len(jobs))
        assert sorted(j for g in groups for j in g) == sorted(jobs), cores
        assert all(g == sorted(g, key=jobs.index) for g in groups)   # in the report's order
        longest = max(sum(PLOT_SECONDS[fn] for _, fn in g) for g in groups)
        assert longest == max(PLOT_SECONDS.values()), (cores, groups)
    assert [len(g) for g in plot_groups(jobs, 64)] == [1] * len(jobs)


def test_a_long_legend_makes_the_figure_taller_not_the_plots_smaller(tmp_path):
    """A sweep's 20 points: the wait plot grows by the legend's extra rows."""
    import matplotlib.image

    from analysis.plots import compare_waits
    from analysis.spread import WaitsWithin

    rng = np.random.default_rng(0)

    def height(n):
        labels = [f"p{i}" for i in range(n)]
        waits = pd.DataFrame({"scenario": np.repeat(labels, 200),
                              "urgency": np.tile(["urgent", "routine"], 100 * n),
                              "wait_days": rng.exponential(3.0, 200 * n)})
        names = {lb: f"a point with a long enough name to take a row, number {lb}"
                 for lb in labels}
        within = WaitsWithin()
        within.add_stacked(waits)
        path = compare_waits(within.table(labels), labels, names, tmp_path / f"w{n}.png")
        return matplotlib.image.imread(path).shape[0]

    assert height(3) == height(4) == round(4.8 * 110)  # four rows fit as before
    assert height(20) == round((4.8 + 16 * 0.2) * 110)


def test_percent_axes_step_by_whole_points_and_label_each_tick_once():
    """Shares on a y axis: steps of 1, 2, 5 or 10 points (never 2.5 shown rounded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.plots import _percent_axis

    for low, high in ((0.37, 0.52), (0.78, 0.92), (0.955, 0.961), (0.0, 1.0)):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [low, high])
        _percent_axis(ax)
        fig.canvas.draw()
        ticks = ax.get_yticks()
        step = round((ticks[1] - ticks[0]) * 100, 6)
        assert step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20), (low, high, step)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(set(labels)) == len(labels) and all(x.endswith("%") for x in labels), labels
        plt.close(fig)


def test_each_approach_keeps_its_colour_whatever_else_is_compared():
    from analysis.plots import APPROACH_COLOURS, colours, use_approach_colours
    from analysis.report import approaches

    params = pd.DataFrame([
        {"scenario": "a", "parameter": "policy.name", "value": "access_first"},
        {"scenario": "b", "parameter": "policy.name", "value": "personalised_micro_teams"},
        {"scenario": "c", "parameter": "policy.name", "value": "access_first"},
        {"scenario": "c", "parameter": "policy_changes[0].policy.name",
         "value": "usual_gp_first"},
        {"scenario": "d", "parameter": "policy.name", "value": "usual_gp_first"},
    ])
    found = approaches(params, ["a", "b", "c", "d"])
    assert found == {"a": "access_first", "b": "personalised_micro_teams",
                     "c": "usual_gp_first", "d": "usual_gp_first"}
    chosen = use_approach_colours(["a", "b", "c", "d"], found)
    assert chosen["b"] == APPROACH_COLOURS["personalised_micro_teams"]  # not by its place
    assert chosen["c"] == APPROACH_COLOURS["usual_gp_first"]  # the approach it changes to
    assert len(set(chosen.values())) == 4  # a second usual-GP-first gets a colour of its own
    assert colours(["a", "b", "c", "d"]) == chosen


def test_the_report_says_how_each_practice_sees_urgent_requests_and_triages():
    from gpsim.compare import approach_text
    from sim import load_scenario
    urgent = ROOT / "scenarios" / "urgent"
    plain = approach_text(load_scenario(ROOT / "scenarios" / "default.yaml"))
    assert "duty" not in plain and "telephones" not in plain
    duty = approach_text(load_scenario(urgent / "duty_doctor.yaml"))
    assert "duty GP (1 a day) first" in duty and "telephones" not in duty
    total = approach_text(load_scenario(urgent / "total_triage.yaml"))
    assert "every new urgent or routine request (total triage)" in total
    assert "4 minutes a call; 34% resolved" in total
    assert "each urgent request" in approach_text(load_scenario(urgent / "urgent_triage.yaml"))


def test_a_folder_written_before_the_summaries_draws_the_same_plots(comparison, tmp_path):
    """The wait and continuity plots come from their summaries; an older folder makes them."""
    from analysis.report import make_plots

    folder, _ = comparison
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    for name in ("wait_ecdf", "continuity_boxes"):
        (old / "data" / f"{name}.parquet").unlink()
    from analysis.compare import load_comparison
    c = load_comparison(old)
    assert len(c["data"]["waits"]) and len(c["data"]["wait_ecdf"])
    make_plots(c, tmp_path / "plots")
    for png in ("waits.png", "continuity.png"):
        assert (tmp_path / "plots" / png).read_bytes() == (folder / "plots" / png).read_bytes()
    fresh = load_comparison(folder)
    assert fresh["data"]["waits"].empty, "the long tables are not read when summaries exist"


def test_runs_added_up_as_they_arrive_give_the_tables_of_every_run_held_at_once(tmp_path):
    """Compare keeps each run's long tables on disk: the same data and files, in any order."""
    from analysis.compare import DATA_TABLES, ComparisonTotals, collect, reduce_run, spreads
    from sim.inputs.loading import load_scenario
    from sim.runs.batch import run_batch

    quick = {"population.size": 1500, "warmup_days": 14, "duration_days": 42, "seed": 5}
    labels = ["b", "a"]  # the baseline need not sort first
    jobs = [(lb, load_scenario(POLICY_DIR / f"{name}.yaml", quick), k)
            for lb, name in zip(labels, ("access_first", "usual_gp_first"), strict=True)
            for k in range(2)]
    reduced = list(run_batch(jobs, reduce_run))
    held = collect(reduced, labels)
    held.update(spreads(held, labels))
    (tmp_path / "spill").mkdir()
    totals = ComparisonTotals(tmp_path / "spill")
    for label, k, tables in reversed(reduced):  # the last run first
        totals.add(label, k, tables)
    data = totals.data(labels)
    for name in DATA_TABLES:
        if name in ("waits", "patient_continuity"):
            assert data[name] is None  # written by write_long, never held
        else:
            pd.testing.assert_frame_equal(data[name], held[name], obj=name)
    for name in ("wait_ecdf", "continuity_boxes"):
        pd.testing.assert_frame_equal(data[name], held[name], obj=name)
    totals.write_long(tmp_path, labels)
    for name in ("waits", "patient_continuity"):
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(back) > 0
        expected = held[name].copy()
        expected.to_parquet(tmp_path / "whole.parquet", index=False)
        pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "whole.parquet"), obj=name)
    assert list(dict.fromkeys(back["scenario"])) == labels


def test_figures_are_drawn_aside_on_linux_only_and_with_no_thread_beside():
    """A forked child draws only on Linux, alone; elsewhere every figure is drawn in the command.

    macOS spawns processes (a forked child can crash there), Windows has no fork,
    and a child forked beside other threads can wait for ever on a lock one held.
    """
    from analysis.report import _can_draw_side_by_side

    for platform, forked in (("linux", True), ("darwin", False), ("win32", False)):
        assert _can_draw_side_by_side(platform, threads=1) is forked, platform
    assert not _can_draw_side_by_side("linux", threads=2)
