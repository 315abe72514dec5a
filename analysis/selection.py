"""Ranking and selection: which candidate is best, with a stated guarantee.

The procedure is Kim and Nelson's fully sequential KN (Kim S-H, Nelson BL. A
fully sequential procedure for indifference-zone selection in simulation.
ACM TOMACS 2001;11(3):251-73), which allows common random numbers: it works on
the variances of the *differences* between candidates, replication by
replication, so the shared noise cancels. Given an indifference zone ``delta``
and a probability ``1 - alpha``, it selects the best candidate with
probability at least ``1 - alpha`` whenever the best is better than every other
by ``delta`` or more; when several are within ``delta`` of the best, whichever
it picks is within ``delta`` of the best (the guarantee says nothing more).

Written here rather than taken from sim-tools (whose KN drives a model object
one replication at a time): the runs are made in stages by the project's one
executor (:mod:`sim.runs.executor`), and this module only decides, from the
observations so far, who is still in. It never simulates. The procedure, for
``k`` systems, first-stage size ``n0``, maximising:

* ``eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2``, ``h2 = 2 eta (n0 - 1)``;
* ``S2_il``: the sample variance of ``X_i - X_l`` over the first ``n0`` replications;
* after ``r`` replications, ``W_il(r) = max(0, delta / (2 r) (h2 S2_il / delta^2 - r))``,
  and ``i`` stays in if ``mean_i(r) >= mean_l(r) - W_il(r)`` for every other ``l`` still in;
* stop when one is left. Every ``W`` is 0 once ``r > h2 S2_il / delta^2`` for
  every pair, so the procedure ends by then; candidates exactly tied at that
  point (identical outputs) are declared indistinguishable.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def kn_constants(k: int, alpha: float, n0: int) -> tuple[float, float]:
    """KN's ``eta`` and ``h^2`` for ``k`` systems, error ``alpha`` and first stage ``n0``."""
    if k < 2:
        return 0.0, 0.0
    if n0 < 2:
        raise ValueError("KN needs a first stage of at least 2 replications")
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return eta, 2.0 * eta * (n0 - 1)


@dataclasses.dataclass
class KNState:
    """Where a KN selection stands.

    Attributes:
        names: the candidates, in the order of the observations' columns.
        alpha: 1 - the probability of correct selection.
        delta: the indifference zone, in the objective's units.
        n0: the first-stage size.
        maximise: whether larger is better.
        alive: which candidates are still in.
        eliminated_at: per candidate, the replication count at which it was
            screened out (0: still in).
        r: replications screened so far (the procedure screens one at a time).
        s2: the first stage's variances of pairwise differences (None until ``n0``).
    """

    names: list[str]
    alpha: float
    delta: float
    n0: int
    maximise: bool = True
    alive: np.ndarray = dataclasses.field(default=None)
    eliminated_at: np.ndarray = dataclasses.field(default=None)
    r: int = 0
    s2: np.ndarray | None = None

    def __post_init__(self) -> None:
        k = len(self.names)
        if self.alive is None:
            self.alive = np.ones(k, dtype=bool)
        if self.eliminated_at is None:
            self.eliminated_at = np.zeros(k, dtype=np.int64)
        self.eta, self.h2 = kn_constants(k, self.alpha, self.n0)

    @property
    def done(self) -> bool:
        """One candidate left, or every one left is exactly tied past the last screen."""
        return int(self.alive.sum()) <= 1 or self.tied

    @property
    def tied(self) -> bool:
        """Screened at or past every pair's last screen with more than one left.

        Every ``W`` was 0 at that screen, so those left have exactly equal means:
        they cannot be told apart.
        """
        return (self.s2 is not None and int(self.alive.sum()) > 1
                and self.r >= self.n0 and self.r >= self.last_screen())

    def last_screen(self) -> float:
        """The replication count after which every ``W`` among those left is 0."""
        if self.s2 is None:
            return np.inf
        idx = np.flatnonzero(self.alive)
        sub = self.s2[np.ix_(idx, idx)]
        return float(self.h2 * sub.max() / self.delta ** 2) if sub.size else 0.0

    def needed(self) -> int:
        """Replications the procedure needs before it can screen again (each candidate left)."""
        return max(self.n0, self.r + 1)


def kn_screen(state: KNState, obs: np.ndarray) -> KNState:
    """Screen replication by replication, as far as the observations go.

    ``obs`` is (replications, candidates): row ``j`` holds every candidate's
    output of the same replication (common random numbers); a candidate already
    screened out may have NaN in rows after it went. Rows beyond ``state.r``
    are screened one at a time in order, exactly as if they had come one by one,
    so taking replications in batches changes the cost, never the answer.
    """
    x = np.asarray(obs, dtype=float)
    if not state.maximise:
        x = -x
    n = x.shape[0]
    if n < state.n0 and state.s2 is None:
        return state
    if state.s2 is None:
        first = x[:state.n0]
        d = first[:, :, None] - first[:, None, :]
        state.s2 = d.var(axis=0, ddof=1)
        state.r = state.n0 - 1
    while state.r < n and not state.done:
        state.r += 1
        r = state.r
        means = x[:r].mean(axis=0)
        idx = np.flatnonzero(state.alive)
        keep = state.alive.copy()
        for i in idx:
            for j in idx:
                if i == j:
                    continue
                w = max(0.0, state.delta / (2.0 * r) * (state.h2 * state.s2[i, j]
                                                          / state.delta ** 2 - r))
                if means[i] < means[j] - w:
                    keep[i] = False
                    break
        state.eliminated_at[state.alive & ~keep] = r
        state.alive = keep
    return state


