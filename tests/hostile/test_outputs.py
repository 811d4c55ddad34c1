"""Output files: refused before any work when they cannot or must not be written, written through a
temporary file and a rename, so a failure (full disk, a crash in a writer) never damages the old file."""

from __future__ import annotations

import os
import resource
import stat
import time

import pytest

from archspec.errors import SpecError
from archspec.fileio import OutputRefused, check_output, replacing, write_bytes
from tests.hostile.util import TINY, archspec
from tests.support.files import write

LIB = "archspec: 1\nkind: library\ntemplates:\n  b:\n    body: [{op: relu}]\n"
NET = "archspec: 1\nname: n\ninput: [8, 8, 3]\nimports: [lib.yaml]\nstages: {s1: {block: b}}\n"


@pytest.fixture
def tree(tmp_path):
    (tmp_path / ".git").mkdir()  # the spec's root folder
    write(tmp_path / "lib.yaml", LIB)
    return write(tmp_path / "net.yaml", NET)


def _unchanged(tmp_path) -> None:
    assert (tmp_path / "net.yaml").read_text() == NET and (tmp_path / "lib.yaml").read_text() == LIB
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".git"], "temp file left"


@pytest.mark.parametrize("args, message", [
    (["--format", "dot", "-o", "{dir}/net.yaml"], "it is an input of this run"),
    (["--format", "json", "-o", "{dir}/lib.yaml"], "it is an input of this run"),
    (["--format", "dot", "-o", "{dir}/hard.yaml"], "it is an input of this run"),
    (["-o", "{dir}/link.dot"], "it is an input of this run"),
    (["-o", "{dir}/net.yaml"], "unsupported suffix '.yaml'"),
    (["-o", "{dir}/g.pdf"], "unsupported suffix '.pdf'"),
    (["-o", "/nonexistent/dir/g.dot"], "folder /nonexistent/dir does not exist"),
    (["-o", "{dir}"], "it is a directory"),
    (["-o", "/dev/null"], "it is not a regular file"),
])
def test_graph_output_refused_before_work(cli, tree, args, message):
    os.link(tree, tree.parent / "hard.yaml")
    (tree.parent / "link.dot").symlink_to("net.yaml")
    code, out, err = cli("graph", tree, *[a.format(dir=tree.parent) for a in args])
    assert code == 2, err
    assert err.startswith("archspec: error: ") and message in err, err
    assert out == "" and "wrote" not in err
    _unchanged(tree.parent)


def test_graph_writes_and_replaces_atomically(cli, tree):
    out = tree.parent / "g.dot"
    out.write_text("old")
    out.chmod(0o640)
    code, _, err = cli("graph", tree, "-o", out)
    assert code == 0, err
    assert out.read_text().startswith("digraph") and stat.S_IMODE(out.stat().st_mode) == 0o640
    _unchanged(tree.parent)


def _limit_file_size(size: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_graph_on_a_full_disk_keeps_the_old_file(tree):
    """``ulimit -f``: the write fails half-way; the old file is untouched and no temp file is left."""
    out = tree.parent / "g.json"
    out.write_text("old")
    run = archspec("graph", "resnet50", "-o", out, timeout=60, preexec=_limit_file_size(4096))
    assert run.rc == 1, run
    assert run.err.startswith(f"{out}: error: cannot write file: File too large"), run.err
    assert out.read_text() == "old"
    _unchanged(tree.parent)


@pytest.mark.parametrize("args, message", [
    (["-o", "{dir}/model.txt"], "unsupported suffix '.txt' (supported: .keras, .h5)"),
    (["-o", "/nonexistent/x.keras"], "folder /nonexistent does not exist"),
    (["-o", "{dir}/w.h5", "--weights", "{dir}/w.h5"], "it is an input of this run"),
    (["-o", "{dir}/net.keras", "--weights", "{dir}/net.keras"], "it is an input of this run"),
])
def test_build_output_refused_before_building(cli, tree, args, message):
    (tree.parent / "w.h5").write_bytes(b"")
    start = time.perf_counter()
    code, out, err = cli("build", tree, *[a.format(dir=tree.parent) for a in args])
    assert code == 2, err
    assert message in err, err
    assert out == "" and time.perf_counter() - start < 5  # nothing was built


def test_build_on_a_full_disk_keeps_the_old_model(tmp_path):
    """A real Keras save under ``ulimit -f``: the old .keras file survives (it used to be a broken zip)."""
    spec = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "model.keras"
    out.write_bytes(b"old model")
    run = archspec("build", spec, "-o", out, timeout=120, preexec=_limit_file_size(6000))
    assert run.rc == 1, run
    assert f"{out}: error: cannot write file: File too large" in run.err, run.err
    assert out.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "tiny.yaml"]


