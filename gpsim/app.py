"""The web app (Streamlit): compare booking approaches, or get help choosing one.

Started by ``gpsim app`` (or ``python run.py app``), which serves it on
127.0.0.1 only; nothing leaves the machine. Two pages: the comparison
(:mod:`gpsim.app_compare`) and "help me choose" (:mod:`gpsim.app_choose`, the
same question as ``gpsim choose`` in forms).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
st.set_page_config(page_title="Continuity of care: booking approaches", layout="wide")
page = st.navigation([
    st.Page(HERE / "app_compare.py", title="Compare approaches", default=True),
    st.Page(HERE / "app_choose.py", title="Help me choose", url_path="choose"),
], position="top")
page.run()
