"""The worked notebook (examples/compare_from_python.ipynb) runs from top to bottom.

Its code cells are run in order in one fresh Python process, in an empty
folder (so its results go there), as a kernel would run them; a cell that
fails fails the test with the cell's number.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from conftest import ROOT

NOTEBOOK = ROOT / "examples" / "compare_from_python.ipynb"


def test_the_notebook_runs_and_draws_its_plot(tmp_path):
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] for c in nb["cells"] if c["cell_type"] == "code"), \
        "commit the notebook without outputs"
    script = ["import matplotlib", "matplotlib.use('Agg')"]
    for i, cell in enumerate(cells):
        script.append(f"print('--- cell {i}', flush=True)")
        script.append(f"exec(compile({cell!r}, 'cell {i}', 'exec'))")
    p = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    out = tmp_path / "results" / "notebook_comparison"
    assert (out.parent / "my_slicc_plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["scenario"]) == {"access_first", "usual_gp_first"}
    # Run again, as a user re-running the notebook would: the folder is the tool's own.
    again = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-4000:]
