"""archspec benchmarks: ``python benchmarks/run.py [--quick] [--only SECTION ...] [--markdown FILE] [--readme]``.

Every comparison is measured in the same run, interleaved (see ``benchmarks/common.py``), and
reported as medians. Prints markdown tables; writes every sample to ``benchmarks/results/*.json``.
``--readme`` rewrites the README's performance table and the top of ``benchmarks/RESULTS.md`` from this
one run (the table's header names the command, ``--quick``/``--only`` included), so no number there is
older than the code measured.

Sections: cli (validate vs ``import tensorflow``: the zoo, the zoo doubled, 1,000 files), startup (modules
each subcommand imports), frontend (load+validate+expand per zoo spec), scaling (1k/10k/100k-layer ResNets),
build (``archspec.build`` vs ``keras.applications``), cold (a fresh process's first build on each Keras
backend), inference (throughput of both models), weights (``build(weights=)`` vs
``keras.applications.X(weights=path)``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python benchmarks/run.py` from anywhere
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.common import (  # noqa: E402
    QUIET_ENV, REPO, Row, archspec_command, fmt_value, interleave, markdown_table, median, run_process,
    summary_table, write_bytecode,
)
from benchmarks.synthetic import deep_resnet, write_spec_tree  # noqa: E402

SECTIONS = ("cli", "startup", "frontend", "scaling", "build", "cold", "inference", "weights")
README_BEGIN = "<!-- benchmarks:begin (written by `python benchmarks/run.py --readme`; do not edit) -->"
README_END = "<!-- benchmarks:end -->"
# zoo spec -> keras.applications constructor that builds the same network
REFERENCES = {"resnet50": "ResNet50", "densenet121": "DenseNet121", "inception_resnet_v2": "InceptionResNetV2",
              "vgg16": "VGG16", "inception_v3": "InceptionV3", "xception": "Xception", "mobilenet": "MobileNet",
              "mobilenet_v2": "MobileNetV2", "mobilenet_v3_small": "MobileNetV3Small",
              "efficientnet_b0": "EfficientNetB0", "efficientnet_v2_b0": "EfficientNetV2B0",
              "nasnet_mobile": "NASNetMobile", "convnext_tiny": "ConvNeXtTiny"}


class Bench:
    def __init__(self, quick: bool):
        self.quick = quick
        self.rows: list[Row] = []
        self.tables: list[tuple[str, str]] = []  # (title, markdown)
        self.raw: dict[str, Any] = {}

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    # ------------------------------------------------------------------------------------------- cli
    def cli(self) -> None:
        """Whole-process CI validation against whole-process ``import tensorflow``."""
        archspec = archspec_command()
        py = sys.executable
        cases = {
            "archspec validate specs/": run_process([*archspec, "validate", "-q", "specs"]),
            "python -c 'import tensorflow'": run_process([py, "-c", "import tensorflow"]),
            "python -c pass": run_process([py, "-c", "pass"]),
        }
        zoo = sorted((REPO / "specs").rglob("*.yaml"))
        with tempfile.TemporaryDirectory() as tmp:
            for copy in ("a", "b"):  # the zoo twice over: per-file cost must not grow with the zoo
                shutil.copytree(REPO / "specs", Path(tmp) / copy)
            cases["archspec validate (the zoo twice)"] = run_process([*archspec, "validate", "-q", tmp])
            s = interleave(cases, self.n(9, 3), warmup=1)
        self.raw["cli"] = {"command": archspec, "samples": s, "files": len(zoo)}
        val, tf, floor, doubled = (median(s[k]) for k in cases)
        self.rows.append(Row("cli", f"`archspec validate specs/` ({len(zoo)} files, whole process)", val, tf,
                             "`import tensorflow`", "<= 0.10x", val / tf <= 0.10,
                             note=f"(interpreter start alone: {fmt_value(floor, 's')})"))
        per_file, per_file_doubled = (val - floor) / len(zoo), (doubled - floor) / (2 * len(zoo))
        self.rows.append(Row("cli", f"per-file cost with the zoo doubled ({2 * len(zoo)} files, one call)",
                             per_file_doubled, per_file, f"per file of `specs/`", "flat (<= 1.1x)",
                             per_file_doubled <= 1.1 * per_file, note="(interpreter start subtracted)"))

        count = self.n(1000, 200)
        with tempfile.TemporaryDirectory() as tmp:
            files = write_spec_tree(Path(tmp), count)
            many = {"validate many": run_process([*archspec, "validate", "-q", tmp]),
                    "import tensorflow": cases["python -c 'import tensorflow'"]}
            m = interleave(many, self.n(3, 1))
        self.raw["cli_many"] = {"files": len(files), "samples": m}
        t_many, t_tf = median(m["validate many"]), median(m["import tensorflow"])
        self.rows.append(Row("cli", f"`archspec validate` on {len(files)} spec files, one call", t_many, t_tf,
                             "`import tensorflow`", "", None,
                             note=f"{t_many / len(files) * 1e3:.1f} ms/file"))

    # --------------------------------------------------------------------------------------- startup
    def startup(self) -> None:
        """Which heavy packages each CLI subcommand imports, and the in-process import cost."""
        probe = ("import sys, time, contextlib, io; t = time.perf_counter(); from archspec.cli import main\n"
                 "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
                 "    try: main(sys.argv[1:])\n    except SystemExit: pass\n"
                 "heavy = ('tensorflow', 'keras', 'networkx', 'jsonschema', 'yaml', 'h5py', 'numpy')\n"
                 "print(round(time.perf_counter() - t, 4), ' '.join(h for h in heavy if h in sys.modules))")
        import subprocess

        body = []
        runs = {"validate": ["validate", "-q", "specs"], "schema": ["schema"], "list": ["list"],
                "--version": ["--version"]}
        self.raw["startup"] = {}
        for name, argv in runs.items():
            times, mods = [], ""
            for _ in range(self.n(5, 2)):
                out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                                     env=QUIET_ENV, cwd=REPO).stdout.split(maxsplit=1)
                times.append(float(out[0]))
                mods = out[1].strip() if len(out) > 1 else ""
            self.raw["startup"][name] = {"seconds": times, "modules": mods}
            body.append([f"`archspec {' '.join(argv)}`", fmt_value(median(times), "s"), mods or "-"])
        self.tables.append(("CLI start-up: in-process time from `import archspec.cli` to exit, heavy packages "
                            "loaded", markdown_table(["command", "time", "packages imported"], body)))

    # -------------------------------------------------------------------------------------- frontend
    def frontend(self) -> None:
        """In-process load (YAML + schema + imports/extends) and expansion of every zoo spec."""
        from archspec.api import load_spec
        from archspec.graph.builder import BuildOptions, expand, gc_paused
        from archspec.lang.compose import SpecCache
        from archspec.lang.sources import bundled_dir, bundled_names

        body = []
        self.raw["frontend"] = {}
        for name in bundled_names():
            path = bundled_dir() / f"{name}.yaml"
            loads, expands = [], []
            load_spec(path)  # compiled schema validator, parsed expressions: process-wide caches
            for _ in range(self.n(21, 5)):
                t0 = time.perf_counter()
                spec = load_spec(path, cache=SpecCache())
                t1 = time.perf_counter()
                with gc_paused():  # as the CLI expands
                    graph = expand(spec, BuildOptions())
                t2 = time.perf_counter()
                loads.append(t1 - t0)
                expands.append(t2 - t1)
            total = [a + b for a, b in zip(loads, expands)]
            layers = len(graph)
            self.raw["frontend"][name] = {"layers": layers, "load": loads, "expand": expands}
            body.append([name, str(layers), fmt_value(median(loads), "s"), fmt_value(median(expands), "s"),
                         fmt_value(median(total), "s"), f"{median(expands) / layers * 1e6:.0f}"])
            if name == "resnet152":
                self.rows.append(Row("frontend", "ResNet-152 load + validate + expand (in process)", median(total),
                                     target="< 30 ms", met=median(total) < 0.030,
                                     note=f"({layers} layers)"))
        self.tables.append(("Front end, per zoo spec (in process, medians; load = read + YAML + schema + "
                            "imports/extends, fresh cache)",
                            markdown_table(["spec", "layers", "load", "expand", "total", "expand µs/layer"], body)))

    # --------------------------------------------------------------------------------------- scaling
    def scaling(self) -> None:
        """Deep ResNets (conv4 repeated) at 1k, 10k and 100k layers: time per layer should stay flat."""
        import gc

        from archspec.api import load_spec, validate
        from archspec.graph.builder import BuildOptions, expand, gc_paused

        sizes = (1_000, 10_000) if self.quick else (1_000, 10_000, 100_000)
        body, per_layer = [], {}
        self.raw["scaling"] = {}
        for size in sizes:
            source, overrides, limits, expected = deep_resnet(size)
            reps = self.n(7 if size < 100_000 else 3, 3)
            spec = load_spec(source, overrides, limits)

            def run_expand() -> None:
                with gc_paused():  # as the CLI expands
                    graph = expand(spec, BuildOptions(), limits)
                assert len(graph) == expected

            def run_validate() -> None:
                assert validate(source, overrides, limits) == []

            s = interleave({"expand": run_expand, "validate": run_validate}, reps)
            gc.collect()
            tracemalloc.start()
            expand(spec, BuildOptions(), limits)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            t_exp, t_val = median(s["expand"]), median(s["validate"])
            per_layer[size] = t_val / expected
            self.raw["scaling"][size] = {"layers": expected, **s, "tracemalloc_peak": peak}
            body.append([f"{expected:,}", fmt_value(t_exp, "s"), f"{t_exp / expected * 1e6:.1f}",
                         fmt_value(t_val, "s"), f"{t_val / expected * 1e6:.1f}", f"{peak / 2**20:.1f}",
                         f"{peak / expected / 1024:.2f}"])
            if size == 10_000:
                self.rows.append(Row("scaling", f"validate a {expected:,}-layer spec (in process)", t_val,
                                     target="< 0.5 s", met=t_val < 0.5))
        if len(per_layer) > 1:
            lo, hi = min(sizes), max(sizes)
            growth = per_layer[hi] / per_layer[lo]
            self.rows.append(Row("scaling", f"validate time per layer, {hi // 1000}k vs {lo // 1000}k layers",
                                 per_layer[hi], per_layer[lo], f"at {lo // 1000}k", "<= 1.5x", growth <= 1.5))
        self.tables.append(("Scaling: ResNet-50 with conv4 repeated (`--set stages.conv4.repeat=N`), medians; "
                            "validate = load + schema + override + expand; memory = tracemalloc peak of expand",
                            markdown_table(["layers", "expand", "µs/layer", "validate", "µs/layer", "peak MiB",
                                            "KiB/layer"], body)))

    # ----------------------------------------------------------------------------------------- keras
    def _pairs(self) -> list[tuple[str, Callable[..., Any]]]:
        import keras

        from archspec.lang.sources import bundled_names

        have = set(bundled_names())
        missing = [s for s in REFERENCES if s not in have]
        if missing:
            self.raw.setdefault("missing_specs", missing)
        return [(s, getattr(keras.applications, REFERENCES[s])) for s in REFERENCES if s in have]

    def build(self) -> None:
        """``archspec.build(spec)`` vs the keras.applications constructor, random weights both."""
        import keras

        import archspec

        self.raw["build"] = {}
        for spec, ctor in self._pairs():
            keras.backend.clear_session()  # keras's auto-names count per session: compare both from zero
            ours = archspec.build(spec)
            keras.backend.clear_session()
            ref = ctor(weights=None)
            weighted = [[layer.name for layer in m.layers if layer.weights] for m in (ours, ref)]
            same = weighted[0] == weighted[1] and ours.count_params() == ref.count_params()
            del ours, ref
            s = interleave({"archspec": lambda: archspec.build(spec), "keras": lambda: ctor(weights=None)},
                           self.n(7, 2), before=keras.backend.clear_session)
            self.raw["build"][spec] = {**s, "same_layers_and_params": same}
            a, k = median(s["archspec"]), median(s["keras"])
            self.rows.append(Row("build", f"`archspec.build('{spec}')`", a, k,
                                 f"`keras.applications.{ctor.__name__}()`", "<= 1.05x", a / k <= 1.05,
                                 note="" if same else "(weighted layers/params DIFFER)"))
        self._note_missing("build")

    def cold(self) -> None:
        """A fresh process's first ``archspec.build('resnet50')`` (``import archspec`` and the spec compile
        included) vs its first ``keras.applications.ResNet50()``, on each Keras backend (benchmarks/backends.py)."""
        from benchmarks.backends import BACKENDS, CASES, COLLECTOR, timings

        raw = timings(self.n(5, 2))
        self.raw["cold"] = raw
        for backend in BACKENDS:
            for collector in COLLECTOR:
                how = f", `{COLLECTOR[collector]}` after `import keras` in both" if COLLECTOR[collector] else ""
                samples = [raw[f"{backend} {case}{collector}"] for case in CASES]  # archspec, keras.applications
                ours, ref = (median([t[1] for t in s]) for s in samples)
                full = [sum(t[2] for t in s) for s in samples]
                self.rows.append(Row("cold", f"fresh process, first `archspec.build('resnet50')`, {backend} "
                                     f"backend{how}",
                                     ours, ref, "first `ResNet50()`", "<= 1.0x", ours <= ref,
                                     note=f"(full collections in the build: {full[0]} vs {full[1]} in all samples)"))

    def inference(self) -> None:
        """Throughput of the emitted model vs the reference, same weights, same batch."""
        import keras
        import numpy as np

        import archspec

        batch = 8
        self.raw["inference"] = {}
        for spec, ctor in self._pairs():
            keras.backend.clear_session()
            ref, ours = ctor(weights=None), archspec.build(spec)
            x = np.random.default_rng(0).uniform(0, 255, (batch, *ref.input_shape[1:])).astype("float32")
            for layer in ref.layers:
                if layer.weights:
                    ours.get_layer(layer.name).set_weights(layer.get_weights())
            diff = float(np.max(np.abs(ours.predict_on_batch(x) - ref.predict_on_batch(x))))
            s = interleave({"archspec": lambda: ours.predict_on_batch(x), "keras": lambda: ref.predict_on_batch(x)},
                           self.n(21, 4), warmup=2)
            self.raw["inference"][spec] = {**s, "batch": batch, "max_abs_diff": diff}
            a, k = batch / median(s["archspec"]), batch / median(s["keras"])
            self.rows.append(Row("inference", f"{spec} inference, batch {batch} (img/s)", a, k,
                                 "keras.applications", "within ±3%", abs(a / k - 1) <= 0.03, unit="img/s",
                                 note=f"(max abs output diff {diff:.1e})"))
            del ours, ref
        self._note_missing("inference")

    def weights(self) -> None:
        """``archspec.build(spec, weights=f)`` vs ``keras.applications.X(weights=f)`` on the same .h5."""
        import h5py
        import keras
        import numpy as np
        from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

        import archspec

        self.raw["weights"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for spec, ctor in self._pairs()[:1 if self.quick else None]:
                path = str(Path(tmp) / f"{spec}.h5")
                ref = ctor(weights=None)
                with h5py.File(path, "w") as fh:
                    save_weights_to_hdf5_group(fh, ref)
                x = np.random.default_rng(0).uniform(0, 255, (2, *ref.input_shape[1:])).astype("float32")
                del ref
                keras.backend.clear_session()
                diff = float(np.max(np.abs(archspec.build(spec, weights=path).predict_on_batch(x)
                                           - ctor(weights=path).predict_on_batch(x))))
                s = interleave({"archspec": lambda: archspec.build(spec, weights=path),
                                "keras": lambda: ctor(weights=path)},
                               self.n(5, 2), before=keras.backend.clear_session)
                self.raw["weights"][spec] = {**s, "max_abs_diff": diff}
                a, k = median(s["archspec"]), median(s["keras"])
                self.rows.append(Row("weights", f"`archspec.build('{spec}', weights=f)`", a, k,
                                     f"`{ctor.__name__}(weights=f)`", "< 1x (stretch)", a < k,
                                     note=f"(outputs identical: {diff == 0.0})"))

    def _note_missing(self, section: str) -> None:
        for spec in self.raw.get("missing_specs", []):
            self.rows.append(Row(section, f"{spec}: no spec in the zoo yet, not measured", None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 200 files, no 100k-layer spec")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite README.md's performance table and benchmarks/RESULTS.md from this run "
                             "(its header names the command: --quick and --only included)")
    args = parser.parse_args(argv)

    bench = Bench(args.quick)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_bytecode()
    for section in args.only or SECTIONS:
        t0 = time.perf_counter()
        print(f"[{section}] ...", file=sys.stderr, flush=True)
        getattr(bench, section)()
        print(f"[{section}] {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + (
        f" --only {' '.join(args.only)}" if args.only else "")
    header = (f"`{command}` on {platform.node() or 'this machine'}: {os.cpu_count()} CPUs, Python "
              f"{platform.python_version()}, {_versions()}, {started}. Medians of interleaved runs.")
    parts = [header, "", summary_table(bench.rows)]
    for title, table in bench.tables:
        parts += ["", f"**{title}**", "", table]
    text = "\n".join(parts) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.readme:
        write_readme(REPO / "README.md", "\n".join([header, "", summary_table(bench.rows)]))
        results = REPO / "benchmarks" / "RESULTS.md"  # this run's output, then the dated sections after it
        rest = results.read_text(encoding="utf-8").partition("\n## ")
        results.write_text(text + (f"\n## {rest[2]}" if rest[1] else ""), encoding="utf-8")
    out = REPO / "benchmarks" / "results" / f"run-{started.replace(':', '')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"command": command, "started": started, "quick": args.quick,
                               "rows": [{**r.__dict__, "ratio": r.ratio} for r in bench.rows],
                               "raw": bench.raw}, indent=1, default=str), encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)}", file=sys.stderr)
    return 0


def write_readme(path: Path, table: str) -> None:
    """Replace what stands between the README's benchmark markers with ``table``."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
    path.write_text(text[:start] + "\n" + table + "\n" + text[end:], encoding="utf-8")


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("tensorflow", "keras", "networkx", "jsonschema", "PyYAML"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
