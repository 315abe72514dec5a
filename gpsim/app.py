"""The web app (Streamlit): compare booking approaches, or get help choosing one.

Started by ``gpsim app`` (or ``python run.py app``), which serves it on
127.0.0.1 only; nothing leaves the machine. Two pages: the comparison
(:mod:`gpsim.app_compare`) and "help me choose" (:mod:`gpsim.app_choose`, the
same question as ``gpsim choose`` in forms).
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

import streamlit as st

# Streamlit runs this file as a "__main__" module it makes up, with this file's
# path. A worker that multiprocessing starts afresh (the comparisons' workers come
# from a fork server, beside Streamlit's threads) would run it again on that path,
# importing Streamlit and drawing the page in bare mode for nothing (0.5 to 0.8 s a
# worker on a slow two-core machine). A spec named "__main__" tells multiprocessing
# that there is no main module to import again, as for a package's ``__main__``;
# the workers need nothing from here.
__spec__ = importlib.machinery.ModuleSpec("__main__", None)
HERE = Path(__file__).resolve().parent
st.set_page_config(page_title="Continuity of care: booking approaches", layout="wide")
page = st.navigation([
    st.Page(HERE / "app_compare.py", title="Compare approaches", default=True),
    st.Page(HERE / "app_choose.py", title="Help me choose", url_path="choose"),
], position="top")
page.run()
