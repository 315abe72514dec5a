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
