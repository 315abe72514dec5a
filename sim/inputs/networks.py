"""Many practices in one scenario: a primary care network or a federation.

A network file::

    name: Riverside PCN
    seed: 7
    practices:
      - {id: riverside, scenario: ../default.yaml, set: {population.size: 8000}}
      - {id: hillview, scenario: ../policies/usual_gp_first.yaml}

Each practice is a full scenario (its own population, workforce and booking
policy), validated like any other, with ``set`` overrides (key forms as for
``--set``, see :mod:`sim.inputs.loading`). An optional extended-access
``hub`` is shared out among the practices at load time (:class:`Hub`);
after that, practices do not interact, so they run independently
(:mod:`sim.runs.network`). Each practice's seed is derived from the network
seed and its id, so the results are identical however the runs are spread
over processes, and adding a practice does not change the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .files import NETWORK
from .loading import (
    Origin,
    files_checked,
    load_scenario,
    read_spec,
    remember_checked,
    scenario_from_dict,
)
from .policies import Registry
from .problems import Problem, ScenarioError, format_path, merge_repeats
from .roots import outside, reading_from
from .schema import PolicyRef, Ramp, Scenario
from .variants import ScenarioVariants
from .yaml_files import YamlDoc


class Rollout(BaseModel):
    """What practices adopt when their rollout starts: a policy, ramps, tidied lists.

    As a scenario's ``policy_changes`` entry without its date (the date comes
    from the practice's wave or its own ``rollout.from``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    policy: PolicyRef
    ramp: tuple[Ramp, ...] = ()
    lists: Literal["keep", "rebalance"] = "keep"


class PracticeRollout(BaseModel):
    """A practice's own rollout date (and, optionally, its own rollout)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_date: dt.date = Field(alias="from")
    policy: PolicyRef | None = None
    ramp: tuple[Ramp, ...] | None = None
    lists: Literal["keep", "rebalance"] | None = None


class Wave(BaseModel):
    """Practices that start the network's rollout on the same day."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_date: dt.date = Field(alias="from")
    practices: list[str] = Field(min_length=1)


class PracticeRef(BaseModel):
    """One practice of a network: a scenario file, or its own appointment export.

    A practice given by its export (``appointments:``, with its ``list:`` and,
    for a system the program does not know, a ``columns:`` mapping) is
    calibrated by whoever loads the network (``gpsim``), into a scenario beside
    the network file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    scenario: str | None = Field(None, description="Scenario file, relative to the network "
                                 "file.")
    appointments: str | None = Field(None, description="The practice's appointment export "
                                     "(CSV), relative to the network file, instead of a "
                                     "scenario.")
    list_file: str | None = Field(None, alias="list", description="Its registered list (CSV).")
    columns: str | None = Field(None, description="A mapping of its export's headings (YAML).")
    set: dict[str, Any] = Field(default_factory=dict)
    rollout: PracticeRollout | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PracticeRef:
        if (self.scenario is None) == (self.appointments is None):
            raise ValueError("give scenario (a file) or appointments (an export), one of them")
        if self.scenario is not None and (self.list_file or self.columns):
            raise ValueError("list and columns go with appointments (an export), not a scenario")
        return self


@dataclass(frozen=True)
class ExportPractice:
    """A practice of a network given by its export, for the calibrator (paths resolved)."""

    id: str
    appointments: Path
    list_file: Path | None
    columns: Path | None


#: Calibrates practices given by their exports: returns, per practice id, the scenario
#: file written, or the problems found (each a message).
Calibrator = Callable[[Path, list[ExportPractice]], dict[str, Path | list[str]]]

#: Hands tasks to other processes: ``ahead(tasks, fn)`` (see :func:`load_network`).
AheadRunner = Callable[[list[Any], Callable[[Any], Any]], Any]


class HubClinician(BaseModel):
    """A clinician of the extended-access hub."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    role: str = Field(description="A role every practice's scenario defines (e.g. gp).")
    sessions: list[str] = Field(min_length=1, description="Weekly sessions, e.g. mon_ev.")
    slots_per_session: int | None = Field(None, ge=1, le=200,
                                          description="Default: the role's.")


