"""The compiled engine: the booking desk of :class:`sim.model.PracticeModel` in numba.

:class:`CompiledDesk` packs a built model into flat arrays (the named tuples
:class:`sim.kernel.Cal`, :class:`sim.kernel.Practice`, :class:`sim.kernel.Run`
and :class:`sim.kernel.Log`) and runs the days (:meth:`sim.model.PracticeModel.day`)
in :func:`sim.kernel.run_days`, a stretch at a time: up to the next day a
list-holder leaves, whose list is reassigned in Python, as in the reference
engine. When the run ends, the log and the calendar are written back into the
model, so everything downstream (:mod:`sim.results`, :mod:`sim.emergency`)
sees what the reference engine would have produced, value for value.

Random numbers: the dna, follow_up and policy streams are drawn ahead in
blocks, and used in the same order as the reference engine uses them. A
NumPy generator gives the same numbers whether drawn one at a time or in
blocks, so the results are identical (tested).

Growth: before each day the kernel checks that the log, the random blocks
and the visit-count table can hold the most that day could add (every request
it handles booked or failing, every appointment of yesterday attended); if
not, it stops and says how much it needs, the driver grows them (doubling) and
calls again from that day.
"""
from __future__ import annotations

import numpy as np

from . import kernel as K
from .calendar import N_POOLS, ONLINE
from .demand import NAMED_USUAL_GP
from .scenario import MODES

_RULE_NAMED = {"none": K.RULE_NONE, "usual_gp": K.RULE_USUAL_GP, "team_lead": K.RULE_TEAM_LEAD}
# EventLog field -> its row in Log.req_i or Log.appt_i
_REQ = {"req_patient": K.R_PATIENT, "req_from_day": K.R_FROM_DAY, "req_with": K.R_WITH,
        "req_need": K.R_NEED, "req_urgency": K.R_URGENCY, "req_mode": K.R_MODE,
        "req_attempts": K.R_ATTEMPTS, "req_outcome": K.R_OUTCOME,
        "req_appointment": K.R_APPOINTMENT}
_APPT = {"appt_request": K.P_REQUEST, "appt_patient": K.P_PATIENT,
         "appt_clinician": K.P_CLINICIAN, "appt_pool": K.P_POOL, "appt_status": K.P_STATUS,
         "appt_usual": K.P_USUAL}


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _wait(days: int | None) -> int:
    return -1 if days is None else int(days)


class NotCompilable(ValueError):
    """A model the compiled engine cannot run exactly (the reference engine can)."""


class _Stream:
    """A random stream drawn ahead in blocks."""

    def __init__(self, rng: np.random.Generator | None):
        self.rng = rng
        self.values = np.zeros(0)

    def ensure(self, used: int, more: int) -> bool:
        """Make ``used + more`` numbers available; whether the block had to grow."""
        if self.rng is None or used + more <= self.values.size:
            return False
        extra = max(used + more - self.values.size, self.values.size, 4096)
        self.values = np.concatenate([self.values, self.rng.random(extra)])
        return True


