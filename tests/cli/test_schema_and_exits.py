"""Issue 15: the schema requires a network's input and stages; diff --exit-code; a library given to
summary/graph/build is a located exit 1 (also issue 16)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from archspec.lang.schema import schema_text
from tests.support.files import write

SCHEMA = json.loads(schema_text())


def _errors(doc: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)]


def test_schema_requires_input_and_stages_of_a_network():
    assert any("'input' is a required property" in m for m in _errors({"archspec": 1, "name": "n", "stages": {}}))
    assert any("'stages' is a required property" in m for m in _errors({"archspec": 1, "input": [8, 8, 3]}))
    errors = _errors({"archspec": 1, "kind": "network", "name": "n"})
    assert sum("is a required property" in m for m in errors) == 2


def test_schema_excepts_libraries_and_variants():
    assert _errors({"archspec": 1, "kind": "library", "templates": {}}) == []
    assert _errors({"archspec": 1, "extends": "resnet50.yaml", "name": "v"}) == []


def test_shipped_schema_is_generated():
    from archspec.lang.schema_gen import build_schema

    assert SCHEMA == json.loads(json.dumps(build_schema()))


def test_validate_reports_a_missing_key_once(tmp_path, cli):
    write(tmp_path / "n.yaml", "archspec: 1\nname: n\ninput: [8, 8, 3]\n")
    code, out, err = cli("validate", "n.yaml", cwd=tmp_path)
    assert code == 1 and out.count("missing required key 'stages'") == 1


def test_diff_exit_code(tmp_path, cli):
    assert cli("diff", "resnet50", "resnet50", "--exit-code", cwd=tmp_path)[0] == 0
    code, out, err = cli("diff", "resnet50", "resnet101", "--exit-code", cwd=tmp_path)
    assert code == 1 and "added: 170 layer(s)" in out
    assert cli("diff", "resnet50", "resnet101", cwd=tmp_path)[0] == 0
    code, out, err = cli("diff", "resnet50", "resnet50", "--exit-code", "--set", "stages.conv4.repeat=7", cwd=tmp_path)
    assert code == 0  # --set applies to both sides


def test_diff_help_says_set_applies_to_both(cli):
    code, out, _ = cli("diff", "--help")
    assert code == 0  # argparse's --help exits
    text = " ".join(out.split())
    assert "--exit-code" in text and "apply to both sides" in text and "in both A and B" in text


@pytest.mark.parametrize("command", ["summary", "graph", "check-weights", "build"])
def test_a_library_is_a_located_exit_1(tmp_path, cli, command):
    from archspec.lang.sources import bundled_dir

    lib = bundled_dir() / "lib" / "resnet.yaml"
    extra = [str(tmp_path / "w.h5")] if command == "check-weights" else []
    code, out, err = cli(command, str(lib), *extra, cwd=tmp_path)
    assert code == 1, err
    line = next(n for n, text in enumerate(lib.read_text().splitlines(), 1) if text.startswith("kind:"))
    assert f"resnet.yaml:{line}:7: error: 'resnet.yaml' is a template library (kind: library), not a network" in err
