"""The app's comparison page: set up your practice, pick the approaches, see the comparison.

One of the pages of :mod:`gpsim.app`. All the work is in :mod:`gpsim.app_logic`;
this page only lays it out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpsim import app_logic as logic
from gpsim.app_page import answer_heading, pick_practice
from gpsim.paths import project_root

ROOT = project_root()
st.title("Which booking approach for your practice?")
st.caption("A simulation of your practice's appointments under different booking approaches. "
           "Everything runs on this computer; nothing is sent anywhere.")

# ------------------------------------------------------------------ 1. the practice
st.header("1. Your practice")
base, _ = pick_practice(ROOT, own_file=True)

form = logic.practice_form(base)
left, middle, right = st.columns(3)
form["list_size"] = left.number_input("Registered patients (list size)", min_value=100,
                                      max_value=100_000, value=int(form["list_size"]),
                                      step=500)
form["booking_horizon_days"] = middle.number_input(
    "Booking horizon (days ahead a routine appointment can be booked)", min_value=1,
    max_value=365, value=int(form["booking_horizon_days"]))
form["opening_days"] = right.multiselect("Opening days", list(logic.WEEKDAYS),
                                         default=form["opening_days"])
# Each field's problems are shown right under it, once the whole form has been checked.
beside = {"list_size": left.empty(), "booking_horizon_days": middle.empty(),
          "opening_days": right.empty()}
roles = pd.DataFrame([{"role": name, "label": r["label"], "clinicians": r["clinicians"],
                       "sessions a week": r["sessions_per_week"],
                       "slots per session": r["slots_per_session"],
                       "share held for the day": r["on_the_day_share"]}
                      for name, r in form["roles"].items()])
st.write("Clinicians by role (slots per session and the share held for booking on the day "
         "can be changed here; who works which session is in the scenario file):")
edited = st.data_editor(roles, hide_index=True, key="roles",
                        disabled=["role", "label", "clinicians", "sessions a week"],
                        column_config={"share held for the day": st.column_config.NumberColumn(
                            min_value=0.0, max_value=1.0, step=0.05, format="%.2f")})
beside["roles"] = st.empty()
for row in edited.itertuples(index=False):
    form["roles"][row.role]["slots_per_session"] = row[4]
    form["roles"][row.role]["on_the_day_share"] = row[5]
people = pd.DataFrame([{"clinician": cid, "role": c["role"],
                        "sessions a week": c["sessions_per_week"]}
                       for cid, c in form["clinicians"].items()])
with st.expander("Each clinician's sessions a week (fewer drops their last sessions; more "
                 "adds sessions the practice opens that they do not yet work)"):
    people = st.data_editor(people, hide_index=True, key="people",
                            disabled=["clinician", "role"],
                            column_config={"sessions a week": st.column_config.NumberColumn(
                                min_value=0, max_value=14, step=1)})
beside["clinicians"] = st.empty()
beside["general"] = st.empty()
for row in people.itertuples(index=False):
    form["clinicians"][row.clinician]["sessions_per_week"] = int(row[2])
practice, problems = logic.with_practice(base, form)
for field, messages in logic.by_field(problems).items():
    with beside[field].container():
        for p in messages:
            st.error(logic.plain(p))
if practice is None:
    st.stop()

# ------------------------------------------------------------------ 2. the approaches
st.header("2. The approaches to compare")
picked = st.multiselect("Approaches (two to five; the first is the baseline)",
                        list(logic.APPROACHES), default=["access_first", "usual_gp_first"],
                        format_func=logic.APPROACHES.get, max_selections=5)
staged = st.checkbox("Introduce the approaches part-way through the year (a rollout: the "
                     "first stays as it is; see month by month how the others build up)")
rollout = None
if staged:
    when, weeks = st.columns(2)
    rollout = {"from": when.date_input("Start on", logic.default_rollout_date(practice)),
               "weeks": weeks.number_input("Weeks for reception to adopt it fully", 0, 52, 12)}
scenarios, problems = [], []
for policy in picked:
    with st.expander(logic.APPROACHES[policy], expanded=False):
        params = {}
        if policy != "access_first":
            params["adherence"] = st.slider("Reception follows the rule for this share of "
                                            "requests", 0.0, 1.0, 0.5, 0.05,
                                            key=f"{policy}-adherence")
            params["popup_reminder"] = st.checkbox("Pop-up reminder on the record",
                                                   key=f"{policy}-popup")
        if policy in ("usual_gp_first", "micro_team", "personalised_micro_teams"):
            coded = st.multiselect("Only for patients coded in these cohorts (empty: everyone)",
                                   list(practice.cohorts), key=f"{policy}-coded")
            if coded:
                params["coded"] = coded
        if policy in ("micro_team", "clinical_champion", "personalised_micro_teams"):
            params["team_wait_days"] = st.number_input(
                "Offer another team member within (days)", 0, 28, 7, key=f"{policy}-team")
        if policy == "clinical_champion":
            cohorts = list(practice.cohorts)
            params["cohorts"] = st.multiselect("Cohorts cared for by champions", cohorts,
                                               default=cohorts, key=f"{policy}-cohorts")
        st.caption(logic.plain(logic.describe(policy, params)))
        s, found = logic.approach_scenario(practice, policy, params,
                                           rollout if policy != picked[0] else None)
        for p in found:  # beside this approach's settings
            st.error(logic.plain(p))
        if found:
            problems.append(logic.APPROACHES[policy])
        if s is not None:
            scenarios.append(s)
if problems:
    st.error(logic.plain(f"Fix the settings of {', '.join(problems)}: the message is in its "
                         "box above."))
replications = st.number_input("Replications (more: narrower intervals, longer to run)", 2, 50,
                               5)
if len(picked) < 2:
    st.info("Pick at least two approaches.")
    st.stop()
if problems:
    st.stop()

# ------------------------------------------------------------------ 3. run and see
st.header("3. Run the comparison")
st.caption("While it runs, Streamlit's Stop (top right) cancels it: runs not yet started "
           "never start.")
if st.button("Run", type="primary"):
    bar = st.progress(0.0, text="Starting ...")

    def progress(done: int, total: int) -> None:
        """Move the bar as each run finishes."""
        bar.progress(done / total, text=f"{done} of {total} runs")

    try:
        result = logic.answer(scenarios, int(replications), progress)
    except Exception as e:  # a one-line message, never a traceback
        st.error(logic.plain(f"The comparison could not run: {type(e).__name__}: {e}"))
        st.stop()
    bar.progress(1.0, text=f"{result.runs} runs in {result.seconds:.0f} s")
    st.session_state["result"] = (result, scenarios)
    st.session_state["scroll_to_answer"] = True

if "result" in st.session_state:
    result, ran = st.session_state["result"]
    answer_heading("4. The answer", "the-answer", "scroll_to_answer")
    for sentence in result.verdict:
        st.write(logic.plain(sentence))
    # Measures as rows and approaches as columns, so the table fits the page's width
    # however many measures there are.
    st.dataframe(result.table.set_index("approach").T.rename_axis("measure"),
                 width="stretch")
    for title, png in result.plots:
        st.subheader(title)
        st.image(png)
    st.header("5. Take it away")
    st.download_button("The full report (HTML)", result.report, file_name="report.html",
                       mime="text/html")
    for label, s in zip(result.labels, ran, strict=True):
        st.download_button(logic.plain(f"Scenario: {s.name} (YAML)"),
                           logic.scenario_yaml(s, result.seed), file_name=f"{label}.yaml",
                           mime="text/yaml", key=f"yaml-{label}")
