"""Issue 15, "Variants outside this repository": bundled names in extends/imports, the schema for editors
elsewhere, and --set merging like extends and naming itself in the diagnostics it causes."""

from __future__ import annotations

import json
import re

import archspec
from archspec.lang.compose import load_spec
from archspec.lang.schema import schema_text
from tests.support.files import write
from tests.support.paths import ROOT


def test_extends_a_bundled_spec_from_a_users_folder(tmp_path, cli):
    doc = (ROOT / "docs" / "spec-language.md").read_text()
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "extends: archspec:resnet50" in b]
    write(tmp_path / "mine" / "resnet50_os16.yaml", example)
    assert cli("schema", "-o", "mine/archspec.schema.json", cwd=tmp_path)[0] == 0  # what its modeline names
    code, out, err = cli("validate", "mine/", cwd=tmp_path)
    assert code == 0, out + err
    assert len(archspec.expand(tmp_path / "mine" / "resnet50_os16.yaml")) == 177
    code, out, err = cli("summary", "mine/resnet50_os16.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "conv5  14x14x2048" in out  # stride 1 kept the 14x14 map, project stayed true (same params)
    assert "25,636,712" in out


def test_import_a_bundled_library_from_a_users_folder(tmp_path, cli):
    write(tmp_path / "tiny.yaml", """\
        archspec: 1
        name: tiny
        input: [64, 64, 3]
        imports: [archspec:lib/resnet.yaml, archspec:lib/heads.yaml]
        stages:
          conv1: {block: resnet_stem}
          conv2: {block: bottleneck, filters: 16, repeat: 2, at: {first: {project: true}}}
        head: {top: [{use: imagenet_classifier}]}
        """)
    code, out, err = cli("validate", "tiny.yaml", cwd=tmp_path)
    assert code == 0, out + err


def test_a_bundled_name_written_as_a_path_gets_a_hint(tmp_path, cli):
    write(tmp_path / "v.yaml", "archspec: 1\nextends: resnet50\nname: v\n")
    code, out, err = cli("validate", "v.yaml", cwd=tmp_path)
    assert code == 1
    assert "v.yaml:2:10: error: 'extends' file not found: resnet50" in out
    assert "write 'archspec:resnet50'" in out
    write(tmp_path / "w.yaml", "archspec: 1\nextends: archspec:resnet5O\nname: w\n")
    code, out, err = cli("validate", "w.yaml", cwd=tmp_path)
    assert code == 1 and "did you mean 'resnet50'?" in out


def test_bundled_prefix_cannot_leave_the_zoo(tmp_path, cli):
    write(tmp_path / "v.yaml", "archspec: 1\nextends: archspec:../../../etc/passwd\nname: v\n")
    code, out, err = cli("validate", "v.yaml", cwd=tmp_path)
    assert code == 1 and "is not a bundled spec or library" in out and "root:" not in out


def test_archspec_prefix_on_the_command_line(tmp_path, cli):
    code, out, err = cli("summary", "archspec:resnet101", "--format", "json", cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["params"] == 44_707_176


def test_schema_written_for_a_modeline_elsewhere(tmp_path, cli):
    code, out, err = cli("schema", "-o", "archspec.schema.json", cwd=tmp_path)
    assert code == 0 and "wrote archspec.schema.json" in err
    assert (tmp_path / "archspec.schema.json").read_text() == schema_text()
    code, out, err = cli("schema", "-o", "no/such/dir/s.json", cwd=tmp_path)
    assert code == 2 and "no/such/dir" in err and not (tmp_path / "no").exists()


def test_set_merges_a_mapping_like_extends(tmp_path, cli):
    spec = load_spec("resnet50", ["stages.conv5.at={first: {stride: 1}}"])
    assert spec.data["stages"]["conv5"]["at"] == {"first": {"project": True, "stride": 1}}
    assert spec.data["stages"]["conv4"]["at"] == {"first": {"project": True, "stride": 2}}  # aliases unshared
    assert spec.where(("stages", "conv5", "at", "first", "stride")).file.startswith("--set ")
    assert spec.where(("stages", "conv5", "at", "first", "project")).file.endswith("resnet50.yaml")
    code, out, err = cli("summary", "resnet50", "--set", "stages.conv5.at={first: {stride: 1}}", cwd=tmp_path)
    assert code == 0, err
    assert "conv5  14x14x2048" in out and "25,636,712" in out
    # the same through the Python API's mapping form
    spec = load_spec("resnet50", {"stages.conv5.at": {"first": {"stride": 1}}})
    assert spec.data["stages"]["conv5"]["at"]["first"] == {"project": True, "stride": 1}


def test_a_diagnostic_caused_by_a_set_names_it(tmp_path, cli):
    text = "stages.conv5.at={first: {project: false}}"
    code, out, err = cli("summary", "resnet50", "--set", text, cwd=tmp_path)
    assert code == 1
    assert "add inputs must have the same shape" in err
    assert f"(caused by --set '{text}')" in err
    code, out, err = cli("graph", "resnet50", "--set", "stages.conv5.filters=-3", cwd=tmp_path)
    assert code == 1 and "(caused by --set 'stages.conv5.filters=-3')" in err
    code, out, err = cli("summary", "resnet50", "--set", "stages.conv5.repeat=0", cwd=tmp_path)
    assert code == 1 and "--set stages.conv5.repeat=0" in err  # located at the --set itself


def test_a_diagnostic_not_caused_by_the_set_does_not_blame_it(tmp_path, cli):
    write(tmp_path / "bad.yaml", """\
        archspec: 1
        extends: archspec:resnet50
        name: bad
        stages:
          conv2: {filters: -1}
        """)
    code, out, err = cli("summary", "bad.yaml", "--set", "stages.conv4.repeat=7", cwd=tmp_path)
    assert code == 1 and "must be at least 1" in err and "caused by" not in err