class Hub(BaseModel):
    """An extended-access hub shared by the network's practices.

    Its sessions (for example weekday evenings) may fall outside the practices'
    opening hours. The slots of each session, pooled over the hub clinicians
    who work the same sessions, are allocated to the practices in proportion
    to their list sizes (largest remainder), in consecutive blocks, so no slot
    is ever offered to two practices and every practice gets its share. Hub
    clinicians hold no lists; their slots are booked like any other by each
    practice's policy (the earliest slot with anyone may be a hub slot; urgent
    requests reach the hub only when no earlier slot is free today).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "Extended-access hub"
    session_starts: dict[str, str] = Field(description="Start time of each hub session name, "
                                           "e.g. {ev: '18:30'}.")
    clinicians: list[HubClinician] = Field(min_length=1)


class NetworkSpec(BaseModel):
    """A network file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "Network"
    seed: int = Field(20250106, ge=0, lt=2**63)
    practices: list[PracticeRef] = Field(min_length=1)
    hub: Hub | None = None
    rollout: Rollout | None = Field(None, description="What practices adopt when their wave "
                                    "(or own rollout date) comes.")
    waves: list[Wave] = Field(default_factory=list)


@dataclass
class Network:
    """A loaded network: its spec and each practice's validated scenario (seed set).

    With a hub, each practice's scenario includes its allocation of the hub's
    clinicians (``extended_access``), ids as in the network file.
    """

    file: Path
    spec: NetworkSpec
    practices: list[tuple[str, Scenario]]

    @property
    def hub_ids(self) -> set[str]:
        """Ids of the hub's clinicians (empty without a hub)."""
        return {c.id for c in self.spec.hub.clinicians} if self.spec.hub else set()


