"""Each command reads its spec files once and passes the loaded spec on (it read the spec up to three times:
a library check, the -o check and the build each loaded it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import archspec.lang.yaml_loader as yaml_loader
from tests.support.files import write

LIB = """\
    archspec: 1
    kind: library
    templates:
      conv: {body: [{op: conv2d, filters: 4, kernel_size: 1}]}
    """
NET = """\
    archspec: 1
    name: t
    imports: [lib.yaml]
    input: [8, 8, 3]
    stages:
      s: {block: conv}
    """


@pytest.mark.parametrize("args", [["graph", "NET", "-o", "OUT/g.dot"], ["summary", "NET"], ["diff", "NET", "NET"],
                                  ["build", "NET", "-o", "OUT/m.keras"]], ids=lambda args: args[0])
def test_every_file_of_a_spec_is_read_once_per_command(tmp_path, cli, monkeypatch, args):
    write(tmp_path / "lib.yaml", LIB)
    net = write(tmp_path / "net.yaml", NET)
    reads: Counter[str] = Counter()
    real = yaml_loader.read_spec_text  # every parse of a spec file reads it through this

    def counting(path, *rest, **kwargs):
        reads[Path(path).name] += 1
        return real(path, *rest, **kwargs)

    monkeypatch.setattr(yaml_loader, "read_spec_text", counting)
    code, out, err = cli(*[a.replace("NET", str(net)).replace("OUT", str(tmp_path)) for a in args])
    assert code == 0, err
    assert reads == {"net.yaml": 1, "lib.yaml": 1}  # diff loads A and B (here the same file) sharing one cache


def test_list_reads_each_file_once_and_finds_the_family_in_what_it_read(cli, monkeypatch):
    """``list`` took the family by reading the ``extends`` chain again; now from the documents the load parsed."""
    reads: Counter[str] = Counter()
    real = yaml_loader.read_spec_text

    def counting(path, *rest, **kwargs):
        reads[Path(path).name] += 1
        return real(path, *rest, **kwargs)

    monkeypatch.setattr(yaml_loader, "read_spec_text", counting)
    code, out, err = cli("list", "resnet101_torch", "--format", "json")
    assert code == 0, err
    assert '"family": "resnet"' in out  # -> resnet50_torch -> resnext50_32x4d, which imports lib/resnet.yaml first
    assert {"resnet101_torch.yaml", "resnet50_torch.yaml", "resnext50_32x4d.yaml", "resnet.yaml"} <= set(reads)
    assert set(reads.values()) == {1}, reads
