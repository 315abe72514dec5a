"""Continuity indices against the published test vectors (EVIDENCE.md section 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.continuity import patient_indices, slicc

# Sidaway-Lee et al. 2023, Table 2 (two decimals). None: undefined.
VECTORS = [
    ("A", None, None),
    ("AA", 1.0, 1.0),
    ("AB", 0.5, 0.0),
    ("AAB", 0.67, 0.33),
    ("ABC", 0.33, 0.0),
    ("AABB", 0.5, 0.33),
    ("AABC", 0.5, 0.17),
    ("AAABBB", 0.5, 0.40),
    ("AAAABBBB", 0.5, 0.43),
    ("AAAABCDE", 0.5, 0.21),
]


def visits_of(sequences):
    rows = []
    for p, seq in enumerate(sequences):
        rows += [{"patient_id": p, "clinician_id": c, "date": pd.Timestamp("2024-01-01")
                  + pd.Timedelta(days=k)} for k, c in enumerate(seq)]
    return pd.DataFrame(rows)


def test_upc_and_coc_vectors():
    out = patient_indices(visits_of([v[0] for v in VECTORS])).set_index("patient_id")
    for p, (seq, upc, coc) in enumerate(VECTORS):
        if upc is None:
            assert np.isnan(out.loc[p, "upc"]) and np.isnan(out.loc[p, "coc"]), seq
        else:
            assert round(out.loc[p, "upc"], 2) == upc, seq
            assert round(out.loc[p, "coc"], 2) == coc, seq


def test_secon_hhi_mmci_closed_forms():
    out = patient_indices(visits_of(["AABA", "ABAB", "AAAA"])).set_index("patient_id")
    assert out.loc[0, "secon"] == pytest.approx(1 / 3)
    assert out.loc[1, "secon"] == 0.0
    assert out.loc[2, "secon"] == 1.0
    assert out.loc[0, "hhi"] == pytest.approx((3 / 4) ** 2 + (1 / 4) ** 2)
    assert out.loc[0, "mmci"] == pytest.approx((1 - 2 / 4.1) / (1 - 1 / 4.1))
    assert out.loc[2, "mmci"] == pytest.approx(1.0)


def test_min_visits_makes_indices_undefined_not_zero():
    out = patient_indices(visits_of(["AB", "AAB"]), min_visits=3).set_index("patient_id")
    assert np.isnan(out.loc[0, "upc"]) and out.loc[0, "n_visits"] == 2
    assert out.loc[1, "upc"] == pytest.approx(2 / 3)


def test_slicc_worked_example():
    """EVIDENCE 2: SLICC 22/41 = 53.7%."""
    v = pd.DataFrame({"clinician_id": ["X"] * 22 + ["Y"] * 19, "usual_clinician_id": ["X"] * 41})
    assert slicc(v) == pytest.approx(22 / 41)


def test_usual_share():
    v = visits_of(["AAB", "BBBA"])
    v["usual_clinician_id"] = ["A"] * 3 + ["A"] * 4
    out = patient_indices(v, usual="usual_clinician_id").set_index("patient_id")
    assert out.loc[0, "usual_share"] == pytest.approx(2 / 3)
    assert out.loc[1, "usual_share"] == pytest.approx(1 / 4)
