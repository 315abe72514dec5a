"""Plots of one run's results (PNG, matplotlib's non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def wait_distribution(appointments: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Empirical CDF of days from first request to appointment, urgent and routine.

    Only appointments in the observation window that were attended or missed
    are shown (cancelled ones are not).
    """
    a = appointments[appointments["in_window"].to_numpy(dtype=bool)]
    a = a[a["status"].isin(["attended", "dna"])]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for urgency, colour in (("urgent", "#c0392b"), ("routine", "#2c7fb8")):
        w = np.sort(a.loc[a["urgency"] == urgency, "wait_days"].to_numpy(dtype=float))
        if w.size == 0:
            continue
        y = np.arange(1, w.size + 1) / w.size
        ax.step(w, y, where="post", color=colour, label=f"{urgency} (n = {w.size:,})")
    ax.axvline(14, color="grey", lw=0.8, ls="--")
    ax.text(14.2, 0.03, "2 weeks", color="grey", fontsize=8)
    ax.set_xlabel("Days from first request to appointment")
    ax.set_ylabel("Share of appointments seen within")
    ax.set_ylim(0, 1.01)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title or "Wait from request to appointment")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
