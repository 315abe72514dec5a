"""The network's figure of every practice: named rows for a few, a ranked one-size figure for many."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from analysis import plots
from analysis.plots import PRACTICE_PANELS, PRACTICES_NAMED, compare_practices


def practices(n: int, labels=("a", "b"), reps: int = 2) -> pd.DataFrame:
    """``n`` practices of each compared network, ``reps`` replications, made-up measures."""
    rng = np.random.default_rng(n)
    rows = []
    for lb in labels:
        for p in range(n):
            for r in range(reps):
                rows.append({"scenario": lb, "replication": r, "practice_id": f"practice_{p:03d}",
                             **{m: rng.uniform(0.2, 0.9) * (100 if "wait" in m or "ae" in m else 1)
                                for m in PRACTICE_PANELS}})
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """What each figure compare_practices saves shows: overlapping and cut-off texts."""
    seen = []
    save = plots._save

    def check(fig, path, laid_out=False):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        outside = [t.get_text() for t in plots._drawn_texts(fig)
                   if not fig.bbox.contains(*t.get_window_extent(r).min)
                   or not fig.bbox.contains(*t.get_window_extent(r).max)]
        seen.append({"overlaps": plots.overlapping_texts(fig), "outside": outside,
                     "ticks": [t.get_text() for t in fig.axes[0].get_yticklabels()],
                     "names": [t.get_text() for t in fig.axes[0].texts]})
        return save(fig, path, laid_out)

    monkeypatch.setattr(plots, "_save", check)
    return seen


def test_a_few_practices_get_a_named_row_each(tmp_path, drawn):
    names = {"a": "usual-GP-first", "b": "micro-teams"}
    small = compare_practices(practices(6), ["a", "b"], names, tmp_path / "six.png",
                              reference=("the network as a whole", {"slicc": 0.5}))
    larger = compare_practices(practices(PRACTICES_NAMED), ["a", "b"], names,
                               tmp_path / "more.png")
    assert drawn[0]["names"] == [f"practice_{p:03d}" for p in range(6)]
    assert len(drawn[1]["names"]) == PRACTICES_NAMED
    assert drawn[0]["ticks"] == []  # (drawn as ticks are, but not as ticks: below)
    assert all(d["overlaps"] == [] and d["outside"] == [] for d in drawn), drawn
    # a row per practice: the figure grows with them
    assert matplotlib.image.imread(larger).shape[0] > matplotlib.image.imread(small).shape[0]


def test_many_practices_are_ranked_in_a_figure_of_one_size(tmp_path, drawn):
    names = {"a": "usual-GP-first", "b": "micro-teams"}
    sizes = [matplotlib.image.imread(compare_practices(
        practices(n), ["a", "b"], names, tmp_path / f"{n}.png")).shape for n in (60, 400)]
    assert sizes[0] == sizes[1]
    for d in drawn:
        assert d["overlaps"] == [] and d["outside"] == [], d
        assert d["ticks"][0] == "1" and d["names"] == []  # ranks, not names
    assert drawn[1]["ticks"][-1] in {"300", "400"}


def test_ranked_panels_put_the_highest_first(tmp_path, monkeypatch):
    """Each panel ranks the practices by the first network's means: row 0 the highest."""
    table = practices(80, labels=("a",), reps=1)
    rows = {}
    save = plots._save

    def keep(fig, path, laid_out=False):
        for ax in fig.axes[:len(PRACTICE_PANELS)]:
            x, y = ax.lines[0].get_data()
            rows[ax.get_title(loc="left")] = (np.asarray(x), np.asarray(y))
        return save(fig, path, laid_out)

    monkeypatch.setattr(plots, "_save", keep)
    compare_practices(table, ["a"], {"a": "run"}, tmp_path / "ranked.png")
    for x, y in rows.values():
        assert sorted(y.tolist()) == list(range(80))
        assert np.all(np.diff(x[np.argsort(y)]) <= 0)  # highest at the top


def test_a_long_list_of_practices_in_trouble_is_set_in_columns():
    from analysis.network_report import TROUBLE, _trouble

    def page(n_flagged):
        ids = [f"practice_{i:03d}" for i in range(40)]
        t = {(p, m): {"mean": floor * (0.5 if i < n_flagged else 1.5)}
             for i, p in enumerate(ids) for m, floor in TROUBLE.items()}
        return _trouble(t, ids)

    few, many = page(12), page(13)
    assert "12 of 40 practices" in few and "columns" not in few and few.count("<li>") == 12
    assert "13 of 40 practices" in many and "columns:" in many and many.count("<li>") == 13


def test_named_rows_are_drawn_as_ticks_would_draw_them(tmp_path, monkeypatch):
    """Named rows: the same pixels as the ticks that drew them before.

    Their names and marks are no longer ticks (a third fewer of matplotlib's calls).
    """
    import matplotlib

    table = practices(12, labels=("a",), reps=1)
    fast = compare_practices(table, ["a"], {"a": "run"}, tmp_path / "fast.png")

    def as_ticks(ax, rows, names, size=8):
        ax.set_yticks(rows, names, fontsize=size)

    monkeypatch.setattr(plots, "_row_names", as_ticks)
    ticks = compare_practices(table, ["a"], {"a": "run"}, tmp_path / "ticks.png")
    assert np.array_equal(matplotlib.image.imread(fast), matplotlib.image.imread(ticks))
