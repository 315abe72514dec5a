"""Ranking and selection (KN) on questions whose answer is known.

The outputs here are synthetic normals (no simulation), so the procedure's
guarantee can be checked over many independent repetitions: with an
indifference zone ``delta`` and probability ``1 - alpha``, a best option that
beats the rest by ``delta`` is chosen at least ``1 - alpha`` of the time.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.selection import KNState, judge_constraint, kn_choice, kn_constants, kn_screen


def _select(means, rng, delta=0.5, alpha=0.05, n0=10, max_n=2000, common=1.0, sd=1.0,
            batch=1, maximise=True):
    """Run KN to the end on normal outputs with a shared (common random numbers) part."""
    k = len(means)
    state = KNState([f"o{i}" for i in range(k)], alpha, delta, n0, maximise)
    rows: list[np.ndarray] = []
    while True:
        for _ in range(max(batch, n0 - len(rows))):
            shared = rng.normal(0.0, common)
            rows.append(np.asarray(means) + shared + rng.normal(0.0, sd, k))
        obs = np.array(rows)
        kn_screen(state, obs)
        if state.done or len(rows) >= max_n:
            return state, obs


def test_kn_constants_follow_the_published_formula():
    # Kim and Nelson (2001): eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2.
    eta, h2 = kn_constants(k=2, alpha=0.05, n0=11)
    assert eta == pytest.approx(0.5 * (0.1 ** -0.2 - 1))
    assert h2 == pytest.approx(2 * eta * 10)
    # More options or a smaller first stage need a wider continuation region.
    assert kn_constants(10, 0.05, 11)[1] > h2
    assert kn_constants(2, 0.05, 5)[0] > eta


def test_a_planted_best_is_found_with_the_stated_probability():
    rng = np.random.default_rng(20261205)
    delta, alpha, trials = 0.5, 0.05, 300
    means = [delta, 0.0, 0.0, 0.0, 0.0]  # the slippage configuration: the hardest case
    correct = 0
    for _ in range(trials):
        state, obs = _select(means, rng, delta, alpha)
        best, _ = kn_choice(state, obs)
        correct += best == 0
    # KN is conservative: at least 1 - alpha, less 3 binomial standard errors for 300 trials.
    slack = 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert correct / trials >= 1 - alpha - slack, correct


def test_a_dominated_option_is_never_chosen():
    rng = np.random.default_rng(7)
    for _ in range(100):
        state, obs = _select([0.0, 0.2, -3.0], rng, delta=0.5)
        best, tied = kn_choice(state, obs)
        assert best != 2 and 2 not in tied
        assert state.eliminated_at[2] > 0


def test_minimising_picks_the_smallest():
    rng = np.random.default_rng(11)
    wins = 0
    for _ in range(50):
        state, obs = _select([0.0, 2.0, 2.0], rng, delta=0.5, maximise=False)
        wins += kn_choice(state, obs)[0] == 0
    assert wins >= 48


def test_two_identical_options_are_declared_indistinguishable():
    rng = np.random.default_rng(3)
    k, n0 = 3, 10
    state = KNState(["a", "a_again", "worse"], 0.05, 0.5, n0)
    rows = []
    while not state.done:
        x = rng.normal(0, 1)
        noise = rng.normal(0, 1)
        rows.append([1.0 + x, 1.0 + x, -2.0 + x + noise])  # a and a_again identical, run by run
        kn_screen(state, np.array(rows))
        assert len(rows) < 1000
    best, tied = kn_choice(state, np.array(rows))
    assert state.tied
    assert {best, *tied} == {0, 1}
    assert state.eliminated_at[2] > 0 and k == 3


def test_screening_in_batches_gives_the_same_answer_as_one_by_one():
    rng = np.random.default_rng(5)
    obs = np.array([[0.3, 0.0, 0.1, -0.2]] * 200) + rng.normal(0, 1, (200, 4)) \
        + rng.normal(0, 1, (200, 1))
    one = KNState(list("abcd"), 0.05, 0.25, 8)
    for n in range(1, 201):
        kn_screen(one, obs[:n])
    batched = KNState(list("abcd"), 0.05, 0.25, 8)
    for n in range(10, 201, 17):
        kn_screen(batched, obs[:n])
    kn_screen(batched, obs)
    assert one.r == batched.r
    assert (one.alive == batched.alive).all()
    assert (one.eliminated_at == batched.eliminated_at).all()


def test_a_constraint_is_judged_on_its_interval():
    rng = np.random.default_rng(1)
    clear = 0.5 + rng.normal(0, 0.05, 20)
    assert judge_constraint(clear, 1.0, at_most=True)[0] == "met"
    assert judge_constraint(clear, 0.2, at_most=True)[0] == "not met"
    # The mean is below the bound but the interval reaches over it: not yet shown.
    near = 0.95 + rng.normal(0, 0.2, 5)
    verdict, mean, low, high = judge_constraint(near, 1.0, at_most=True)
    assert low < 1.0 < high and verdict == "undecided"
    assert judge_constraint([0.97, 0.965, 0.975, 0.97, 0.968], 0.95, at_most=False)[0] == "met"
    assert judge_constraint([0.97, 0.96, 0.98], 0.95, at_most=False)[0] == "undecided"
    assert judge_constraint([0.96], 0.95, at_most=False)[0] == "undecided"  # one value
