"""The fast orderings give exactly numpy's stable orders."""

from __future__ import annotations

import numpy as np
import pytest

from sim.ordering import lexsort, stable_argsort


@pytest.mark.parametrize("seed", range(40))
def test_lexsort_is_numpys_for_keys_of_every_kind(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    small = rng.integers(-5, 5, n)  # ties
    signed_zero = rng.integers(0, 3, n).astype(float) * rng.choice([1.0, -0.0], n)
    wide = rng.integers(0, 2**62, n) // 2**59  # whole numbers far apart, with ties
    flags = rng.random(n) < 0.5
    huge = rng.integers(0, 2**62, n)  # spans too wide to combine: numpy's own lexsort
    unsigned = rng.integers(0, 2**62, n).astype(np.uint64) * np.uint64(4)  # past 2**63
    for keys in ((small,), (signed_zero, small), (wide * 2**3, small, signed_zero),
                 (flags, signed_zero), (wide, huge), (rng.random(n),), (signed_zero, unsigned)):
        assert np.array_equal(lexsort(keys), np.lexsort(keys)), [k.dtype for k in keys]


def test_nan_and_ties_in_one_float_key_keep_numpys_order():
    rng = np.random.default_rng(1)
    x = np.round(rng.random(2000), 2)  # many ties
    assert np.array_equal(stable_argsort(x), np.argsort(x, kind="stable"))
    x[[5, 7, 900]] = np.nan
    assert np.array_equal(stable_argsort(x), np.argsort(x, kind="stable"))
    group = rng.integers(0, 3, x.size)
    assert np.array_equal(lexsort((x, group)), np.lexsort((x, group)))


@pytest.mark.parametrize("swapped", [0, 3, 40, 100])  # none, a few, many, too many
def test_rows_mostly_in_order_within_groups_sort_as_numpy_sorts_them(swapped):
    """A calendar's slots: laid out group by group in time order, a few sessions not."""
    rng = np.random.default_rng(swapped)
    group = np.repeat(rng.permutation(300), 10)  # groups in blocks, blocks in any order
    time = np.tile(np.arange(10) // 2, 300).astype(float) + group % 7  # ties in each group
    for b in rng.choice(300, swapped, replace=False):  # a block's halves the wrong way round
        block = slice(b * 10, b * 10 + 10)
        time[block] = np.roll(time[block], 5)
    assert np.array_equal(lexsort((time, group)), np.lexsort((time, group)))


def test_largest_pair_is_each_patients_commonest_clinicians_count():
    from sim.ordering import count_pairs, largest_pair

    rng = np.random.default_rng(3)
    patient, clinician = rng.integers(0, 50, 1000) * 3, rng.integers(0, 7, 1000)
    who, most = largest_pair(*count_pairs(patient, clinician))
    assert who.tolist() == sorted(set(patient.tolist()))
    for p, m in zip(who, most, strict=True):
        assert m == np.bincount(clinician[patient == p]).max()
    empty = np.zeros(0, dtype=np.int64)
    assert [x.size for x in largest_pair(*count_pairs(empty, empty))] == [0, 0]


@pytest.mark.parametrize("bits", [1, 8, 16, 17, 32, 33, 47, 48, 50])
def test_whole_argsort_is_numpys_stable_argsort_at_every_width(bits):
    """One radix pass, two, three, and codes too wide for the radix sort."""
    from sim.ordering import whole_argsort

    rng = np.random.default_rng(bits)
    span = 1 << bits
    code = rng.integers(0, span, 5000)
    code[rng.integers(0, code.size, 2000)] = code[0]  # many ties
    code[:3] = [0, span - 1, span - 1]  # both ends of the range
    assert np.array_equal(whole_argsort(code, span), np.argsort(code, kind="stable"))
