"""Paths that are not spec files: FIFOs and devices are refused without blocking, symlink loops are a
located error (exit 1, never the internal-error exit 3), and globs do not follow symlinked folders."""

from __future__ import annotations

import os
import time

import pytest

from archspec.errors import SpecError
from archspec.lang.sources import expand_glob, resolve_source
from archspec.lang.yaml_loader import read_spec_text
from tests.hostile.util import TINY, archspec
from tests.support.files import write


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["validate", "summary", "graph"])
def test_a_fifo_is_refused_without_blocking(fifo, command):
    run = archspec(command, fifo, timeout=30)
    assert run.rc == 1, run
    assert f"{fifo}: error: not a regular file (a FIFO), not a spec file" in run.out + run.err
    assert "internal error" not in run.out + run.err
    assert run.cpu_seconds < 10


def test_reader_refuses_fifo_and_device_directly(fifo):
    start = time.perf_counter()
    for path in (fifo, "/dev/zero"):
        with pytest.raises(SpecError, match="not a regular file"):
            read_spec_text(path)
    assert time.perf_counter() - start < 1


def test_a_fifo_found_in_a_directory_is_one_error_among_others(tmp_path, fifo):
    write(tmp_path / "ok.yaml", TINY)
    run = archspec("validate", tmp_path, timeout=30)
    assert run.rc == 1, run
    assert f"{tmp_path / 'ok.yaml'}: ok" in run.out
    assert f"{fifo}: error: not a regular file (a FIFO)" in run.out
    assert "1 of 2 spec(s) valid" in run.err


@pytest.fixture
def loop(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    return a


@pytest.mark.parametrize("command", ["validate", "summary"])
def test_a_symlink_loop_is_a_located_error_not_exit_3(cli, loop, command):
    code, out, err = cli(command, loop)
    assert code == 1, err
    assert f"{loop}: error: symlink loop" in out + err
    assert "internal error" not in out + err


def test_resolve_source_refuses_a_symlink_loop(loop):
    with pytest.raises(SpecError, match="symlink loop"):
        resolve_source(loop)


def test_an_imported_symlink_loop_is_a_located_error(cli, tmp_path, loop):
    (tmp_path / ".git").mkdir()  # the spec's root folder, so the import is inside it
    spec = write(tmp_path / "net.yaml", TINY.replace("input:", "imports: [a.yaml]\ninput:"))
    code, out, err = cli("summary", spec)
    assert code == 1, err
    assert f"{spec}:3:11: error: 'imports' path cannot be resolved (a symlink loop?)" in err


def test_validate_an_imported_symlink_loop_is_a_located_error(cli, tmp_path, loop):
    (tmp_path / ".git").mkdir()
    spec = write(tmp_path / "net.yaml", TINY.replace("input:", "imports: [a.yaml]\ninput:"))
    code, out, err = cli("validate", spec)
    assert code == 1, err
    assert f"{spec}:3:11: error:" in out
    assert "internal error" not in out + err


def test_glob_does_not_follow_symlinked_folders(tmp_path):
    """Two links to their own folder made glob('**') walk 2**40 paths (a hang)."""
    write(tmp_path / "specs" / "ok.yaml", TINY)
    write(tmp_path / "specs" / ".hidden.yaml", TINY)
    (tmp_path / "specs" / "a").symlink_to(".")
    (tmp_path / "specs" / "b").symlink_to(".")
    start = time.perf_counter()
    assert expand_glob(str(tmp_path / "specs" / "**" / "*.yaml")) == [tmp_path / "specs" / "ok.yaml"]
    assert time.perf_counter() - start < 1
    run = archspec("validate", tmp_path / "specs" / "**" / "*.yaml", timeout=30)
    assert (run.rc, run.out) == (0, f"{tmp_path / 'specs' / 'ok.yaml'}: ok\n"), run


def test_glob_relative_patterns_keep_their_form(tmp_path, monkeypatch):
    write(tmp_path / "x" / "n.yaml", TINY)
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in expand_glob("x/*.yaml")] == ["x/n.yaml"]
    assert [str(p) for p in expand_glob("*/n.y*ml")] == ["x/n.yaml"]
    assert expand_glob("nothing-*.yaml") == []
