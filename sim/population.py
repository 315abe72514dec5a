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

from .scenario import Scenario


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
    """

    age_band_names: tuple[str, ...]
    age_band: np.ndarray
    n_ltc: np.ndarray
    housebound: np.ndarray
    rate_per_year: np.ndarray
    values_continuity: np.ndarray
    dna_propensity: np.ndarray
    usual_clinician: np.ndarray

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
) -> Patients:
    """Draw a registered list from the scenario's distributions.

    Args:
        scenario: the validated scenario.
        rng: the "population" stream.
        list_rng: the "lists" stream (usual-clinician assignment).
        list_holders: indices of clinicians who hold a list.
        list_weights: their weekly sessions; lists are balanced in proportion.
    """
    pop = scenario.population
    n = pop.size
    bands = pop.age_bands
    shares = np.array([b.share for b in bands])
    age = rng.choice(len(bands), size=n, p=shares / shares.sum()).astype(np.int16)
    ltc_mean = np.array([b.ltc_mean for b in bands])[age]
    n_ltc = rng.poisson(ltc_mean).astype(np.int16)
    housebound = rng.random(n) < np.array([b.housebound_probability for b in bands])[age]
    structural = np.array([b.rate_ratio for b in bands])[age] * pop.ltc_rate_ratio ** n_ltc
    structural = structural / structural.mean()
    shape = scenario.demand.rate_shape
    personal = rng.gamma(shape, 1.0 / shape, size=n)
    rate = scenario.demand.requests_per_patient_year * structural * personal
    values = rng.random(n) < pop.values_continuity_share
    k = pop.dna_propensity_shape
    dna_prop = rng.gamma(k, 1.0 / k, size=n)
    usual = assign_lists(n, list_holders, list_weights, list_rng)
    return Patients(
        age_band_names=tuple(b.name for b in bands),
        age_band=_readonly(age),
        n_ltc=_readonly(n_ltc),
        housebound=_readonly(housebound),
        rate_per_year=_readonly(rate),
        values_continuity=_readonly(values),
        dna_propensity=_readonly(dna_prop),
        usual_clinician=_readonly(usual),
    )


def assign_lists(
    n_patients: int, holders: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Give every patient a usual clinician, lists in proportion to sessions worked.

    List sizes follow the largest-remainder rule, so they differ from exact
    proportionality by less than one patient; who goes on which list is random.
    """
    holders = np.asarray(holders, dtype=np.int32)
    if holders.size == 0:
        raise ValueError("no clinician holds a list")
    w = np.asarray(weights, dtype=float)
    quota = n_patients * w / w.sum()
    sizes = np.floor(quota).astype(np.int64)
    short = n_patients - int(sizes.sum())
    order = np.argsort(-(quota - sizes), kind="stable")
    sizes[order[:short]] += 1
    usual = np.repeat(holders, sizes)
    rng.shuffle(usual)
    return usual
