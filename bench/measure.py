"""Running one process and measuring it: wall time, peak resident memory, output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    output: str


class BenchError(Exception):
    """A run failed: the bench says which and why, and stops."""


def run(argv: list[str], env: Mapping[str, str], *, keep_output: bool = True) -> Run:
    """Runs argv as a child of a small wrapper process, so the peak memory read
    is the child's alone; its output goes to a file (a 100 MB `records --json`
    must not sit in this process)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *argv], env=dict(env), stdout=out, stderr=err, cwd=ROOT, check=False
        )
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").rstrip().split("\n")
        peak_kib, message = int(lines[-1]), "\n".join(lines[:-1])
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv[2:6])} failed ({done.returncode}): {message[-600:]}")
        out.seek(0)
        output = out.read().decode("utf-8", "replace") if keep_output else ""
    return Run(seconds, peak_kib / 1024, output)


_WRAPPER = (
    "import resource, subprocess, sys;"
    "r = subprocess.run(sys.argv[1:]);"
    "sys.stderr.flush();"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
    "sys.exit(r.returncode)"
)


def harvest(env: Mapping[str, str], *args: str, keep_output: bool = True) -> Run:
    return run([sys.executable, "-m", "harvesting.cli", *args], env, keep_output=keep_output)


def baseline(env: Mapping[str, str], *args: str) -> Run:
    return run([sys.executable, "-m", "bench.baselines", *args], env)


def last_json(output: str) -> Any:
    return json.loads(output.strip().split("\n")[-1])


def alternate(rounds: int, ours: Callable[[], float], theirs: Callable[[], float]) -> tuple[float, float]:
    """Medians of `rounds` runs of each, taken in turns, so a noisy moment of
    the machine falls on both sides alike."""
    mine: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        mine.append(ours())
        base.append(theirs())
    return statistics.median(mine), statistics.median(base)


@dataclass(frozen=True)
class Result:
    scenario: str
    figure: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    ratio: float | None  # value / baseline
    note: str = ""

    def line(self) -> str:
        base = "" if self.baseline is None else f"{self.baseline:>10.2f} {self.unit:<10} ({self.baseline_label})"
        ratio = "" if self.ratio is None else f"{self.ratio:>8.2f}x"
        return f"  {self.figure:<44} {self.value:>10.2f} {self.unit:<10} {ratio:>9}  {base}"


def machine() -> dict[str, Any]:
    return {
        "node": platform.node(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
    }


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def write_results(path: Path, results: list[Result]) -> None:
    where, rev = machine(), commit()
    rows = [{**asdict(r), "machine": where, "commit": rev} for r in results]
    path.write_text(json.dumps(rows, indent=2) + "\n")
