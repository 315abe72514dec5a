"""The app's "help me choose" page: the question of ``gpsim choose`` in forms.

One of the pages of :mod:`gpsim.app`. All the work is in
:mod:`gpsim.app_choice`; this page only lays it out.
"""

from __future__ import annotations

import streamlit as st

from gpsim import app_choice as choice
from gpsim import app_logic as logic
from gpsim.app_page import answer_heading, pick_practice
from gpsim.paths import project_root
from sim import ScenarioError

ROOT = project_root()
st.title("Help me choose an approach")
st.caption("Which approach, with which settings, gives this practice the most continuity "
           "without breaking what it cannot compromise on, how sure that is, and what would "
           "change the answer. Everything runs on this computer; nothing is sent anywhere.")

# ------------------------------------------------------------------ 1. the practice
st.header("1. Today's practice")
base, base_file = pick_practice(ROOT, own_file=False, key="choose")
st.write(logic.plain(f"Today: {base.name}, booking "
                     f"{logic.APPROACHES.get(base.policy.name, base.policy.name).lower()}."))
list_size = st.number_input("Registered patients (list size)", min_value=100,
                            max_value=100_000, value=int(base.population.size), step=500,
                            key="choose-list")

# ------------------------------------------------------------------ 2. the options
st.header("2. What the practice could adopt")
approaches = st.multiselect("Approaches", list(choice.CHOICE_APPROACHES),
                            default=["usual_gp_first", "personalised_micro_teams"],
                            format_func=choice.CHOICE_APPROACHES.get, key="choose-approaches")
left, middle, right = st.columns(3)
try_popup = left.checkbox("Try each with and without the pop-up reminder", value=True,
                          key="choose-popup")
horizons = middle.multiselect("Booking horizons to try (days)", [14, 21, 28, 42, 56],
                              default=[base.practice.booking_horizon_days]
                              if base.practice.booking_horizon_days in (14, 21, 28, 42, 56)
                              else [28], key="choose-horizons")
held = right.slider("Share of GP capacity held for the day, to try between", 0.2, 0.7,
                    (0.4, 0.55), 0.05, key="choose-held")
team_waits = [7]
if set(approaches) & set(choice.TEAM_APPROACHES):
    team_waits = st.multiselect("For the team approaches: offer another team member within "
                                "(days), to try", [3, 7, 14], default=[3, 7, 14],
                                key="choose-team")

# ------------------------------------------------------------------ 3. what matters
st.header("3. What matters")
objective = st.selectbox("Make as high as possible", list(choice.OBJECTIVES),
                         format_func=choice.OBJECTIVES.get, key="choose-objective")
a, b = st.columns(2)
keep_wait = a.checkbox("Routine waits may grow by no more than", value=True, key="choose-wait")
longer = a.number_input("days on today's", 0.0, 14.0, 1.0, 0.5, key="choose-longer")
keep_urgent = b.checkbox("Urgent requests seen the same day, at least", value=True,
                         key="choose-urgent")
urgent = b.number_input("percent", 50.0, 100.0, 95.0, 1.0, key="choose-urgent-share")
zone = st.number_input("Smallest difference worth telling apart (points of the aim)",
                       0.1, 10.0, 1.0, 0.1, key="choose-zone")

# ------------------------------------------------------------------ 4. how sure, how robust
st.header("4. How robust")
picked = st.multiselect("Assumptions the practice is unsure of (the answer is checked across "
                        "their plausible ranges)", list(choice.ASSUMPTIONS),
                        default=list(choice.ASSUMPTIONS)[:3],
                        format_func=lambda k: choice.ASSUMPTIONS[k][0], key="choose-assume")
trials = st.number_input("Settings to try (more: a wider search, longer to run)", 4, 200, 12,
                         key="choose-trials")
if not approaches:
    st.info("Pick at least one approach.")
    st.stop()
form = {"list_size": list_size, "approaches": approaches, "try_popup": try_popup,
        "horizons": horizons or [base.practice.booking_horizon_days], "held_for_day": held,
        "team_waits": team_waits or [7], "objective": objective,
        "max_longer_wait": longer if keep_wait else None,
        "min_urgent_same_day": urgent / 100 if keep_urgent else None, "zone": zone,
        "trials": trials, "assumptions": picked}
data = choice.question_data(form, base)

# ------------------------------------------------------------------ 5. run and see
st.header("5. Find the answer")
st.caption("A few hundred runs of the practice: about a minute on two cores for the default "
           "practice. Streamlit's Stop (top right) cancels it.")
if st.button("Choose", type="primary", key="choose-run"):
    with st.status("Searching ...", expanded=False) as status:
        try:
            found = choice.answer(base_file, data, say=lambda text: status.update(label=text))
        except ScenarioError as e:
            for p in choice.problems_of(e):
                st.error(logic.plain(p))
            st.stop()
        except Exception as e:  # a one-line message, never a traceback
            st.error(logic.plain(f"The choice could not run: {type(e).__name__}: {e}"))
            st.stop()
        status.update(label=f"{found.runs} runs in {found.seconds:.0f} s", state="complete")
    st.session_state["choice"] = (found, choice.question_yaml(data, base_file))
    st.session_state["scroll_to_choice"] = True

if "choice" in st.session_state:
    found, text = st.session_state["choice"]
    answer_heading("6. The answer", "the-choice", "scroll_to_choice")
    for i, sentence in enumerate(found.sentences):
        st.write(("**" + logic.plain(sentence) + "**") if i == 0 else logic.plain(sentence))
    st.dataframe(found.finalists, hide_index=True, width="stretch")
    for title, png in found.plots:
        st.subheader(title)
        st.image(png)
    st.download_button("The full answer (HTML)", found.report, file_name="choice.html",
                       mime="text/html", key="choose-report")
    st.download_button("The question (YAML, for gpsim choose)", text,
                       file_name="question.yaml", mime="text/yaml", key="choose-yaml")
