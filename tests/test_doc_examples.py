"""Every example in README.md and docs/ is a tested spec or command.

Why: a reader copies what the docs show; an example that drifted from the code teaches something that
fails. Each fenced block carries, on the line before it, an HTML comment saying what it is and so how it
is tested (invisible when the Markdown is rendered):

    <!-- example: KIND; key: yaml-value; ... -->

``spec``      a whole spec file: written to a folder of its own and validated with no error (a network is
              also expanded). ``expect_params: N`` checks the parameter count (a number from the reference).
``excerpt``   a run of whole, consecutive lines of ``file:`` (bundled specs are tested by the zoo), with one
              indentation removed; ``whole: true`` means all of the file less its editor modeline.
``fragment``  YAML that only makes sense inside a file: ``under:`` the keys it is nested in (``[templates,
              t, body]`` for steps), ``with:`` the rest of that file. The completed file is validated and
              a network expanded; ``expect_output: [H, W, C]`` checks its output shape.
``commands``  shell lines: each ``archspec ...`` line runs (in process, from a folder where ``specs/`` is
              this repository's) and exits 0; ``pip install -e '.[X]'`` must name extras pyproject.toml
              has, and ``python -m pytest ...`` must be the command ``.ci/run`` runs.
``output``    what ``command:`` prints (or the block's own ``$ ...`` first line), line by line; a ``...``
              line stands for any number of lines. ``files: {DEST: SOURCE}`` copies files of this repository
              (fixtures in ``tests/doc_fixtures/``) into the folder first; without it, ``specs/`` is the zoo.
``usage``     a synopsis: every subcommand exists and every ``--option`` is in its ``--help``.
``python``    run in the namespace its ``setup:`` builds (``_SETUPS``); ``warns:`` a warning it must give,
              ``expect: {EXPRESSION: VALUE}`` what it must have computed.
``tested-by`` checked by the named test (``test: path::name``), which reads the block through
              :func:`doc_block` so it cannot drift either.
``listing``   not an example (a folder tree); ``why:`` says what it is.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import archspec
from tests.support.paths import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
_MARKER = re.compile(r"<!-- example: ([\w-]+)((?:;[^>]*)?) -->\s*$")
KINDS = {"spec", "excerpt", "fragment", "commands", "output", "usage", "python", "tested-by", "listing"}


@dataclass(frozen=True)
class Block:
    doc: str  # path relative to the repository
    line: int  # of the opening fence
    lang: str
    text: str
    kind: str | None
    args: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _args(raw: str) -> dict[str, Any]:
    args = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        key, _, value = part.partition(":")
        args[key.strip()] = yaml.safe_load(value) if value.strip() else True
    return args


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        found.append(Block(str(path.relative_to(ROOT)), text.count("\n", 0, match.start()) + 1, match.group(1),
                           match.group(2), marker and marker.group(1), _args(marker.group(2)) if marker else {}))
    return found


ALL = [b for doc in DOCS for b in blocks(doc)]


def doc_block(doc: str, contains: str) -> str:
    """The text of the one block of ``doc`` that contains ``contains`` (for ``tested-by`` tests)."""
    (block,) = [b.text for b in ALL if b.doc == doc and contains in b.text]
    return block


def _of(kind: str) -> list[Block]:
    return [b for b in ALL if b.kind == kind]


def _ids(items: list[Block]) -> list[str]:
    return [b.id for b in items]


# ----------------------------------------------------------------------------------------- inventory

def test_every_block_says_what_it_is():
    unmarked = [b.id for b in ALL if b.kind not in KINDS]
    assert not unmarked, f"fenced blocks without a known `<!-- example: KIND -->` marker: {unmarked}"
    assert len(ALL) >= 36 and {"spec", "excerpt", "fragment", "commands", "output", "python"} <= {b.kind for b in ALL}


@pytest.mark.parametrize("block", _of("tested-by"), ids=_ids(_of("tested-by")))
def test_the_named_test_exists_and_reads_the_block(block):
    path, _, name = block.args["test"].partition("::")
    source = (ROOT / path).read_text()
    assert re.search(rf"^def {name}\(", source, re.M), f"{block.id}: no test {block.args['test']}"
    body = source[source.index(f"def {name}("):]
    end = re.search(r"^\S", body.split("\n", 1)[1], re.M)  # the next top-level line ends the function
    body = body if end is None else body[: len(body.split("\n", 1)[0]) + 1 + end.start()]
    assert "doc_block(" in body, f"{block.args['test']} must read the block with doc_block()"


# ------------------------------------------------------------------------------------------- specs

def _validate_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)  # the folder is its own checkout: paths stay inside it
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    errors = [d.format() for d in archspec.validate(path) if d.severity == "error"]
    assert errors == [], "\n".join(errors)
    return path


def _is_network(text: str) -> bool:
    return (yaml.safe_load(text) or {}).get("kind") != "library"


@pytest.mark.parametrize("block", _of("spec"), ids=_ids(_of("spec")))
def test_spec_blocks_validate(block, tmp_path):
    path = _validate_file(tmp_path, block.text)
    if _is_network(block.text):
        graph = archspec.expand(path)
        if "expect_params" in block.args:
            assert sum(d["params"] for d in graph.nodes.values()) == block.args["expect_params"]


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


@pytest.mark.parametrize("block", _of("fragment"), ids=_ids(_of("fragment")))
def test_fragment_blocks_validate_in_their_file(block, tmp_path):
    fragment = yaml.safe_load(block.text)
    for key in reversed(block.args.get("under", [])):
        fragment = {key: fragment}
    text = yaml.safe_dump(_merged({"archspec": 1, **block.args.get("with", {})}, fragment), sort_keys=False)
    path = _validate_file(tmp_path, text)
    if _is_network(text):
        graph = archspec.expand(path)
        if "expect_output" in block.args:
            assert list(graph.nodes[graph.graph["output"]]["shape"]) == block.args["expect_output"]


@pytest.mark.parametrize("block", _of("excerpt"), ids=_ids(_of("excerpt")))
def test_excerpt_blocks_are_runs_of_whole_lines(block):
    lines = (ROOT / block.args["file"]).read_text().splitlines()
    quoted = block.text.splitlines()
    assert quoted and quoted[0].strip() and quoted[-1].strip()
    if block.args.get("whole"):
        assert quoted in (lines, lines[1:]) and lines[0].startswith("# yaml-language-server:")
        return
    shift = len(quoted[0]) - len(quoted[0].lstrip())
    for i in range(len(lines) - len(quoted) + 1):
        cut = len(lines[i]) - len(lines[i].lstrip()) - shift  # the indentation the excerpt leaves out
        if cut >= 0 and [line[cut:] if not line[:cut].strip() else None for line in lines[i: i + len(quoted)]] == quoted:
            return
    pytest.fail(f"{block.id} is not a run of whole lines of {block.args['file']}:\n{block.text}")


# ---------------------------------------------------------------------------------------- commands

@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The folder a command runs in."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _clone(workdir: Path) -> None:
    """``specs/`` is this repository's zoo, as in a clone."""
    (workdir / "specs").symlink_to(ROOT / "specs")