def _pair_table(size: int) -> np.ndarray:
    """An empty table of patient-clinician visit counts (keys, counts); size a power of two."""
    table = np.zeros((2, size), dtype=np.int64)
    table[0] = K.EMPTY
    return table


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` with room for ``size`` rows along its last axis (contents kept)."""
    out = np.empty((*a.shape[:-1], size), dtype=a.dtype)
    out[..., : a.shape[-1]] = a
    return out


class CompiledDesk:
    """The booking desk of ``model``, run by :mod:`sim.kernel`.

    Args:
        model: a built :class:`sim.model.PracticeModel` (not yet run).
        rule: the policy's :class:`sim.policy_api.CompiledRule`.
    """

    engine_name = "compiled"

    def __init__(self, model, rule):
        self.model = m = model
        cal, wf, pv = m.calendar, m.workforce, m.practice_view
        if not cal.slots_within_day:
            raise NotCompilable("a session runs past midnight")
        n_clin = max(wf.size, 1)
        n_needs, n_modes = len(m.eligible), len(MODES)
        elig = np.zeros((n_needs * n_modes, 1 + n_clin), dtype=np.int64)
        elig_mask = np.zeros((n_needs * n_modes, n_clin), dtype=np.bool_)
        for need, row in enumerate(m.eligible):
            for mode, clinicians in enumerate(row):
                r = need * n_modes + mode
                elig[r, 0] = len(clinicians)
                elig[r, 1:1 + len(clinicians)] = clinicians
                elig_mask[r, list(clinicians)] = True
        width = max([len(t) for t in pv.teams] or [1])
        teams = np.zeros((max(len(pv.teams), 1), 1 + width), dtype=np.int64)
        for k, t in enumerate(pv.teams):
            teams[k, 0] = len(t)
            teams[k, 1:1 + len(t)] = t
        team_of = np.full(n_clin, -1, dtype=np.int64)
        for c, k in pv.team_of_clinician.items():
            team_of[c] = k
        pi = np.zeros(K.N_PI, dtype=np.int64)
        pi[K.I_END_DAY] = m.end_day
        pi[K.I_MAX_ATTEMPTS] = m._max_attempts
        pi[K.I_HORIZON] = pv.horizon_days
        pi[K.I_FU_WINDOW] = pv.follow_up_window_days
        pi[K.I_ONLINE_MODE] = MODES.index("online")
        pi[K.I_N_MODES] = n_modes
        pi[K.I_FU_KNOWN_AFTER] = m._fu_known_after
        pi[K.I_RULE_NAMED] = _RULE_NAMED[rule.named]
        pi[K.I_RULE_NAMED_WAIT] = _wait(rule.named_wait_days)
        pi[K.I_RULE_TEAM] = bool(rule.team_tier)
        pi[K.I_RULE_TEAM_WAIT] = _wait(rule.team_wait_days)
        pi[K.I_HAS_NAV] = m._navigation is not None
        pf = np.zeros(K.N_PF)
        pf[K.F_OPEN_TIME] = m._open_time
        pf[K.F_RELEASE] = pv.release_days
        pf[K.F_DECLINE] = np.inf if m._decline_after is None else m._decline_after
        pf[K.F_FU_KNOWN_FACTOR] = m._fu_known_factor
        pf[K.F_ADHERENCE] = rule.adherence
        open_days = np.zeros((2, cal.n_days + 1), dtype=np.int64)
        open_days[K.O_NEXT_OPEN] = m._next_open
        open_days[K.O_IS_OPEN, : cal.n_days] = m.is_open
        pat_b = np.ones((2, m.patients.size), dtype=np.bool_)
        pat_b[K.B_VALUES] = m.patients.values_continuity
        if rule.coded is not None:
            pat_b[K.B_CODED] = rule.coded
        if m.usual.dtype != np.int64 or not m.usual.flags.c_contiguous:
            raise TypeError("usual clinicians must be a contiguous int64 array")
        self.pr = K.Practice(
            pi=pi, pf=pf, open_days=open_days, elig=elig, elig_mask=elig_mask,
            usual=m.usual,  # shared: PracticeModel._reassign changes it in place
            pat_b=pat_b,
            propensity=np.array(m.patients.dna_propensity, dtype=float),  # writable copies:
            need_f=np.array([m._extra_days, m._fu_p], dtype=float),
            need_i=np.array([m._fu_lo, m._fu_span], dtype=np.int64),
            dna_by_lead=np.array(m._dna_by_lead, dtype=float),  # one compiled signature
            teams=teams, team_of=team_of,
        )
        cs = cal.export_state()
        self.cal = K.Cal(
            times=cs["times"], cell=np.stack([cs["start"], cs["end"], cs["nxt"]]),
            cell_first=cs["cell_first"], booked=cs["booked"], closed=cs["closed"],
            head=np.stack([cs["first"], cs["head_k"], cs["head_i"]]), head_t=cs["head_t"],
            dims=np.array([cal.n_clinicians, cal.n_days, cal.n_cells, cal.has_online],
                          dtype=np.int64),
        )
        a = m.arrivals
        n_arr = len(a)
        arr = np.empty((7, n_arr), dtype=np.int64)
        arr[K.A_PATIENT] = a.patient
        arr[K.A_NEED] = a.need
        arr[K.A_URGENCY] = a.urgency
        arr[K.A_MODE] = a.mode
        arr[K.A_FROM_DAY] = a.from_day
        arr[K.A_NAMED] = a.named if a.named is not None else NAMED_USUAL_GP
        arr[K.A_NAV] = m._navigation if m._navigation is not None else -1
        uses_policy_stream = rule.named != "none" and rule.adherence < 1.0
        self._streams = {"r_dna": _Stream(m._dna_rng), "r_fu": _Stream(m._fu_rng),
                         "r_pol": _Stream(m.policy.rng if uses_policy_stream else None)}
        days = np.zeros((6, cal.n_days), dtype=np.int64)
        days[[K.DAY_HEAD, K.DAY_TAIL, K.Q_HEAD, K.Q_TAIL]] = -1
        self.spells = np.array(m.spells, dtype=np.int64).reshape(-1, 3).T.copy()
        self.rn = K.Run(
            arr=arr, a_time=np.array(a.time, dtype=float),
            day_start=_i64(m._day_start), spells=self.spells,
            r_dna=np.zeros(0), r_fu=np.zeros(0), r_pol=np.zeros(0), days=days,
            slot_appt=np.full(cal.n_slots, -1, dtype=np.int64),
            pairs=_pair_table(1 << 12),
            tiers=np.zeros((2, n_clin), dtype=np.int64),
            off_t=np.zeros(4), off_i=np.zeros((4, 5), dtype=np.int64),
            want=np.zeros(5, dtype=np.int64),
            scratch=np.zeros(max(cal.n_slots, 1), dtype=np.int64),
        )
        cap = n_arr + n_arr // 2 + 64
        self.lg = K.Log(
            n=np.zeros(K.N_COUNTERS, dtype=np.int64),
            req_i=np.empty((K.N_RI, cap), dtype=np.int64), req_f=np.empty((2, cap)),
            appt_i=np.empty((K.N_PI_APPT, cap), dtype=np.int64), appt_f=np.empty((2, cap)),
            unmet_i=np.empty(cap, dtype=np.int64), unmet_f=np.empty(cap),
            queue=np.empty((3, 2 * cap), dtype=np.int64),
        )
        self._ensure(0, 0, 0, 0, 0)

    # ---------------------------------------------------------------- capacity

    def _ensure(self, requests: int, handles: int, attended: int, policy_draws: int,
                pairs: int = 0) -> None:
        """Room for ``requests`` new requests, ``handles`` booking attempts and their draws.

        ``attended``: appointments that may be attended (a DNA draw and two
        follow-up draws each); ``pairs``: new patient-clinician pairs (the
        table is kept at most half full).
        """
        lg = self.lg
        n = lg.n
        grow = {}
        for names, need in ((("req_i", "req_f"), n[K.N_REQ] + requests),
                            (("appt_i", "appt_f"), n[K.N_APPT] + handles),
                            (("unmet_i", "unmet_f"), n[K.N_UNMET] + handles)):
            size = getattr(lg, names[0]).shape[-1]
            if need > size:
                for f in names:
                    grow[f] = _grown(getattr(lg, f), max(int(need), 2 * size))
        # Each queued entry is a failed attempt or a cancelled appointment.
        queue_need = (grow.get("unmet_i", lg.unmet_i).shape[-1]
                      + grow.get("appt_i", lg.appt_i).shape[-1])
        if queue_need > lg.queue.shape[-1]:
            grow["queue"] = _grown(lg.queue, queue_need)
        if grow:
            self.lg = lg._replace(**grow)
        drawn = {}
        for name, used, more in (("r_dna", n[K.P_DNA], attended),
                                 ("r_fu", n[K.P_FU], 2 * attended),
                                 ("r_pol", n[K.P_POL], policy_draws)):
            stream = self._streams[name]
            if stream.ensure(int(used), int(more)):
                drawn[name] = stream.values
        size = self.rn.pairs.shape[1]
        if 2 * (n[K.N_PAIRS] + pairs) > size:
            while 2 * (n[K.N_PAIRS] + pairs) > size:
                size *= 2
            table = _pair_table(size)
            K.rehash(self.rn.pairs, table)
            drawn["pairs"] = table
        if drawn:
            self.rn = self.rn._replace(**drawn)

    # ---------------------------------------------------------------- the day

    def days(self, d: int) -> int:
        """Days from ``d`` up to the next day a list-holder leaves (or the end); returns it.

        A leaver's day starts with yesterday's attendance, then the lists move
        (in Python), then the rest of the day goes on in the kernel.
        """
        m = self.model
        leavers = m._leavers.get(d, ())
        attend = True
        if leavers:
            if d > 0:
                self.attendance(d - 1)
            for c in leavers:
                m._reassign(c, d)
            attend = False
        stop = min([x for x in m._leavers if x > d] + [m.end_day])
        start = d
        while True:
            reached = K.run_days(self.cal, self.pr, self.rn, self.lg, d, stop,
                                 attend if d == start else True)
            if reached == stop:
                return stop
            d = int(reached)
            self._ensure(*(int(x) for x in self.rn.want))

    def attendance(self, d: int) -> None:
        """Day ``d``'s appointments attended or missed; follow-ups booked."""
        k = int(self.rn.days[K.DAY_COUNT, d])
        self._ensure(k, k, k, 0, k)  # follow-ups never draw from the policy stream
        K.attendance(self.cal, self.pr, self.rn, self.lg, d)

    def finish(self) -> None:
        """Write the log and the calendar back into the model."""
        m, lg = self.model, self.lg
        n_req, n_appt, n_unmet = (int(lg.n[k]) for k in (K.N_REQ, K.N_APPT, K.N_UNMET))
        L = m.log
        for name, row in _REQ.items():
            setattr(L, name, lg.req_i[row, :n_req].copy())
        L.req_time = lg.req_f[K.RF_TIME, :n_req].copy()
        for name, row in _APPT.items():
            setattr(L, name, lg.appt_i[row, :n_appt].copy())
        L.appt_time = lg.appt_f[K.PF_TIME, :n_appt].copy()
        L.appt_booked_at = lg.appt_f[K.PF_BOOKED_AT, :n_appt].copy()
        L.unmet_request = lg.unmet_i[:n_unmet].copy()
        L.unmet_time = lg.unmet_f[:n_unmet].copy()
        gave_up = lg.req_f[K.RF_GAVE_UP, :n_req]
        ids = np.nonzero(~np.isnan(gave_up))[0]
        L.gave_up_at = dict(zip(ids.tolist(), gave_up[ids].tolist(), strict=True))
        c = self.cal
        m.calendar.import_state({
            "nxt": c.cell[K.C_NXT], "booked": c.booked, "cell_first": c.cell_first,
            "closed": c.closed, "first": c.head[K.H_FIRST], "head_k": c.head[K.H_K],
            "head_i": c.head[K.H_I], "head_t": c.head_t})


assert (K.AHEAD, K.ON_THE_DAY, K.ONLINE, K.N_POOLS) == (0, 1, ONLINE, N_POOLS)