def allocate(total: int, sizes: list[int]) -> list[int]:
    """Share ``total`` slots among practices in proportion to ``sizes`` (largest remainder)."""
    quota = [total * n / sum(sizes) for n in sizes]
    out = [int(q) for q in quota]
    order = sorted(range(len(sizes)), key=lambda i: (-(quota[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def practice_seed(network_seed: int, practice_id: str) -> int:
    """A practice's master seed: a stable hash of the network seed and the practice id."""
    digest = hashlib.sha256(f"{network_seed}:{practice_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def with_network_seed(network: Network, seed: int) -> Network:
    """The network with another master seed (each practice's seed derived again)."""
    spec = network.spec.model_copy(update={"seed": seed})
    practices = [(pid, s.model_copy(update={"seed": practice_seed(seed, pid)}))
                 for pid, s in network.practices]
    return Network(network.file, spec, practices)


def load_network(path: str | Path, policies: Registry | None = None,
                 calibrator: Calibrator | None = None,
                 on_spec: Callable[[NetworkSpec], Any] | None = None,
                 ahead: AheadRunner | None = None) -> Network:
    """Read and validate a network file and every practice's scenario.

    Practices given by their exports are calibrated first by ``calibrator``
    (``gpsim`` passes :func:`gpsim.calibrate.calibrate_network_practices`).
    ``on_spec(spec)`` is called once the network file itself is read and valid,
    before its practices are (``gpsim network`` starts its workers then, knowing
    how many practices there are). ``ahead(tasks, fn)``: hands ``fn(task)`` to
    other processes and returns a handle whose ``ready()`` gives the results
    finished so far and whose ``close()`` drops the rest
    (:func:`sim.runs.executor.ahead`); the practices' list and history files are
    then checked there (:func:`sim.inputs.loading.files_checked`), the last
    practice first, while this process reads the scenarios from the first.
    Whatever is not checked there by the time a practice is read is checked
    here, so the network and every message are the same with it or without.

    A problem in a practice's ``set:`` is reported at the line of the network
    file where it is written; the same problem in several practices (a
    scenario file they share, or the same override) is reported once, naming
    them.

    Raises:
        ScenarioError: naming the network file (or the practice's scenario
            file), the line and the key path of every problem.
    """
    with reading_from(path) as roots:
        return _load_network(Path(path), policies, calibrator, on_spec, ahead, roots)


def _load_network(path: Path, policies: Registry | None, calibrator: Calibrator | None,
                  on_spec: Callable[[NetworkSpec], Any] | None = None,
                  ahead: AheadRunner | None = None, roots: tuple[Path, ...] = ()) -> Network:
    shown = str(path)
    spec, doc = read_spec(path, NetworkSpec, NETWORK)
    ids = [p.id for p in spec.practices]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ScenarioError([Problem(shown, ("practices",), "practice ids must be unique "
                                     f"({', '.join(dupes)} appear more than once)",
                                     doc.lines.get(("practices",)))])
    _refuse_outside(shown, path, spec, doc)
    if on_spec is not None:
        on_spec(spec)
    calibrated = _calibrated(shown, path, spec, doc, calibrator)
    # Each practice's scenario file (calibrated from its export, or named), or the problems
    # its calibration found.
    files = [calibrated[ref.id] if ref.appointments is not None else path.parent / ref.scenario
             for ref in spec.practices]
    checking = ahead([(f, dict(ref.set), roots, policies)
                      for f, ref in reversed(list(zip(files, spec.practices, strict=True)))
                      if isinstance(f, Path)], files_checked) if ahead is not None else None
    try:
        return _read_practices(shown, path, spec, doc, policies, files, checking)
    finally:
        if checking is not None:
            checking.close()


def _read_practices(shown: str, path: Path, spec: NetworkSpec, doc: YamlDoc,
                    policies: Registry | None, files: list[Path | list[str]],
                    checking: Any) -> Network:
    """The network from its file: each practice's scenario read, with the rollouts and hub.

    ``files``: each practice's scenario file, or the problems its calibration found.
    ``checking``: an :class:`sim.runs.executor.Ahead` checking the practices'
    list files in other processes (or None); the checks it has finished are
    taken before each practice is read.
    """
    practices, found = [], []
    # A file several practices name is read once, each practice's set: applied to it
    # (ScenarioVariants: what the set: leaves as the file has it is not validated again).
    uses = Counter(f.resolve() for f in files if isinstance(f, Path))
    shared: dict[Path, ScenarioVariants] = {}
    for i, ref in enumerate(spec.practices):
        if checking is not None:
            for checked in checking.ready():
                remember_checked(checked)
        origins = {key: Origin(shown, doc.lines.get(("practices", i, "set", key)),
                               ("practices", i, "set", key)) for key in ref.set}
        scenario_file = files[i]
        if isinstance(scenario_file, list):
            where = ("practices", i, "appointments")
            found += [(ref.id, Problem(shown, where, f"practice {ref.id!r}: {msg}",
                                       doc.lines.get(where))) for msg in scenario_file]
            continue
        try:
            if not scenario_file.is_file():
                raise ScenarioError([Problem(shown, ("practices", i, "scenario"),
                                             f"scenario file {ref.scenario!r} not found "
                                             f"(looked for {scenario_file.resolve()})",
                                             doc.lines.get(("practices", i, "scenario")))])
            s = _practice_scenario(scenario_file, ref.set, origins, policies, uses, shared)
        except ScenarioError as e:
            found += [(ref.id, p) for p in e.problems]
            continue
        practices.append((ref.id, s.model_copy(update={"seed": practice_seed(spec.seed,
                                                                              ref.id)})))
    if found:
        raise ScenarioError(merge_repeats(found, "practice"))
    practices = _with_rollouts(shown, spec, practices, doc, policies)
    if spec.hub is not None:
        practices = _with_hub(shown, spec.hub, practices, doc, policies)
    first = practices[0][1]
    for i, (pid, s) in enumerate(practices):
        if (s.start_date, s.warmup_days, s.duration_days) != (
                first.start_date, first.warmup_days, first.duration_days):
            raise ScenarioError([Problem(shown, ("practices", i), f"practice {pid!r} has a "
                                         "different start_date, warmup_days or duration_days "
                                         f"from {practices[0][0]!r}; a network shares one "
                                         "calendar (set them in the network's set: overrides)",
                                         doc.lines.get(("practices", i)))])
    return Network(path, spec, practices)


def _practice_scenario(file: Path, overrides: dict[str, Any], origins: dict[str, Origin],
                       policies: Registry | None, uses: Counter,
                       shared: dict[Path, ScenarioVariants]) -> Scenario:
    """A practice's scenario: ``file`` with its ``set:``; a file named more than once read once."""
    key = file.resolve()
    if uses[key] < 2:
        return load_scenario(file, overrides, policies, origins)
    if key not in shared:
        shared[key] = ScenarioVariants(file, policies)
    return shared[key].load(overrides, origins)


def _refuse_outside(shown: str, path: Path, spec: NetworkSpec, doc: YamlDoc) -> None:
    """Every file a practice names must be in the allowed folders (:mod:`sim.inputs.roots`)."""
    problems = []
    for i, ref in enumerate(spec.practices):
        for key, written in (("scenario", ref.scenario), ("appointments", ref.appointments),
                             ("list", ref.list_file), ("columns", ref.columns)):
            refused = written is not None and outside(path.parent / written, written)
            if refused:
                where = ("practices", i, key)
                problems.append(Problem(shown, where, refused, doc.lines.get(where)))
    if problems:
        raise ScenarioError(problems)


def _calibrated(shown: str, path: Path, spec: NetworkSpec, doc: YamlDoc,
                calibrator: Calibrator | None) -> dict[str, Path | list[str]]:
    """The scenario (or the problems) of each practice given by its export."""
    wanted = [ExportPractice(ref.id, path.parent / ref.appointments,
                             path.parent / ref.list_file if ref.list_file else None,
                             path.parent / ref.columns if ref.columns else None)
              for ref in spec.practices if ref.appointments is not None]
    if not wanted:
        return {}

    if calibrator is None:
        i = next(i for i, ref in enumerate(spec.practices) if ref.appointments is not None)
        where = ("practices", i, "appointments")
        raise ScenarioError([Problem(shown, where, "practices given by their exports are "
                                     "calibrated by the gpsim commands (network, compare, "
                                     "validate); this loader was given no calibrator",
                                     doc.lines.get(where))])
    return calibrator(path, wanted)


def rollout_dates(spec: NetworkSpec) -> dict[str, dt.date]:
    """Each practice's rollout date: its wave's, or its own ``rollout.from``."""
    out = {pid: w.from_date for w in spec.waves for pid in w.practices}
    out.update({ref.id: ref.rollout.from_date for ref in spec.practices if ref.rollout})
    return out


def _with_rollouts(shown: str, spec: NetworkSpec, practices: list[tuple[str, Scenario]],
                   doc: YamlDoc, policies: Registry | None) -> list[tuple[str, Scenario]]:
    """Each practice with its wave's (or its own) rollout added to its policy changes."""
    ids = [pid for pid, _ in practices]
    problems = []
    seen: dict[str, int] = {}
    for i, wave in enumerate(spec.waves):
        for j, pid in enumerate(wave.practices):
            where = ("waves", i, "practices", j)
            if pid not in ids:
                problems.append(Problem(shown, where, _unknown_practice(pid, ids),
                                        doc.lines.get(where)))
            elif pid in seen:
                problems.append(Problem(shown, where, f"practice {pid!r} is already in wave "
                                        f"{seen[pid] + 1}", doc.lines.get(where)))
            seen.setdefault(pid, i)
    if problems:
        raise ScenarioError(problems)
    refs = {ref.id: (i, ref) for i, ref in enumerate(spec.practices)}
    out = []
    for pid, s in practices:
        i, ref = refs[pid]
        own = ref.rollout
        if pid not in seen and own is None:
            out.append((pid, s))
            continue
        date = own.from_date if own else spec.waves[seen[pid]].from_date
        where = (("practices", i, "rollout") if own else ("waves", seen[pid]))
        template = spec.rollout
        policy = (own.policy if own and own.policy else template.policy if template else None)
        if policy is None:
            raise ScenarioError([Problem(shown, where, f"practice {pid!r} has a rollout date "
                                         "but no policy to roll out: give rollout: {policy: "
                                         "...} at the top of the network file or in the "
                                         "practice's rollout:", doc.lines.get(where))])
        ramp = own.ramp if own and own.ramp is not None else (template.ramp if template else ())
        lists = own.lists if own and own.lists else (template.lists if template else "keep")
        change = {"from": date.isoformat(), "policy": policy.model_dump(mode="json"),
                  "ramp": [r.model_dump(mode="json") for r in ramp], "lists": lists}
        try:
            out.append((pid, revalidated(s, {"policy_changes": [*s.policy_changes, change]},
                                         f"{shown} (practice {pid}'s rollout)", policies)))
        except ScenarioError as e:
            raise ScenarioError([Problem(shown, where, f"practice {pid!r}: {p.message}",
                                         doc.lines.get(where)) for p in e.problems]) from None
    return out


def revalidated(s: Scenario, changes: dict[str, Any], source: str,
                policies: Registry | None) -> Scenario:
    """``s`` with ``changes`` (data as a scenario file gives it), checked again as a whole.

    The changed fields are validated from their data; the others are handed to
    pydantic as the models they already are, which it takes as they are, and
    the whole scenario is then checked as a loaded one is (cross-references,
    policies, list files). Validating all of ``s`` again from a dump of it cost
    about 1 ms a practice, a third of loading a network with a hub. The result
    is the scenario that validating its data from scratch gives (tested).
    """
    fields = type(s).model_fields
    data = {(f.alias or name): getattr(s, name) for name, f in fields.items()}
    data.update(changes)
    return scenario_from_dict(data, source=source, policies=policies)


def _unknown_practice(pid: str, ids: list[str]) -> str:
    close = get_close_matches(pid, ids, n=1)
    return f"no practice {pid!r} in this network" + (f"; did you mean {close[0]!r}?" if close
                                                      else f" (practices: {', '.join(ids)})")


def _with_hub(shown: str, hub: Hub, practices: list[tuple[str, Scenario]], doc: YamlDoc,
              policies: Registry | None) -> list[tuple[str, Scenario]]:
    """Add each practice's allocation of the hub's clinicians to its scenario, revalidated."""
    sizes = [s.population.size for _, s in practices]
    extra: dict[str, list[dict]] = {pid: [] for pid, _ in practices}
    for j, hc in enumerate(hub.clinicians):
        missing = [pid for pid, s in practices if hc.role not in s.roles]
        if missing:
            raise ScenarioError([Problem(shown, ("hub", "clinicians", j, "role"),
                                         f"role {hc.role!r} is not defined by practice(s) "
                                         f"{', '.join(missing)}",
                                         doc.lines.get(("hub", "clinicians", j, "role")))])
    # Clinicians working the same sessions form one pool of slots per session,
    # shared out as a whole, so small practices get their share even when one
    # clinician's session has fewer slots than there are practices.
    groups: dict[tuple[str, ...], list[HubClinician]] = {}
    for hc in hub.clinicians:
        groups.setdefault(tuple(sorted(hc.sessions)), []).append(hc)
    for members in groups.values():
        seq = []  # (clinician, slot number) in order: each clinician's session in turn
        for hc in members:
            n = hc.slots_per_session or practices[0][1].roles[hc.role].slots_per_session
            seq += [(hc, k) for k in range(n)]
        start = 0
        for (pid, _), share in zip(practices, allocate(len(seq), sizes), strict=True):
            block = seq[start:start + share]
            start += share
            for hc in members:
                mine = [k for c, k in block if c is hc]
                if mine:
                    extra[pid].append({"id": hc.id, "role": hc.role,
                                       "sessions": list(hc.sessions), "extended_access": True,
                                       "slots_per_session": len(mine), "first_slot": mine[0]})
    out = []
    for pid, s in practices:
        practice = s.practice.model_dump(mode="json", by_alias=True)
        practice["session_starts"] = {**practice["session_starts"], **hub.session_starts}
        try:
            out.append((pid, revalidated(
                s, {"clinicians": [*s.clinicians, *extra[pid]], "practice": practice},
                f"{shown} (practice {pid} with the hub)", policies)))
        except ScenarioError as e:
            raise ScenarioError([Problem(shown, ("hub",), f"practice {pid!r}: {p.message} "
                                         f"(at {format_path(p.path)})",
                                         doc.lines.get(("hub",)))
                                 for p in e.problems]) from None
    return out
