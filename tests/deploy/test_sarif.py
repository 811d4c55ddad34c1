"""`archspec validate --format sarif`: SARIF 2.1.0 (what GitHub code scanning reads), checked against the
OASIS schema vendored beside this file (sarif-schema-2.1.0.json, oasis-tcs/sarif-spec commit a560296)."""

from __future__ import annotations

import json
import shlex
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml


SCHEMA = json.loads((Path(__file__).with_name("sarif-schema-2.1.0.json")).read_text())
LIB = textwrap.dedent("""\
    archspec: 1
    kind: library
    templates:
      block:
        required: [filters]
        body:
          - {op: conv2d, filters: 4 * filtres, kernel_size: 3}
    """)
NET = textwrap.dedent("""\
    archspec: 1
    name: net
    input: [32, 32, 3]
    imports: [lib.yaml]
    stages: {s1: {block: block, filters: 8}}
    """)


def check(log: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)


@pytest.fixture
def sarif(tmp_path, tmp_path_factory, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.yaml").write_text(LIB)
    (tmp_path / "net.yaml").write_text(NET)
    (tmp_path / "ok.yaml").write_text(NET.replace("imports: [lib.yaml]", "imports: [ok_lib.yaml]"))
    (tmp_path / "ok_lib.yaml").write_text(LIB.replace("4 * filtres", "4 * filters"))
    (tmp_path / "ci.yaml").write_text("on: push\n")
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "bad.yaml"  # outside the folder validate runs in
    elsewhere.write_text(NET.replace("imports: [lib.yaml]\n", ""))
    code, out, err = cli("validate", "--format", "sarif", "--skip-non-specs", "net.yaml", "ok.yaml", "ci.yaml",
                         "lib.yaml", elsewhere)
    return code, json.loads(out), err


def test_the_log_is_valid_sarif_2_1_0(sarif):
    code, log, _ = sarif
    check(log)
    assert code == 1 and log["version"] == "2.1.0" and log["runs"][0]["tool"]["driver"]["name"] == "archspec"


def test_each_problem_is_a_result_at_its_line(sarif):
    _, log, _ = sarif
    results = log["runs"][0]["results"]
    errors = [r for r in results if r["level"] == "error" and "filtres" in r["message"]["text"]]
    assert len(errors) == 1, "reported once, though net.yaml and lib.yaml both find it"
    location = errors[0]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "lib.yaml"}, "region": {"startLine": 7, "startColumn": 31}}
    assert "did you mean 'filters'?" in errors[0]["message"]["text"]
    notes = [r for r in results if r["level"] == "note" and "has errors" in r["message"]["text"]]
    assert notes and notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4  # net.yaml's imports
    rules = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_skipped_files_are_notes_and_valid_files_have_no_result(sarif):
    _, log, _ = sarif
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in log["runs"][0]["results"]}
    assert uris["ci.yaml"]["level"] == "note" and "not an archspec spec" in uris["ci.yaml"]["message"]["text"]
    assert "ok.yaml" not in uris


def test_an_absolute_path_is_a_file_uri(sarif):
    _, log, _ = sarif
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert any(uri.startswith("file:///") and uri.endswith("/bad.yaml") for uri in uris), uris


def test_the_schema_check_rejects_a_wrong_log(sarif):
    _, log, _ = sarif
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        check(log)


def test_the_documented_workflow_steps(tmp_path, monkeypatch, cli):
    from tests.test_doc_examples import doc_block

    run, upload = yaml.safe_load(doc_block("docs/validation.md", "upload-sarif"))
    command, _, target = run["run"].partition(" > ")
    assert upload["with"]["sarif_file"] == target.strip()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "lib.yaml").write_text(LIB)
    (tmp_path / "specs" / "net.yaml").write_text(NET)
    argv = shlex.split(command)
    assert argv[0] == "archspec"
    code, out, _ = cli(*argv[1:])
    assert code == 1
    log = json.loads(out)
    check(log)
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
            if r["level"] == "error"} == {"specs/lib.yaml"}
