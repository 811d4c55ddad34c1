"""Per Keras backend: `import keras` time, ResNet-50 build time, and the install size of each backend's extra.

    python benchmarks/backends.py [--repeats N] [--markdown FILE]

Times: every sample is a fresh process with ``KERAS_BACKEND`` set (Keras fixes its backend on import), timing
in process ``import keras``, then the first ``archspec.build('resnet50')`` or, as its anchor, the first
``keras.applications.ResNet50(weights=None)`` (both with the top, 224x224, random initial weights). Rounds
alternate the order of the cases; medians are reported. A first build is what a user's process pays: on JAX it
includes compiling one random-number program per weight shape.

Install size: the files each distribution lists in its RECORD (``importlib.metadata``), summed over the
extra's requirement closure as installed here (every ``Requires-Dist`` followed, markers evaluated), split into
the part the three extras share and the part only this backend needs. It is the installed size in this
environment, not a download size; PyPI's Linux x86_64 torch wheel depends on NVIDIA's CUDA libraries, which
count here (CPU-only wheels from PyTorch's own index avoid them and were not measured).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import QUIET_ENV, REPO, fmt_value, markdown_table, median, write_bytecode  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
CASES = {"archspec": "import archspec; archspec.build('resnet50')",
         "keras.applications": "keras.applications.ResNet50(weights=None)"}
CHILD = """
import gc, sys, time
t0 = time.perf_counter()
import keras
{freeze}
full = []  # full (generation 2) collections during the build: each traverses everything the process holds
gc.callbacks.append(lambda phase, info: full.append(1) if phase == "start" and info["generation"] == 2 else None)
t1 = time.perf_counter()
{build}
t2 = time.perf_counter()
assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
print(t1 - t0, t2 - t1, len(full))
"""
# The cyclic collector's full collections are triggered by how many objects the process has kept since the last one
# (a quarter of those it held then): after `import torch` one costs ~0.3 s, and whether it falls inside the first
# build depends on everything the process did before. 'frozen' samples call gc.freeze() after `import keras` in
# both cases, so that chance is the same for both; the plain samples are what a user's process pays.
COLLECTOR = {"": "", " frozen": "gc.freeze()"}


def sample(backend: str, case: str, collector: str = "") -> tuple[float, float, int]:
    """(import keras, first build) seconds in a fresh process on ``backend``, and the full collections in the build."""
    code = CHILD.format(build=CASES[case], freeze=COLLECTOR[collector])
    proc = subprocess.run([sys.executable, "-c", code, backend], capture_output=True,
                          text=True, env={**QUIET_ENV, "KERAS_BACKEND": backend}, cwd=REPO)
    if proc.returncode:
        raise RuntimeError(f"{backend} {case}{collector}: {proc.stderr[-2000:]}")
    first, second, full = proc.stdout.split()[-3:]
    return float(first), float(second), int(full)


def timings(repeats: int) -> dict:
    """Samples keyed '<backend> <case>' and '<backend> <case> frozen' (see COLLECTOR), rounds interleaved."""
    write_bytecode()
    keys = [(b, c, g) for b in BACKENDS for c in CASES for g in COLLECTOR]
    raw: dict = {f"{b} {c}{g}": [] for b, c, g in keys}
    for r in range(repeats):
        for b, c, g in (keys if r % 2 == 0 else keys[::-1]):
            raw[f"{b} {c}{g}"].append(sample(b, c, g))
            print(f"round {r + 1}: {b} {c}{g} {raw[f'{b} {c}{g}'][-1]}", file=sys.stderr, flush=True)
    return raw


# ------------------------------------------------------------------------------------------------ size
def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    """(name, extras) of the distribution's requirements that apply here, markers evaluated for ``extras``."""
    return _applicable(dist.requires or [], extras)


def _applicable(texts: list[str], extras: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    from packaging.requirements import Requirement

    out = []
    for text in texts:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            out.append((req.name.lower().replace("_", "-"), frozenset(req.extras)))
    return out


def closure(extra: str) -> set[str]:
    """Installed distributions ``archspec-cnn[extra]`` needs (as pyproject.toml lists it), following the
    requirements' own extras (torch needs ``cuda-toolkit[cublas,...]``); archspec's base dependencies and
    their closure excluded."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = _walk(_applicable(project["dependencies"], frozenset()), set())
    return _walk(_applicable(project["optional-dependencies"][extra], frozenset()), base)


def _walk(todo: list[tuple[str, frozenset[str]]], skip: set[str]) -> set[str]:
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name in skip:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        names.add(name)
        todo += _requirements(dist, extras)
    return names


def installed_bytes(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total


def sizes() -> dict:
    closures = {b: closure(b) for b in BACKENDS}
    shared = set.intersection(*closures.values())
    size = {n: installed_bytes(n) for n in set.union(*closures.values())}
    return {b: {"total": sum(size[n] for n in c), "own": sum(size[n] for n in c - shared),
                "shared": sum(size[n] for n in c & shared), "packages": len(c),
                "largest": sorted(((size[n], n) for n in c - shared), reverse=True)[:3],
                "gpu_libraries": sum(size[n] for n in c if n.startswith(("nvidia-", "cuda-", "triton")))}
            for b, c in closures.items()}


def report(raw: dict, size: dict) -> str:
    mib = 1024 * 1024
    anchor = median([s[0] for s in raw["tensorflow archspec"] + raw["tensorflow keras.applications"]])
    rows = []
    for b in BACKENDS:
        imports = median([s[0] for c in CASES for s in raw[f"{b} {c}"]])
        ours, ref = (median([s[1] for s in raw[f"{b} {c}"]]) for c in CASES)
        largest = ", ".join(f"{n} {v / mib:,.0f}" for v, n in size[b]["largest"])
        if size[b]["gpu_libraries"]:
            largest += f"; CUDA libraries and triton {size[b]['gpu_libraries'] / mib:,.0f} in all"
        rows.append([f"`{b}`", fmt_value(imports, "s"), f"{imports / anchor:.2f}x", fmt_value(ours, "s"),
                     fmt_value(ref, "s"), f"{ours / ref:.3f}x", f"{size[b]['total'] / mib:,.0f} MiB",
                     f"{size[b]['own'] / mib:,.0f} MiB ({largest})"])
    return markdown_table(["backend (extra)", "`import keras`", "vs tensorflow", "`archspec.build('resnet50')`",
                           "`ResNet50(weights=None)`", "ratio", "install (closure)", "only this backend (largest, MiB)"],
                          rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the twelve fresh processes")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    raw, size = timings(args.repeats), sizes()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("keras", "tensorflow", "jax", "jaxlib", "torch"))
    text = (f"`python benchmarks/backends.py --repeats {args.repeats}`, {started}, {versions}. Medians of "
            f"{args.repeats} interleaved rounds of fresh processes; import = `import keras` on that backend "
            f"(vs tensorflow = ratio to TensorFlow's); builds are the process's first, with the top.\n\n"
            + report(raw, size) + "\n")
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    out = REPO / "benchmarks" / "results" / f"backends-{started.replace(':', '')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"started": started, "raw": raw, "sizes": size}, indent=1), encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
