"""A mistake that surfaces inside a library template is reported at the user's own line, with the value
written there, then the chain of template calls down to the line that failed (issue: errors pointed at
lib/resnet.yaml, a file the user never opened, with the computed value instead of the written one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.files import write

NET = """archspec: 1
name: mynet
input: [64, 64, 3]
imports: [archspec:lib/resnet.yaml, archspec:lib/heads.yaml]
stages:
  conv1: {block: resnet_stem}
  conv2: {block: bottleneck, filters: FILTERS, repeat: 2, at: {first: {project: PROJECT}}}
head:
  top: [{use: imagenet_classifier}]
"""


def _spec(tmp_path: Path, filters: str = "64", project: str = "true") -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)  # the spec's root, for the path rule
    return write(tmp_path / "my.yaml", NET.replace("FILTERS", filters).replace("PROJECT", project))


@pytest.mark.parametrize("filters,message", [
    ("-192", "conv2d.filters: must be at least 1, got -768"),
    ("64.5", "conv2d.filters: must be an integer, got 64.5"),
    ("[192]", "needs numbers, got [192]"),
])
def test_the_user_line_comes_first_then_the_template_chain(cli, tmp_path, filters, message) -> None:
    spec = _spec(tmp_path, filters)
    code, out, _ = cli("validate", str(spec))
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"{spec}:7:") and "error: " in lines[0] and message in lines[0]
    assert lines[1].startswith(f"{spec}:7:") and f"note: in template 'bottleneck', called here with filters: " \
        f"{filters}" in lines[1]
    assert "lib/resnet.yaml:" in lines[2] and "note: the step of template 'bottleneck' that failed" in lines[2]


def test_github_annotation_lands_on_the_users_file(cli, tmp_path) -> None:
    spec = _spec(tmp_path, "-192")
    code, out, _ = cli("validate", "--format", "github", str(spec))
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert code == 1 and len(errors) == 1 and errors[0].startswith(f"::error file={spec},line=7,")


def test_json_keeps_where_the_rule_fired(cli, tmp_path) -> None:
    spec = _spec(tmp_path, "-192")
    code, out, _ = cli("validate", "--format", "json", str(spec))
    report = next(r for r in json.loads(out) if r["file"] == str(spec))
    diag = next(d for d in report["diagnostics"] if d["severity"] == "error")
    assert diag["file"] == str(spec) and diag["line"] == 7
    assert diag["origin"].rsplit(":", 2)[0].endswith("lib/resnet.yaml")


def test_a_quoted_boolean_is_an_error_not_true(cli, tmp_path) -> None:
    spec = _spec(tmp_path, project='"false"')
    code, out, _ = cli("validate", str(spec))
    assert code == 1 and "'if' needs true or false, got the string 'false'" in out
    assert "write true/false without quotes" in out and out.startswith(f"{spec}:7:")


def test_a_word_where_a_number_is_expected_says_so(cli, tmp_path) -> None:
    spec = _spec(tmp_path)
    spec.write_text(spec.read_text().replace("repeat: 2", "repeat: three"), encoding="utf-8")
    code, out, _ = cli("validate", str(spec))
    assert code == 1 and "unknown name 'three'" in out and "a number, true/false or an expression is expected" in out