def kn_choice(state: KNState, obs: np.ndarray) -> tuple[int, list[int]]:
    """The selected candidate and those it cannot be told from.

    The one left; or, when the procedure stopped with several left (a tie past
    the last screen, or the budget of replications ran out first), the best
    mean among them, with the others still in as "cannot be told apart".
    """
    x = np.asarray(obs, dtype=float)[:max(state.r, 1)]
    means = x.mean(axis=0) if state.maximise else -x.mean(axis=0)
    alive = np.flatnonzero(state.alive)
    best = int(alive[np.argmax(means[alive])])
    return best, [int(i) for i in alive if i != best]


def judge_constraint(values, bound: float, at_most: bool, level: float = 0.95
                     ) -> tuple[str, float, float, float]:
    """Whether a constraint is met, on the interval of its measure: (verdict, mean, low, high).

    ``values``: the measure per replication (already a paired difference from
    today where the constraint is relative). ``met`` if the whole two-sided
    ``level`` interval lies on the allowed side of ``bound``, ``not met`` if it
    lies wholly on the other side, else ``undecided``.
    """
    from .stats import mean_ci

    mean, low, high, n = mean_ci(values, level)
    if n < 2 or not np.isfinite(low):
        return "undecided", mean, low, high
    if at_most:
        verdict = "met" if high <= bound else "not met" if low > bound else "undecided"
    else:
        verdict = "met" if low >= bound else "not met" if high < bound else "undecided"
    return verdict, mean, low, high


def per_replication(runs: list[dict], measure: str, paired_with: list[dict] | None = None
                    ) -> np.ndarray:
    """A measure per replication from runs' measures; minus ``paired_with``'s, run by run."""
    x = np.array([r.get(measure, np.nan) for r in runs], dtype=float)
    if paired_with is not None:
        x = x - np.array([r.get(measure, np.nan) for r in paired_with[:len(x)]], dtype=float)
    return x


def run_measures(result) -> dict[str, float]:
    """A run's summary measures as plain numbers (a picklable reducer for the executor)."""
    from .summary import run_summaries

    row = run_summaries(result)[0].iloc[0]
    return {k: float(v) for k, v in row.items()
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)}


# ---------------------------------------------------------------- robustness designs
#
# SALib (Herman and Usher 2017, JOSS 2(9):97) gives the designs and the indices:
# Morris's elementary effects (Morris 1991, Technometrics 33:161-74, with
# Campolongo et al. 2007's mu*) to screen every assumption cheaply, then Sobol's
# first-order and total indices (Saltelli 2002; Saltelli et al. 2010) on the few
# that matter. Written by hand these are easy to get subtly wrong; SALib is the
# reference implementation the sensitivity-analysis literature uses.


def _problem(names: list[str], bounds: list[tuple[float, float]]) -> dict:
    return {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}


def morris_design(names: list[str], bounds: list[tuple[float, float]], trajectories: int,
                  levels: int, seed: int) -> np.ndarray:
    """Morris's sampled practices: ``trajectories x (assumptions + 1)`` rows of values."""
    from SALib.sample import morris

    return morris.sample(_problem(names, bounds), trajectories, num_levels=levels,
                         seed=seed % 2**32)


def morris_indices(names: list[str], bounds: list[tuple[float, float]], x: np.ndarray,
                   y: np.ndarray, levels: int, seed: int) -> dict[str, np.ndarray]:
    """Morris's indices of ``y`` (one value per row of ``x``): mu, mu*, sigma, mu*'s interval."""
    from SALib.analyze import morris

    res = morris.analyze(_problem(names, bounds), x, np.asarray(y, dtype=float),
                         num_levels=levels, seed=seed % 2**32)
    return {k: np.asarray(res[k], dtype=float) for k in ("mu", "mu_star", "sigma",
                                                         "mu_star_conf")}


def sobol_design(names: list[str], bounds: list[tuple[float, float]], samples: int,
                 seed: int) -> np.ndarray:
    """Saltelli's design for first-order and total Sobol indices: ``samples x (d + 2)`` rows."""
    import warnings

    from SALib.sample import sobol

    with warnings.catch_warnings():  # a base sample that is not a power of 2 is allowed
        warnings.simplefilter("ignore")
        return sobol.sample(_problem(names, bounds), samples, calc_second_order=False,
                            seed=seed % 2**32)


def sobol_indices(names: list[str], bounds: list[tuple[float, float]], y: np.ndarray,
                  seed: int) -> dict[str, np.ndarray]:
    """First-order and total Sobol indices of ``y``, with their 95% bootstrap half-widths."""
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all() or float(np.var(y)) == 0.0:
        nan = np.full(len(names), np.nan)
        return {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}
    res = sobol.analyze(_problem(names, bounds), y, calc_second_order=False,
                        seed=seed % 2**32)
    return {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
