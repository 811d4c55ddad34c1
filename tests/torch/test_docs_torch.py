"""The PyTorch examples of README.md and docs/pytorch.md run as shown (their blocks are read with doc_block).

The checkpoint is torchvision's ResNet-18 with random weights (the README's first line downloads the
published ones, which a test cannot); every ``archspec`` line runs in the folder that holds it.
"""

from __future__ import annotations

import shlex

import torchvision

from tests.support.paths import ROOT
from tests.test_doc_examples import _matches, doc_block
from torch_reference import reference, save_state_dict


def _run_lines(block: str, cli) -> list[tuple[list[str], int, str, str]]:
    runs = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["archspec"]:
            runs.append((words, *cli(*words[1:])))
    return runs


def test_the_readme_worked_example(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    save_state_dict(reference(torchvision.models.resnet18), tmp_path / "resnet18.pth")
    block = doc_block("README.md", "archspec convert resnet18 resnet18.pth")
    runs = _run_lines(block, cli)
    assert [(words[1], code) for words, code, _, _ in runs] == [
        ("check-weights", 0), ("build", 0), ("build", 0), ("convert", 0)]
    assert (tmp_path / "resnet18.keras").is_file() and (tmp_path / "resnet18.weights.h5").is_file()
    command, *expected = doc_block("README.md", "$ archspec build resnet18 --weights").splitlines()
    (partial,) = [(out, err) for words, _, out, err in runs if "--classes" in words]
    assert _matches(expected, (partial[1] + partial[0]).splitlines()), partial
    assert " ".join(next(w for w, *_ in runs if "--classes" in w)) == command[2:]


def test_the_docs_commands_run(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").symlink_to(ROOT / "specs")  # as in a clone
    model = reference(torchvision.models.resnet18)
    save_state_dict(model, tmp_path / "resnet18.pth")
    runs = _run_lines(doc_block("docs/pytorch.md", "archspec convert resnet18"), cli)
    assert [code for _, code, _, _ in runs] == [0, 0, 0]
    command, *expected = doc_block("docs/pytorch.md", "$ archspec check-weights specs/resnet18.yaml").splitlines()
    code, out, _ = cli(*shlex.split(command[2:])[1:])
    assert code == 1
    assert _matches(expected, out.splitlines())
