"""The web app's server: Streamlit, in a process that ends when ``gpsim app`` ends.

``gpsim app`` starts ``python -m gpsim.app_server`` with Streamlit's own
arguments. This process watches the ``gpsim app`` process that started it
(:func:`sim.processes.end_with_parent`), so killing that one, even with
``kill -9``, stops the server and frees its port within half a second.
"""

from __future__ import annotations

import os
import sys

from sim.processes import end_with_parent

#: The environment variable that names the process to end with.
PARENT = "GPSIM_APP_PARENT_PID"


def main() -> None:
    """Watch the parent, then serve: ``streamlit run`` with this process's arguments."""
    parent = os.environ.get(PARENT)
    if parent and parent.isdigit():
        end_with_parent(int(parent))
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
