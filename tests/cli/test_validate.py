"""``archspec validate``: every file and error in one run, exit codes, output formats, no TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.lang.corpus import INVALID, VALID
from tests.support.paths import ROOT, SPECS

LIB = textwrap.dedent("""\
    archspec: 1
    kind: library
    templates:
      block:
        required: [filters]
        body:
          - {op: conv2d, filters: filters, kernel_size: 3, padding: same}
          - {op: batchnorm}
    """)
NET = textwrap.dedent("""\
    archspec: 1
    name: {name}
    input: [32, 32, 3]
    imports: [lib.yaml]
    stages: {{s1: {{block: block, filters: 8}}}}
    """)


def test_shipped_specs_are_valid(cli) -> None:
    code, out, err = cli("validate", SPECS)
    assert code == 0, out
    assert all(line.endswith(": ok") for line in out.splitlines())
    n = len(list(SPECS.rglob("*.yaml")))
    assert f"{n} of {n} spec(s) valid" in err


def test_every_file_and_error_in_one_run(cli, tmp_path) -> None:
    shutil.copy(INVALID / "many_independent_errors.yaml", tmp_path / "a.yaml")
    shutil.copy(INVALID / "unknown_op.yaml", tmp_path / "b.yml")
    shutil.copy(VALID / "branches.yaml", tmp_path / "c.yaml")
    code, out, err = cli("validate", tmp_path)
    assert code == 1
    lines = out.splitlines()
    assert sum(": error: " in line for line in lines) == 6
    assert f"{tmp_path / 'a.yaml'}:17:15: error: unknown template 'botleneck' [/stages/s1/block] " \
           "(did you mean 'bottleneck'?)" in lines
    assert any(line.startswith(f"{tmp_path / 'b.yml'}:13:") for line in lines)
    assert f"{tmp_path / 'c.yaml'}: ok" in lines
    assert "1 of 3 spec(s) valid" in err


def test_globs_directories_and_quiet(cli, tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    shutil.copy(VALID / "branches.yaml", tmp_path / "sub" / "x.yaml")
    shutil.copy(INVALID / "unknown_op.yaml", tmp_path / "sub" / "y.yaml")
    (tmp_path / "sub" / "notes.txt").write_text("not a spec")
    code, out, err = cli("validate", "--quiet", str(tmp_path / "**" / "*.yaml"))
    assert code == 1
    assert ": ok" not in out and "y.yaml:13:" in out
    code, out, err = cli("validate", "-q", tmp_path / "sub" / "x.yaml")
    assert (code, out, err) == (0, "", "")


@pytest.mark.parametrize("args, message", [
    (["does/not/exist.yaml"], "no such file or directory: does/not/exist.yaml"),
    (["nothing-*.yaml"], "pattern matches no file: nothing-*.yaml"),
    (["--limit", "lyers=5", "specs"], "unknown limit 'lyers'"),
])
def test_usage_errors_exit_2(cli, args, message) -> None:
    code, out, err = cli("validate", *args)
    assert code == 2 and message in err and out == ""


def test_usage_errors_from_argparse_exit_2(cli, tmp_path) -> None:
    for args in (["validate"], ["validate", "--format", "xml", "x.yaml"], ["validate", "--limit", "layers", "x"]):
        assert cli(*args).code == 2
    code, _, err = cli("validate", tmp_path)  # an empty directory: nothing to check
    assert code == 2 and "no *.yaml or *.yml files found" in err


def test_limit_override(cli) -> None:
    code, out, _ = cli("validate", "--limit", "layers=20", VALID / "tiny_resnet.yaml")
    assert code == 1 and "more than 20 layers (limit 'layers')" in out
    code, out, _ = cli("validate", "--limit", "expression_chars=4", VALID / "tiny_resnet.yaml")
    assert code == 1 and "expression longer than 4 characters" in out


def test_json_format(cli, tmp_path) -> None:
    shutil.copy(INVALID / "unknown_op.yaml", tmp_path / "bad.yaml")
    shutil.copy(VALID / "branches.yaml", tmp_path / "good.yaml")
    code, out, err = cli("validate", "--format", "json", tmp_path)
    assert code == 1 and err == ""
    report = {Path(r["file"]).name: r for r in json.loads(out)}
    assert report["good.yaml"] == {"file": str(tmp_path / "good.yaml"), "valid": True, "diagnostics": []}
    [diag] = report["bad.yaml"]["diagnostics"]
    assert report["bad.yaml"]["valid"] is False
    assert diag == {"severity": "error", "message": "unknown op 'conv2dd'", "file": str(tmp_path / "bad.yaml"),
                    "line": 13, "col": 20, "pointer": "/stages/s1/body/0/op",
                    "hint": "did you mean 'conv2d'? or is a plug-in missing? load it with --plugin MODULE "
                            "(docs/plugins.md)", "origin": None}


def test_github_format_is_chosen_in_actions_and_escaped(cli, tmp_path, monkeypatch) -> None:
    bad = tmp_path / "a,b:c.yaml"
    bad.write_text("archspec: 1\nname: t\ninput: [8, 8, 3]\nstages: {s: {body: [{op: batch_norm, name: 100%}]}}\n"
                   "head: {top: [{op: global_avg_pool}, {op: dense, units: 2, activation: relu%}]}\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = cli("validate", bad)
    assert code == 1
    assert out.splitlines() == [
        f"::error file={str(bad).replace(':', '%3A').replace(',', '%2C')},line=5,col=71,title=archspec::"
        "dense.activation: unknown activation 'relu%25' [/head/top/1/activation] (did you mean 'relu'?)"]
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, out, _ = cli("validate", "--format", "github", INVALID / "multiple_documents.yaml")
    assert out.startswith("::error file=") and ",line=4,col=1,title=archspec::YAML syntax error" in out


def test_a_broken_library_is_reported_once_for_all_its_users(cli, tmp_path) -> None:
    (tmp_path / "lib.yaml").write_text(LIB)
    for name in ("net_a", "net_b"):
        (tmp_path / f"{name}.yaml").write_text(NET.format(name=name))
    code, out, err = cli("validate", tmp_path)
    assert code == 1
    assert out.count("unknown op 'batchnorm'") == 1
    assert out.count("note: 'lib.yaml' (named by 'imports' here) has errors") == 2
    assert "0 of 3 spec(s) valid" in err


def test_internal_errors_are_contained(cli, tmp_path, monkeypatch) -> None:
    import archspec.graph.project as checks  # what validate calls per file

    real = checks.validate_file

    def flaky(path, *args, **kwargs):
        if Path(path).name == "boom.yaml":
            raise RuntimeError("kaboom")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checks, "validate_file", flaky)
    shutil.copy(VALID / "branches.yaml", tmp_path / "boom.yaml")
    shutil.copy(VALID / "branches.yaml", tmp_path / "fine.yaml")
    code, out, _ = cli("validate", tmp_path)
    assert code == 3
    assert "boom.yaml: error: internal error: RuntimeError: kaboom" in out and "fine.yaml: ok" in out


def test_validate_never_imports_tensorflow() -> None:
    probe = ("import sys\nfrom archspec.cli import main\ncode = main(['validate', '-q', 'specs', 'tests/lang'])\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'h5py'))\n"
             "print(code, heavy)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "1 []", result.stdout + result.stderr


def test_pre_commit_hook_definition() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "archspec-validate"
    assert hook["entry"] == "archspec validate --skip-non-specs" and hook["language"] == "python"
    import re

    pattern = re.compile(hook["files"])
    assert pattern.search("specs/resnet50.yaml") and pattern.search("a/b.yml") and not pattern.search("x.yaml.bak")


def test_layers_that_only_published_weights_add_are_validated(cli, tmp_path) -> None:
    """A step under `if: weights == 'imagenet'` exists only when those weights load: validate expands the network
    that way too, so its mistake is found before anyone builds with weights="imagenet"."""
    (tmp_path / "mine.yaml").write_text(textwrap.dedent("""\
        archspec: 1
        name: mine
        extends: archspec:efficientnet_b0
        templates:
          efficientnet_stem:
            body:
              - {op: rescaling, scale: 1 / 255}
              - {op: normalization}
              - {op: rescaling, if: weights == 'imagenet', scale: [1, 2]}
              - {use: conv_bn, filters: filters, kernel_size: 3, strides: 2, padding: valid, scaled: true, name: stem}
        """))
    code, out, _ = cli("validate", tmp_path / "mine.yaml")
    assert code == 1
    assert "mine.yaml:9:9: error: rescaling scale has 2 values for 3 channels" in out