def test_replacing_removes_the_temp_file_when_the_writer_fails(tmp_path):
    out = tmp_path / "model.keras"
    out.write_bytes(b"old")
    with pytest.raises(ValueError, match="layer name"):
        with replacing(out) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".keras"
            tmp.write_bytes(b"PK half a zip")
            raise ValueError("bad layer name")  # as Keras does half-way through a save
    assert out.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [out]


def test_write_bytes_turns_os_errors_into_located_errors(tmp_path, monkeypatch):
    out = tmp_path / "g.dot"
    out.write_text("old")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SpecError, match="No space left on device") as info:
        write_bytes(out, b"new")
    assert info.value.diagnostics[0].location.file == str(out)
    assert out.read_text() == "old" and sorted(tmp_path.iterdir()) == [out]


def test_write_bytes_through_a_symlink_keeps_the_link(tmp_path):
    target = write(tmp_path / "real.dot", "old")
    link = tmp_path / "link.dot"
    link.symlink_to("real.dot")
    write_bytes(check_output(link), b"new")
    assert link.is_symlink() and target.read_text() == "new"


def test_new_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_bytes(tmp_path / "g.dot", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "g.dot").stat().st_mode) == 0o640


def test_check_output_rules(tmp_path):
    spec = write(tmp_path / "s.yaml", TINY)
    with pytest.raises(OutputRefused, match="input of this run"):
        check_output(tmp_path / "." / "s.yaml", [spec])
    with pytest.raises(OutputRefused, match="empty"):
        check_output("")
    with pytest.raises(OutputRefused, match="unsupported suffix '.TXT'|unsupported suffix '.txt'"):
        check_output(tmp_path / "m.TXT", suffixes=(".keras",))
    assert check_output(tmp_path / "M.KERAS", suffixes=(".keras",)) == tmp_path / "M.KERAS"
    loop = tmp_path / "loop.dot"
    loop.symlink_to("loop.dot")
    with pytest.raises(OutputRefused):
        check_output(loop)


def test_graphviz_is_stopped_at_its_time_limit(tree, tmp_path):
    """A stand-in ``dot`` that never finishes: killed after --limit graphviz_seconds, a clear error, exit 1."""
    fake = write(tmp_path / "bin" / "dot", "#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    out = tree.parent / "g.svg"
    env_path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    start = time.perf_counter()
    run = _with_path(env_path, "graph", tree, "-o", out, "--limit", "graphviz_seconds=1")
    assert run.rc == 1, run
    assert "did not finish rendering svg within 1 seconds (limit 'graphviz_seconds')" in run.err
    assert time.perf_counter() - start < 20 and not out.exists()


def _with_path(path: str, *args):
    from tests.hostile import util

    saved = util.ENV["PATH"]
    util.ENV["PATH"] = path
    try:
        return archspec(*args, timeout=60)
    finally:
        util.ENV["PATH"] = saved


def test_schema_output_uses_the_same_writer(cli, tmp_path):
    code, _, err = cli("schema", "-o", tmp_path)
    assert code == 2 and "it is a directory" in err
    out = write(tmp_path / "s.json", "old")
    run = archspec("schema", "-o", out, timeout=30, preexec=_limit_file_size(2048))
    assert run.rc == 1 and "cannot write file: File too large" in run.err, run
    assert out.read_text() == "old" and sorted(tmp_path.iterdir()) == [out]
