"""Rewrite the stored backtest outputs from the reference desk (see README.md first).

python tests/backtest/regenerate.py            # every case in cases.json
python tests/backtest/regenerate.py NAME ...   # some of them
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent))

from test_engines import backtest_outputs  # noqa: E402


def main(names: list[str]) -> int:
    cases = json.loads((HERE / "cases.json").read_text())
    for name in names or sorted(cases):
        out = backtest_outputs(name, "reference")
        (HERE / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"{name}: event log {out['event_log_sha256'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
