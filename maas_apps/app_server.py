"""The server ``maas app`` becomes: Streamlit in this process, with the area loaded while it starts.

    python -m maas_apps.app_server run app.py [Streamlit options]

Loading the area, the planner and the place index takes a few seconds; done in a thread while the
server starts, the first rider's page does not wait for it (the sessions' cached loader finds it
ready, or waits for the load in progress rather than starting another).
"""

from __future__ import annotations

import sys
import threading


def main() -> None:
    """Start the preload thread, then run Streamlit's command line with this process's arguments."""
    from maas_apps.app_resources import preload

    threading.Thread(target=preload, name="maas-preload", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