def _run(cli, command: str) -> tuple[int, str]:
    """A documented ``archspec ...`` line run in process: its exit code and everything it printed."""
    argv = shlex.split(command)
    assert argv[0] == "archspec", command
    code, out, err = cli(*argv[1:])
    return code, out + err


def _commands(text: str) -> list[str]:
    lines = [line.split(" #")[0].strip() for line in text.splitlines()]
    return [part.strip() for line in lines if line for part in line.split("&&")]


@pytest.mark.parametrize("block", _of("commands"), ids=_ids(_of("commands")))
def test_command_blocks_run(block, workdir, cli):
    _clone(workdir)
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    ci = (ROOT / ".ci" / "run").read_text()
    for command in _commands(block.text):
        if command.startswith("pip install"):
            named = re.findall(r"\.\[([\w,]+)\]", command)
            assert named and set(",".join(named).split(",")) <= extras, command
        elif command.startswith("python -m pytest"):
            assert re.search(rf"^{re.escape(command)}$", ci, re.M), f"{command!r} is not what .ci/run runs"
        elif command.startswith(("python -m venv", ". ")):
            continue  # the shell's own set-up, run by every user's shell; nothing of archspec's
        else:
            code, out = _run(cli, command)
            assert code == 0, f"{command}: exit {code}\n{out}"


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality where an expected ``...`` line stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(_matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and _matches(expected[1:], actual[1:])


@pytest.mark.parametrize("block", _of("output"), ids=_ids(_of("output")))
def test_output_blocks_are_what_the_command_prints(block, workdir, cli):
    lines = [line.rstrip() for line in block.text.splitlines()]
    command = block.args.get("command")
    if command is None:
        assert lines[0].startswith("$ "), block.id
        command, lines = lines[0][2:], lines[1:]
    files = block.args.get("files", {})
    for dest, source in files.items():  # the user's folder, with files from this repository
        (workdir / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, workdir / dest)
    if not files:
        _clone(workdir)
    code, out = _run(cli, command)
    actual = [line.rstrip() for line in out.splitlines()]
    assert _matches(lines, actual), f"{block.id}: `{command}` (exit {code}) printed:\n" + "\n".join(actual)


@pytest.mark.parametrize("block", _of("usage"), ids=_ids(_of("usage")))
def test_usage_blocks_name_real_commands_and_options(block, cli):
    for line in block.text.splitlines():
        if not line.startswith("archspec "):
            assert not line.strip() or line.startswith(" "), line  # continuation of the previous command
        else:
            command = line.split()[1]
            code, help_text, _ = cli(command, "--help")
            assert code == 0
        for option in re.findall(r"(--[\w-]+)", line.split(" #")[0]):
            assert option in help_text, f"{option} is not an option of `archspec {command}`"


# ------------------------------------------------------------------------------------------ python

@pytest.fixture(scope="module")
def resnet50(tmp_path_factory) -> dict[str, Any]:
    """One seeded keras.applications.ResNet50 and its weights in both Keras formats, for every setup."""
    import keras

    from tests.support.reference import reference_weight_file

    folder = tmp_path_factory.mktemp("resnet50")
    keras.backend.clear_session()
    model = keras.applications.ResNet50(weights=None)
    reference_weight_file(model, folder / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")  # seeds the weights
    model.save_weights(folder / "w.weights.h5")
    return {"model": model, "folder": folder}


def _setup_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resnet50: dict) -> dict[str, Any]:
    """What the README's first Python block names: a spec file of the user's, ResNet-50 weights, images."""
    import numpy as np

    shutil.copy(ROOT / "tests" / "doc_fixtures" / "my_net.yaml", tmp_path / "my_net.yaml")
    (tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5").symlink_to(
        resnet50["folder"] / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    return {"images": np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")}


def _setup_keras_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resnet50: dict) -> dict[str, Any]:
    """What the keras.applications comparison names: an input tensor, a Keras 3 weight file, a 1000-class
    model, images, and a Keras cache holding the class index (so nothing is fetched)."""
    import keras
    import numpy as np

    from tests.support.keras_cache import seed_class_index

    seed_class_index(tmp_path / "keras_home", monkeypatch)
    (tmp_path / "w.weights.h5").symlink_to(resnet50["folder"] / "w.weights.h5")
    return {"archspec": archspec, "t": keras.Input((None, None, 3)), "model_1000": resnet50["model"],
            "x": np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")}


_SETUPS = {"api": _setup_api, "keras-arguments": _setup_keras_arguments}


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("block", _of("python"), ids=_ids(_of("python")))
def test_python_blocks_run(block, tmp_path, monkeypatch, resnet50):
    monkeypatch.chdir(tmp_path)
    namespace = _SETUPS[block.args["setup"]](tmp_path, monkeypatch, resnet50) if "setup" in block.args else {}
    code = compile(block.text, block.id, "exec")
    if block.args.get("warns"):
        with pytest.warns(Warning, match=block.args["warns"]):
            exec(code, namespace)
    else:
        exec(code, namespace)
    for expression, expected in block.args.get("expect", {}).items():
        assert _plain(eval(expression, namespace)) == expected, expression
