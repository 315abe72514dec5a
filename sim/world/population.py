"""A synthetic registered list, held as arrays (one element per patient).

Patients are columns, never objects or processes, so that a 400,000-patient
network costs a few megabytes. Each patient's consultation rate is the
product of an age-band ratio, a per-long-term-condition multiplier and a
gamma-distributed personal factor with mean 1: yearly request counts are then
negative binomial, over-dispersed as in real practice lists.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..inputs.schema import Scenario


@dataclasses.dataclass(frozen=True)
class Patients:
    """The registered list. Arrays are read-only; index ``i`` is patient ``i``.

    Attributes:
        age_band: index into ``age_band_names``.
        n_ltc: number of long-term conditions.
        housebound: whether face-to-face care must be a home visit.
        rate_per_year: personal expected requests per year.
        values_continuity: whether the patient values seeing the same clinician.
        dna_propensity: multiplier on the DNA probability (mean 1).
        usual_clinician: index of the list-holding clinician (usual GP).
        list_patient_id: identifiers from an imported list file (text), else None.
        sex: from an imported list file, else None (not used by the model).
        cohort_flags: cohort name -> membership given by an imported list file.
    """

    age_band_names: tuple[str, ...]
    age_band: np.ndarray
    n_ltc: np.ndarray
    housebound: np.ndarray
    rate_per_year: np.ndarray
    values_continuity: np.ndarray
    dna_propensity: np.ndarray
    usual_clinician: np.ndarray
    list_patient_id: np.ndarray | None = None
    sex: np.ndarray | None = None
    cohort_flags: dict[str, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """Number of registered patients."""
        return int(self.age_band.shape[0])


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def build_patients(
    scenario: Scenario,
    rng: np.random.Generator,
    list_rng: np.random.Generator,
    list_holders: np.ndarray,
    list_weights: np.ndarray,
    list_caps: np.ndarray | None = None,
    imported=None,
    clinician_ids: tuple[str, ...] = (),
) -> Patients:
    """Draw a registered list from the scenario's distributions, or take it from a list file.

    Args:
        scenario: the validated scenario.
        rng: the "population" stream.
        list_rng: the "lists" stream (usual-clinician assignment).
        list_holders: indices of clinicians who hold a list.
        list_weights: their weekly sessions; lists are balanced in proportion.
        list_caps: optional most patients per list-holder (inf for none).
        imported: an :class:`sim.inputs.list_import.ImportedList`: its age bands,
            conditions, housebound flags and usual GPs are used instead of drawn
            (patients without a usual GP get one, balancing lists).
        clinician_ids: every clinician's id, by index (to place imported usual GPs).
    """
    pop = scenario.population
    n = pop.size
    bands = pop.age_bands
    if imported is None:
        shares = np.array([b.share for b in bands])
        age = rng.choice(len(bands), size=n, p=shares / shares.sum()).astype(np.int16)
        ltc_mean = np.array([b.ltc_mean for b in bands])[age]
        n_ltc = rng.poisson(ltc_mean).astype(np.int16)
        housebound = rng.random(n) < np.array([b.housebound_probability for b in bands])[age]
    else:
        age = imported.age_band.copy()
        n_ltc = imported.n_ltc.copy()
        housebound = imported.housebound.copy()
    structural = np.array([b.rate_ratio for b in bands])[age] * pop.ltc_rate_ratio ** n_ltc
    structural = structural / structural.mean()
    shape = scenario.demand.rate_shape
    personal = rng.gamma(shape, 1.0 / shape, size=n)
    rate = scenario.demand.requests_per_patient_year * structural * personal
    values = rng.random(n) < pop.values_continuity_share
    k = pop.dna_propensity_shape
    dna_prop = rng.gamma(k, 1.0 / k, size=n)
    if imported is None:
        usual = assign_lists(n, list_holders, list_weights, list_rng, list_caps)
    else:
        usual = _imported_lists(imported, clinician_ids, list_holders, list_weights, list_rng,
                                list_caps)
    return Patients(
        age_band_names=tuple(b.name for b in bands),
        age_band=_readonly(age),
        n_ltc=_readonly(n_ltc),
        housebound=_readonly(housebound),
        rate_per_year=_readonly(rate),
        values_continuity=_readonly(values),
        dna_propensity=_readonly(dna_prop),
        usual_clinician=_readonly(usual),
        list_patient_id=None if imported is None else imported.patient_id,
        sex=None if imported is None else imported.sex,
        cohort_flags=None if imported is None else imported.cohorts,
    )


def _imported_lists(imported, clinician_ids, holders, weights, rng, caps) -> np.ndarray:
    """Usual GPs from the file; patients without one join the lists furthest below their share."""
    index = {c: i for i, c in enumerate(clinician_ids)}
    usual = np.array([index.get(c, -1) for c in imported.usual_gp], dtype=np.int32)
    missing = np.nonzero(usual < 0)[0]
    if missing.size:
        holders = np.asarray(holders, dtype=np.int32)
        current = np.array([(usual == h).sum() for h in holders], dtype=float)
        cap = np.full(holders.size, np.inf) if caps is None else np.asarray(caps, dtype=float)
        target = list_sizes(usual.size, weights, None)
        need = np.clip(target - current, 0, None)
        if need.sum() == 0:
            need = np.asarray(weights, dtype=float)
        counts = list_sizes(missing.size, need, np.maximum(cap - current, 0))
        rng.shuffle(missing)
        usual[missing] = np.repeat(holders, counts)
    return usual


def list_sizes(n_patients: int, weights: np.ndarray, caps: np.ndarray | None = None) -> np.ndarray:
    """Whole list sizes in proportion to ``weights`` (sessions), none above its cap.

    Water-filling: capped clinicians get their cap and the rest is shared in
    proportion among the others; whole numbers by the largest-remainder rule,
    so sizes differ from exact proportionality by less than one patient.
    """
    w = np.asarray(weights, dtype=float)
    cap = np.full(w.size, np.inf) if caps is None else np.asarray(caps, dtype=float)
    if cap.sum() < n_patients:
        raise ValueError("list caps are smaller than the list")
    quota = np.zeros(w.size)
    free = np.ones(w.size, dtype=bool)
    remaining = float(n_patients)
    while True:
        share = remaining * w * free / max((w * free).sum(), 1e-300)
        over = free & (share > cap)
        if not over.any():
            quota[free] = share[free]
            break
        quota[over] = cap[over]
        remaining -= cap[over].sum()
        free &= ~over
    sizes = np.floor(quota + 1e-9).astype(np.int64)
    short = n_patients - int(sizes.sum())
    room = (sizes < cap)
    order = [i for i in np.argsort(-(quota - sizes), kind="stable") if room[i]]
    sizes[order[:short]] += 1
    return sizes


def assign_lists(
    n_patients: int, holders: np.ndarray, weights: np.ndarray, rng: np.random.Generator,
    caps: np.ndarray | None = None,
) -> np.ndarray:
    """Give every patient a usual clinician, lists in proportion to sessions worked.

    Sizes come from :func:`list_sizes`; who goes on which list is random.
    """
    holders = np.asarray(holders, dtype=np.int32)
    if holders.size == 0:
        raise ValueError("no clinician holds a list")
    usual = np.repeat(holders, list_sizes(n_patients, weights, caps))
    rng.shuffle(usual)
    return usual


def reassign_list(
    usual: np.ndarray,
    leaver: int,
    candidates: np.ndarray,
    weights: np.ndarray,
    caps: np.ndarray,
    rng: np.random.Generator,
) -> int:
    """Move a leaving clinician's patients to ``candidates``, in place; return how many.

    Each candidate's share is its shortfall against a list in proportion to
    sessions (capped), so lists end up as balanced as the move allows.
    """
    moving = np.nonzero(usual == leaver)[0]
    if moving.size == 0:
        return 0
    candidates = np.asarray(candidates, dtype=np.int64)
    current = np.array([(usual == c).sum() for c in candidates], dtype=float)
    total = int(current.sum()) + moving.size
    room = np.maximum(np.asarray(caps, dtype=float) - current, 0)
    if room.sum() < moving.size:
        raise ValueError("no room on the remaining lists (max_list_size) for a leaver's patients")
    target = list_sizes(total, weights, caps)
    # Targets add up to the current lists plus the movers, so the shortfalls
    # add up to at least the number moving: never zero.
    need = np.clip(target - current, 0, None)
    counts = list_sizes(moving.size, need, room)
    rng.shuffle(moving)
    usual[moving] = np.repeat(candidates, counts)
    return int(moving.size)
