"""`make bench`: every scenario, ours against its baseline side by side.

    python -m bench [--scenario NAME]... [--smoke] [--rounds N] [--output bench-results.json]

Figures are printed and written to the output file; nothing is asserted.
`--smoke` runs every scenario at 1/100 of its size (what `make test` runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.measure import BenchError, commit, machine, write_results
from bench.scenarios import SCENARIOS, Bench


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only these (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="every size divided by 100")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of the short scenarios (median)")
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    bench = Bench(scale=0.01 if args.smoke else 1.0, rounds=1 if args.smoke else max(1, args.rounds), results=[])
    about = machine()
    print(f"harvest bench at {commit()} on {about['cpus']} CPUs, {about['memory_gib']} GiB, Python {about['python']}")
    print(f"  {'figure':<44} {'ours':>10} {'unit':<10} {'ratio':>9}  baseline")
    started = time.perf_counter()
    try:
        for name in names:
            print(f"{name}:", flush=True)
            SCENARIOS[name](bench)
    except BenchError as e:
        print(f"bench stopped: {e}", file=sys.stderr)
        return 1
    finally:
        write_results(args.output, bench.results)
    print(f"{len(bench.results)} figures in {time.perf_counter() - started:.0f} s, written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
