"""Continuity indices from any table of visits, simulated or a practice's own export.

Per patient, with N visits, n_i visits to clinician i and M distinct
clinicians (docs/evidence.md section 5):

* UPC (usual provider of care): max n_i / N
* COC (Bice-Boxerman): (sum n_i^2 - N) / (N (N - 1))
* SECON (sequential continuity): share of the N - 1 consecutive pairs of
  visits, in time order, with the same clinician
* HHI (Herfindahl): sum (n_i / N)^2
* MMCI (modified modified continuity index): (1 - M / (N + 0.1)) / (1 - 1 / (N + 0.1))
* usual_share: share of visits with the patient's usual clinician, when known

and for a group of GP visits with the patient's list GP known:

* SLICC (St Leonard's index): visits with the list GP over all visits, for the
  practice, per month (:func:`slicc_by_month`) or per list (:func:`slicc_by_list`);
* OPR (own patient ratio): a list-holding GP's visits with their own list over
  all their visits (:func:`opr_by_clinician`).

Below the minimum number of visits an index is undefined (NaN), never 0.
Ties in time keep the input order (a stable sort), so SECON never depends on
how a sort happens to break them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.ordering import count_pairs, largest_pair, lexsort, numbered


def ids(column: pd.Series) -> np.ndarray:
    """Identifiers as an array that compares by value across columns.

    Whole-number ids (as in pooled network tables) are used as they are; text
    and categorical ids become strings, so two categorical columns with
    different categories still compare by label.
    """
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy()
    return column.astype(str).to_numpy()


def one_of(column: pd.Series, values) -> np.ndarray:
    """Row by row, whether a column's value is one of ``values`` (``Series.isin`` as an array).

    A categorical column (every simulated table's) is looked up by its few
    categories, not row by row: seven times faster. The categories are looked
    up in a set rather than with ``Index.isin`` (text categories are Arrow
    strings, whose ``isin`` costs more than the rows' lookup: 0.4 against 0.2
    ms a call on a network practice's appointments, 28 calls a practice).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        table = column.array
        wanted = set(values)
        hit = np.array([c in wanted for c in table.categories.tolist()] + [False],
                       dtype=bool)  # the last for code -1: missing
        return hit[table.codes]
    return column.isin(list(values)).to_numpy(dtype=bool)


def same_ids(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row by row, whether two identifier columns hold the same identifier.

    Categorical columns with the same categories (as every simulated table
    has) are compared by their codes, without making strings.
    """
    if (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)
            and a.cat.categories.equals(b.cat.categories)):
        return a.cat.codes.to_numpy() == b.cat.codes.to_numpy()
    return ids(a) == ids(b)


def _numbered_visits(visits: pd.DataFrame, patient: str, clinician: str
                     ) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """Patients numbered in id order and their ids; clinicians numbered; rows with both."""
    if visits[patient].dtype.kind in "iu":  # whole numbers: no missing ids
        p_values, p_codes = numbered(visits[patient].to_numpy())
    else:
        p_codes, p_values = pd.factorize(visits[patient], sort=True)
    c_codes = pd.factorize(visits[clinician])[0]
    return p_codes, p_values, c_codes, (p_codes >= 0) & (c_codes >= 0)


def upc_by_patient(visits: pd.DataFrame, min_visits: int = 2, patient: str = "patient_id",
                   clinician: str = "clinician_id") -> pd.Series:
    """Each patient's UPC (index: patient id, in order), for patients with ``min_visits``+ visits.

    The ``upc`` column of :func:`patient_indices` without the other indices
    (which need the visits in time order).
    """
    p_codes, p_values, c_codes, known = _numbered_visits(visits, patient, clinician)
    p, c = p_codes[known].astype(np.int64), c_codes[known].astype(np.int64)
    n = np.bincount(p, minlength=p_values.size)
    pair_patient, pair_counts = count_pairs(p, c)
    top = np.zeros(p_values.size, dtype=np.int64)  # each patient's commonest clinician's visits
    who, most = largest_pair(pair_patient, pair_counts)
    top[who] = most
    ok = n >= max(min_visits, 1)
    return pd.Series(top[ok] / n[ok].astype(float), index=p_values[ok], name="upc")


def patient_indices(
    visits: pd.DataFrame,
    min_visits: int = 2,
    patient: str = "patient_id",
    clinician: str = "clinician_id",
    time: str = "date",
    usual: str | None = None,
) -> pd.DataFrame:
    """One row per patient (in order of patient id): visit counts and continuity indices.

    Args:
        visits: one row per visit (attended consultation); rows without a
            patient or a clinician are left out.
        min_visits: fewer visits than this leaves every index undefined (NaN).
        patient: column of patient identifiers.
        clinician: column of clinician identifiers.
        time: column of visit dates or times (orders visits for SECON).
        usual: optional column with the patient's usual clinician at the visit;
            adds ``usual_share``.

    Computed with array counts rather than table grouping (a network's
    practices each need it): patients, clinicians and times become numbers
    in their sorted order, and the rows are ordered by patient then time.
    """
    if min_visits < 2:
        raise ValueError("min_visits must be at least 2: the indices need two visits")
    p_codes, p_values, c_codes, known = _numbered_visits(visits, patient, clinician)
    t = visits[time]
    if isinstance(t.dtype, np.dtype) and t.dtype.kind == "M":  # times as numbers, in order
        t_codes = t.to_numpy().view(np.int64).copy()
        t_codes[t.isna().to_numpy()] = np.iinfo(np.int64).max  # unknown times last
    else:
        t_codes = pd.factorize(t, sort=True)[0]
        t_codes = np.where(t_codes < 0, t_codes.max(initial=0) + 1, t_codes)
    order = np.flatnonzero(known)
    order = order[lexsort((t_codes[order], p_codes[order]))]  # ties keep row order
    p = p_codes[order].astype(np.int64)
    c = c_codes[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if p.size else p
    present = p[starts]  # the patients with visits, as numbers
    n = np.diff(np.r_[starts, p.size])
    pair_patient, pair_counts = count_pairs(p, c)
    pair_patient = np.searchsorted(present, pair_patient)  # as the patient's place in present
    n_clinicians = np.bincount(pair_patient, minlength=present.size)
    sum_sq = np.bincount(pair_patient, weights=pair_counts.astype(float) ** 2,
                         minlength=present.size)
    _, nmax = largest_pair(pair_patient, pair_counts)  # every present patient has pairs
    same = np.zeros(p.size, dtype=bool)
    same[1:] = (p[1:] == p[:-1]) & (c[1:] == c[:-1])
    row_patient = np.repeat(np.arange(present.size), n)
    N = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            patient: p_values.take(present),
            "n_visits": n,
            "n_clinicians": n_clinicians,
            "upc": nmax / N,
            "coc": (sum_sq - N) / (N * (N - 1)),
            "secon": np.bincount(row_patient, weights=same, minlength=present.size) / (N - 1),
            "hhi": sum_sq / N**2,
            "mmci": (1 - n_clinicians / (N + 0.1)) / (1 - 1 / (N + 0.1)),
        }
        if usual is not None:
            with_usual = same_ids(visits[clinician], visits[usual])[order]
            out["usual_share"] = (np.bincount(row_patient, weights=with_usual,
                                              minlength=present.size) / N)
    undefined = n < min_visits
    for col in ("upc", "coc", "secon", "hhi", "mmci", "usual_share"):
        if col in out:
            out[col][undefined] = np.nan
    return pd.DataFrame(out)


def slicc(gp_visits: pd.DataFrame, clinician: str = "clinician_id",
          usual: str = "usual_clinician_id") -> float:
    """St Leonard's index: GP visits with the patient's own list GP over all GP visits."""
    if len(gp_visits) == 0:
        return float("nan")
    same = same_ids(gp_visits[clinician], gp_visits[usual])
    return float(same.mean())


def slicc_by_month(gp_visits: pd.DataFrame, time: str = "date", clinician: str = "clinician_id",
                   usual: str = "usual_clinician_id") -> pd.DataFrame:
    """SLICC per calendar month: ``month, visits, with_usual, slicc``."""
    t = gp_visits[time]
    if not pd.api.types.is_datetime64_dtype(t.dtype):
        t = pd.to_datetime(t)
        t = t.dt.tz_localize(None) if t.dt.tz is not None else t
    month = t.to_numpy().astype("datetime64[M]")  # grouped as numbers, not Period objects
    same = same_ids(gp_visits[clinician], gp_visits[usual])
    g = pd.DataFrame({"month": month.astype(np.int64), "same": same}).groupby("month")["same"]
    out = pd.DataFrame({"visits": g.size(), "with_usual": g.sum()}).reset_index()
    out["slicc"] = out["with_usual"] / out["visits"]
    out["month"] = out["month"].to_numpy().astype("datetime64[M]").astype(str)
    return out


def _shared_codes(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two identifier columns as numbers into one list of labels, in the labels' sorted order.

    The labels are what :func:`ids` gives; categorical columns with the same
    categories (every simulated table) are numbered from their few
    categories, without making a string per row.
    """
    if (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)
            and a.cat.categories.equals(b.cat.categories)):
        labels = np.asarray(a.cat.categories.astype(str), dtype=object)
        order = np.argsort(labels, kind="stable")
        rank = np.empty(order.size + 1, dtype=np.int64)
        rank[order] = np.arange(order.size)
        rank[-1] = -1  # a missing identifier (code -1) stays missing
        return labels[order], rank[a.cat.codes.to_numpy()], rank[b.cat.codes.to_numpy()]
    codes, labels = pd.factorize(np.concatenate([ids(a), ids(b)]), sort=True)
    return np.asarray(labels, dtype=object), codes[:len(a)], codes[len(a):]


def _per_label(labels: np.ndarray, codes: np.ndarray, hit: np.ndarray, name: str,
               count: str, hits: str) -> pd.DataFrame:
    """Rows per label (those with any), and how many of them are hits, in label order."""
    known = codes >= 0
    n = np.bincount(codes[known], minlength=labels.size)
    k = np.bincount(codes[known & hit], minlength=labels.size)
    present = n > 0
    return pd.DataFrame({name: labels[present], count: n[present], hits: k[present]})


def slicc_by_list(gp_visits: pd.DataFrame, clinician: str = "clinician_id",
                  usual: str = "usual_clinician_id") -> pd.DataFrame:
    """SLICC per list: for each list GP, their patients' GP visits with them over all.

    Columns ``usual_clinician_id, visits, with_usual, slicc``.
    """
    labels, c, u = _shared_codes(gp_visits[clinician], gp_visits[usual])
    out = _per_label(labels, u, c == u, usual, "visits", "with_usual")
    out["slicc"] = out["with_usual"] / out["visits"]
    return out


def opr_by_clinician(gp_visits: pd.DataFrame, clinician: str = "clinician_id",
                     usual: str = "usual_clinician_id") -> pd.DataFrame:
    """Own patient ratio of each list-holding GP: ``clinician_id, appointments, own_list, opr``.

    A clinician is a list-holder if they are some visit's usual clinician;
    their appointments are all their visits in the table.
    """
    labels, c, u = _shared_codes(gp_visits[clinician], gp_visits[usual])
    holders = np.unique(u[u >= 0])
    mine = np.isin(c, holders)
    out = _per_label(labels, np.where(mine, c, -1), c == u, clinician, "appointments",
                     "own_list")
    out["opr"] = out["own_list"] / out["appointments"]
    return out
