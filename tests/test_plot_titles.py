"""Titles kept at the top of their axes without measuring: the same picture, and only where safe."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from analysis import plots


def figure(values, labeltop: bool = False):
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), dpi=100, layout="constrained")
    for ax, v in zip(axes, values, strict=True):
        ax.plot(np.arange(len(v)), v)
        ax.set_title("A measure\nover two lines", loc="left", fontsize=9, color="#a00")
        if labeltop:
            ax.tick_params(axis="x", labeltop=True)
    return fig


def png(fig, unmeasured: bool) -> bytes:
    if unmeasured:
        plots._titles_unmeasured(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


@pytest.mark.parametrize("values", [
    ([0.2, 0.5, 0.4], [10, 30, 20]),  # ordinary axes: titles set unmeasured
    ([1_000_000.1, 1_000_000.3, 1_000_000.2], [0.1, 0.2, 0.3]),  # an offset ("+1e6"): left
    ([2e7, 3e7, 1e7], [1e-6, 2e-6, 3e-6]),  # powers of ten beside the axis: left
])
def test_the_picture_is_the_same_with_titles_unmeasured(values):
    assert png(figure(values), False) == png(figure(values), True)


def test_titles_over_top_tick_labels_or_an_offset_are_still_lifted_clear_of_them():
    for fig in (figure(([0.2, 0.5, 0.4], [1, 2, 3]), labeltop=True),
                figure(([1_000_000.1, 1_000_000.3, 1_000_000.2], [1, 2, 3]))):
        plots._titles_unmeasured(fig)
        assert plots.overlapping_texts(fig) == []
        plt.close(fig)
