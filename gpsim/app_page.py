"""What both of the app's pages do on the page itself (Streamlit calls)."""

from __future__ import annotations

import streamlit as st


def scroll_to(anchor: str) -> None:
    """Bring the heading ``anchor`` into view (after a run, the page would stay at the button)."""
    try:
        st.html("<script>setTimeout(() => window.parent.document.getElementById("
                f"'{anchor}')?.scrollIntoView({{behavior: 'smooth'}}), 300);</script>",
                unsafe_allow_javascript=True)
    except TypeError:  # a Streamlit without it: the answer is still there below
        pass


def answer_heading(title: str, anchor: str, flag: str) -> None:
    """The answer's heading; brought into view once, just after the run that set ``flag``."""
    st.header(title, anchor=anchor)
    if st.session_state.pop(flag, False):
        scroll_to(anchor)


def pick_practice(root, *, own_file: bool, key: str | None = None):
    """The practice to start from: ``(scenario, its file)``; the page stops until there is one.

    The default practice, a shipped scenario, a scenario file of one's own
    (``own_file``: uploaded, so it has no file here) or a calibrated practice on
    this computer. Problems are shown in one line each, never as a traceback.
    ``key`` keeps one page's widgets apart from another's.
    """
    from gpsim import app_logic as logic
    from sim import load_scenario

    def k(name: str) -> str | None:
        return f"{key}-{name}" if key else None

    sources = ["The default practice", "A shipped scenario"]
    sources += ["A scenario file of my own"] if own_file else []
    sources += ["A calibrated practice on this computer"]
    source = st.radio("Start from", sources, horizontal=True, key=k("source"))
    base, file, problems = None, None, []
    try:
        if source == "The default practice":
            file = root / "scenarios" / "default.yaml"
            base = load_scenario(file)
        elif source == "A shipped scenario":
            shipped = logic.shipped_scenarios(root)
            file = shipped[st.selectbox("Scenario", list(shipped), key=k("shipped"))]
            base = load_scenario(file)
        elif source == "A scenario file of my own":
            upload = st.file_uploader("Scenario file (YAML, up to 1 MB)", type=["yaml", "yml"],
                                      key=k("upload"))
            if upload is not None:
                base, problems = logic.read_upload(upload.name, upload.getvalue())
        else:
            where = st.text_input("The scenario `gpsim calibrate` wrote (its list and history "
                                  "are read from beside it)", key=k("local"),
                                  placeholder="/path/to/my_practice.yaml")
            if where:
                base, problems = logic.read_local(where)
                file = where.strip()
    except Exception as e:  # a one-line message, never a traceback
        base, problems = None, [f"unexpected {type(e).__name__}: {e}"]
    for p in problems:
        st.error(logic.plain(p))
    if base is None:
        st.stop()
    return base, file
