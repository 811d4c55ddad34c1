"""Issue 15, "CI, pre-commit and editors": the documented hook in a repository with other YAML, and a
changed library checked through the networks that import it, with a note at each imports line."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support.files import write
from tests.support.paths import ROOT

LIB = """\
    # a library used by two networks
    archspec: 1
    kind: library
    templates:
      block:
        required: [filters]
        body:
          - {op: conv2d, filters: 2 * filters, kernel_size: 3, padding: same}
          - {op: batch_norm}
    """
NET = """\
    archspec: 1
    name: {name}
    input: [32, 32, 3]
    imports: [lib/blocks.yaml]
    stages: {{s1: {{block: block, filters: 8}}}}
    """


def _repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".pre-commit-config.yaml", """\
        repos:
          - repo: https://github.com/example/archspec
            rev: v0.1.0
            hooks: [{id: archspec-validate}]
        """)
    write(tmp_path / ".github" / "workflows" / "ci.yml", "name: ci\non: [push]\njobs: {test: {runs-on: x}}\n")
    write(tmp_path / "specs" / "lib" / "blocks.yaml", LIB)
    write(tmp_path / "specs" / "a.yaml", NET.format(name="a"))
    write(tmp_path / "specs" / "b.yaml", NET.format(name="b"))
    write(tmp_path / "specs" / "other.yaml", "archspec: 1\nname: o\ninput: [8, 8, 3]\n"
                                             "stages: {s: {body: [{op: conv2d, filters: 1, kernel_size: 1}]}}\n")
    return tmp_path


def _hook_args() -> list[str]:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    entry = hook["entry"].split()
    assert entry[:2] == ["archspec", "validate"]
    return entry[1:]


def test_hook_skips_yaml_that_is_not_a_spec(tmp_path, cli):
    repo = _repo(tmp_path)
    code, out, err = cli(*_hook_args(), ".pre-commit-config.yaml", ".github/workflows/ci.yml",
                         "specs/other.yaml", cwd=repo)
    assert code == 0, out + err
    assert ".pre-commit-config.yaml: note: skipped: not an archspec spec (no top-level 'archspec:' key)" in out
    assert ".github/workflows/ci.yml: note: skipped" in out
    assert "1 of 1 spec(s) valid (2 skipped: not archspec specs)" in err


def test_hook_reports_a_spec_that_lost_or_misspelled_its_first_key(tmp_path, cli):
    """A near-miss of ``archspec:`` or a top-level ``stages:``/``templates:`` is a spec to check, not other YAML."""
    repo = _repo(tmp_path)
    write(repo / "specs" / "typo.yaml", NET.format(name="typo").replace("archspec: 1", "archpsec: 1"))
    write(repo / "specs" / "lost.yaml", NET.format(name="lost").replace("archspec: 1\n    ", ""))
    write(repo / "specs" / "lib" / "lost.yaml", LIB.replace("archspec: 1\n    ", ""))
    code, out, err = cli(*_hook_args(), ".pre-commit-config.yaml", "specs/typo.yaml", "specs/lost.yaml",
                         "specs/lib/lost.yaml", cwd=repo)
    assert code == 1, out + err
    assert "specs/typo.yaml:1:1: error: unknown key 'archpsec' at the top level" in out
    assert "(did you mean 'archspec'?)" in out
    for name, line in (("typo", 1), ("lost", 1), ("lib/lost", 2)):  # the library starts with a comment
        assert f"specs/{name}.yaml:{line}:1: error: missing required key 'archspec' at the top level" in out
    assert ".pre-commit-config.yaml: note: skipped" in out
    assert "0 of 3 spec(s) valid (1 skipped: not archspec specs)" in err


def test_without_the_flag_a_non_spec_is_still_an_error(tmp_path, cli):
    repo = _repo(tmp_path)
    code, out, err = cli("validate", ".pre-commit-config.yaml", cwd=repo)
    assert code == 1 and "missing required key 'archspec'" in out


def test_a_broken_library_alone_is_caught_with_notes_at_each_import(tmp_path, cli):
    repo = _repo(tmp_path)
    lib = repo / "specs" / "lib" / "blocks.yaml"
    lib.write_text(lib.read_text().replace("2 * filters", "2 * filtres"))
    code, out, err = cli(*_hook_args(), "specs/lib/blocks.yaml", cwd=repo)  # only the changed file, as pre-commit
    assert code == 1, out + err
    lines = out.splitlines()
    assert "specs/lib/blocks.yaml:8:31: error: unknown name 'filtres'" in lines[0]
    assert "(did you mean 'filters'?)" in lines[0]
    for net in ("a", "b"):
        assert (f"specs/{net}.yaml:4:11: note: 'lib/blocks.yaml' (named by 'imports' here) has errors "
                "[/imports/0]") in lines
    assert "other.yaml" not in out
    assert "0 of 1 spec(s) valid" in err


def test_a_library_is_checked_through_its_networks_from_python(tmp_path, monkeypatch):
    """The same check as the hook, below the CLI (archspec.api.validate_files): the CLI only formats it."""
    from archspec.api import validate_files

    repo = _repo(tmp_path)
    lib = repo / "specs" / "lib" / "blocks.yaml"
    lib.write_text(lib.read_text().replace("2 * filters", "2 * filtres"))
    monkeypatch.chdir(repo)
    [found] = validate_files([Path("specs/lib/blocks.yaml")]).values()
    lines = [d.format() for d in found]
    assert lines[0].startswith("specs/lib/blocks.yaml:8:31: error: unknown name 'filtres'")
    for net in ("a", "b"):
        assert f"specs/{net}.yaml:4:11: note: 'lib/blocks.yaml' (named by 'imports' here) has errors [/imports/0]" \
            in lines


def test_a_library_change_that_breaks_a_network_fails_the_library(tmp_path, cli):
    repo = _repo(tmp_path)
    lib = repo / "specs" / "lib" / "blocks.yaml"
    lib.write_text(lib.read_text().replace("required: [filters]", "required: [width]")
                   .replace("2 * filters", "2 * width"))
    code, out, err = cli("validate", "specs/lib/blocks.yaml", cwd=repo)
    assert code == 1
    assert "specs/a.yaml:5:" in out and "unknown parameter 'filters'" in out


def test_whole_tree_notes_and_counts(tmp_path, cli):
    repo = _repo(tmp_path)
    lib = repo / "specs" / "lib" / "blocks.yaml"
    lib.write_text(lib.read_text().replace("2 * filters", "2 * filtres"))
    code, out, err = cli("validate", "specs/", cwd=repo)
    assert code == 1
    assert out.count("unknown name 'filtres'") == 1  # printed once for three files
    assert "specs/a.yaml:4:11: note:" in out and "specs/b.yaml:4:11: note:" in out
    assert "1 of 4 spec(s) valid" in err  # other.yaml


def test_a_valid_library_passes_alone(tmp_path, cli):
    repo = _repo(tmp_path)
    code, out, err = cli(*_hook_args(), "specs/lib/blocks.yaml", cwd=repo)
    assert code == 0, out + err


def test_the_documented_configs_name_the_hook(tmp_path, cli):
    """The configs the README and docs/validation.md show use the hook this repository defines, and the
    documented one, as a repository's .pre-commit-config.yaml, validates specs and skips the other YAML."""
    from tests.test_doc_examples import doc_block

    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    readme = yaml.safe_load(doc_block("README.md", "archspec-validate"))
    documented = doc_block("docs/validation.md", "archspec-validate")
    for repos in (readme, yaml.safe_load(documented)["repos"]):
        assert [h["id"] for repo in repos for h in repo["hooks"]] == [hook["id"]]
    repo = _repo(tmp_path)
    (repo / ".pre-commit-config.yaml").write_text(documented)
    [used] = yaml.safe_load(documented)["repos"][0]["hooks"]
    staged = [p for p in (".pre-commit-config.yaml", "specs/a.yaml", "specs/other.yaml")
              if re.search(hook["files"], p) and re.search(used.get("files", ""), p)]
    assert staged == ["specs/a.yaml", "specs/other.yaml"]  # the optional `files:` narrows to the spec folder
    code, out, err = cli(*_hook_args(), *staged, cwd=repo)
    assert code == 0, out + err
