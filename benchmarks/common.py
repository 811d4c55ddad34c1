"""Timing helpers shared by the benchmark sections.

Why interleaving: the machine is noisy (2 shared cores), so comparing a block of archspec runs with a
later block of reference runs mostly measures drift. Every round runs each case once, alternating the
order, and we report medians of the per-round samples.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
# Timed processes use bytecode (PYTHONDONTWRITEBYTECODE dropped; write_bytecode), as an installed package does:
# pip compiles every module at install time. Under PYTHONDONTWRITEBYTECODE=1 a checkout's processes compiled all
# of archspec's modules from source each time (about 130 ms of a cold start on the VM), and none of TensorFlow's.
QUIET_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
             "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def write_bytecode() -> None:
    """Compile archspec's modules, as pip does at install time, before any timed process imports them."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "archspec")], check=True, env=QUIET_ENV,
                   stdout=subprocess.DEVNULL)


def interleave(cases: dict[str, Callable[[], Any]], repeats: int, warmup: int = 0,
               before: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Seconds per call for each case, over ``repeats`` rounds that alternate the order of the cases."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            if before:
                before()
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            if before:
                before()
            gc.collect()
            t0 = time.perf_counter()
            cases[name]()
            samples[name].append(time.perf_counter() - t0)
    return samples


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def run_process(argv: list[str], check: bool = True) -> Callable[[], None]:
    """A callable that runs ``argv`` to completion with output discarded (for :func:`interleave`)."""

    def call() -> None:
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=QUIET_ENV, cwd=REPO)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")

    return call


def archspec_command() -> list[str]:
    """The installed ``archspec`` console script itself (not a pyenv/asdf shim, which adds a shell)."""
    script = Path(sysconfig.get_path("scripts")) / "archspec"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "archspec"]


@dataclass
class Row:
    """One line of the summary table: archspec vs a reference measured in the same run."""

    section: str
    what: str
    archspec: float | None  # seconds (or the unit named in ``unit``)
    reference: float | None = None
    reference_what: str = ""
    target: str = ""
    met: bool | None = None
    unit: str = "s"
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.archspec is None or not self.reference:
            return None
        return self.archspec / self.reference


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        if value >= 1e-3:
            return f"{value * 1e3:.1f} ms"
        return f"{value * 1e6:.0f} µs"
    if unit == "img/s":
        return f"{value:.1f} img/s"
    return f"{value:.3g} {unit}"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def summary_table(rows: list[Row]) -> str:
    body = []
    for r in rows:
        status = "" if r.met is None else ("met" if r.met else "**missed**")
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}x"
        body.append([r.what, fmt_value(r.archspec, r.unit),
                     f"{fmt_value(r.reference, r.unit)}" + (f" ({r.reference_what})" if r.reference_what else ""),
                     ratio, r.target, status + (f" {r.note}" if r.note else "")])
    return markdown_table(["benchmark", "archspec", "reference", "ratio", "target", "status"], body)
