"""Real geospatial servers on 127.0.0.1 for the harvester's interop tests.

`make interop` installs them (apt for MapServer, separate venvs under
`.interop/venvs/` for the Python servers, npm under `.interop/koop/` for Koop),
starts each with data this package ships, harvests them through the `harvest`
CLI (tests/interop/) and stops them.

    python -m interop install     # install everything, print timings
    python -m interop serve       # start every server, print the URLs, wait for Ctrl-C
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
DATA = PACKAGE / "data"
