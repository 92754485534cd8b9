"""`python -m interop install` | `python -m interop serve`."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from interop import install as inst
from interop import servers


def _install() -> int:
    started = time.monotonic()
    try:
        timings = inst.install_all()
    except inst.InstallError as error:
        print(error, file=sys.stderr)
        return 1
    for name, seconds in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<10} {seconds:6.1f} s")
    print(f"interop servers installed in {time.monotonic() - started:.1f} s (state in {inst.state_dir()})")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve() -> int:
    # `timeout` or a service manager ends us with SIGTERM; unwind so every server stops.
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="interop-", dir=inst.state_dir())))
        try:
            mapserver = stack.enter_context(servers.start_mapserver_wms(work / "mapserver"))
            started = [
                mapserver,
                stack.enter_context(servers.start_mapproxy(work / "mapproxy", mapserver.url)),
                stack.enter_context(servers.start_pycsw2(work / "pycsw2")),
                stack.enter_context(servers.start_pycsw3(work / "pycsw3")),
                stack.enter_context(servers.start_rustac(work / "rustac")),
                stack.enter_context(servers.start_koop(work / "koop")),
            ]
        except (servers.ServerStartError, inst.InstallError) as error:
            print(error, file=sys.stderr)
            return 1
        for server in started:
            for endpoint, url in server.endpoints.items():
                print(f"{server.name:<10} {endpoint:<20} {url}")
        print("serving; Ctrl-C stops every server", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop", description=__doc__)
    parser.add_argument("command", choices=("install", "serve"))
    args = parser.parse_args(argv)
    return _install() if args.command == "install" else _serve()


if __name__ == "__main__":
    sys.exit(main())
