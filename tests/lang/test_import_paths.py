"""Issue 16: where imports/extends may point (docs/spec-language.md), nothing echoed from non-spec files,
and resolved imports cached so an import fan-out costs files, not paths."""

from __future__ import annotations

import time

from archspec.lang.compose import SpecCache, load_spec, spec_root
from tests.support.files import write

SECRET = "AKIA-TOKEN-s3cr3t-value"


def _project(tmp_path):
    write(tmp_path / "secrets.yaml", f"aws_key: {SECRET}\nname: {SECRET}\n")
    write(tmp_path / "outside.yaml", "archspec: 1\nkind: library\ntemplates: {}\n")
    return write(tmp_path / "proj" / "net.yaml", """\
        archspec: 1
        extends: ../secrets.yaml
        name: net
        """)


def test_extends_cannot_leave_the_spec_root(tmp_path, cli):
    _project(tmp_path)
    code, out, err = cli("validate", "net.yaml", cwd=tmp_path / "proj")
    assert code == 1
    assert "net.yaml:2:10: error: 'extends' path leaves the spec's root folder" in out
    assert "--allow-path" in out and SECRET not in out + err


def test_an_absolute_path_is_refused_too(tmp_path, cli):
    write(tmp_path / "proj" / "abs.yaml", f"archspec: 1\nextends: {tmp_path / 'secrets.yaml'}\nname: a\n")
    code, out, err = cli("validate", "abs.yaml", cwd=tmp_path / "proj")
    assert code == 1 and "leaves the spec's root folder" in out and SECRET not in out + err


def test_allowed_path_that_is_not_a_spec_is_never_echoed(tmp_path, cli):
    _project(tmp_path)
    code, out, err = cli("validate", "--allow-path", str(tmp_path), "net.yaml", cwd=tmp_path / "proj")
    assert code == 1
    assert "names a file that is not an archspec spec" in out and "its content is not shown" in out
    assert SECRET not in out + err and "aws_key" not in out + err


def test_allowed_path_reaches_a_spec_outside(tmp_path, cli):
    _project(tmp_path)
    write(tmp_path / "proj" / "lib_user.yaml", """\
        archspec: 1
        kind: library
        imports: [../outside.yaml]
        templates: {}
        """)
    code, out, err = cli("validate", "lib_user.yaml", cwd=tmp_path / "proj")
    assert code == 1 and "leaves the spec's root folder" in out
    code, out, err = cli("validate", "--allow-path", "..", "lib_user.yaml", cwd=tmp_path / "proj")
    assert code == 0, out + err


def test_root_is_the_git_checkout(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    spec = write(tmp_path / "repo" / "nets" / "a" / "x.yaml", "archspec: 1\n")
    assert spec_root(spec) == (tmp_path / "repo").resolve()


def test_symlink_loop_is_a_located_error(tmp_path, cli):
    from archspec.errors import SpecError

    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    write(tmp_path / "n.yaml", "archspec: 1\nextends: loop.yaml\nname: n\n")
    try:
        load_spec(tmp_path / "n.yaml")
    except SpecError as exc:
        assert str(exc.diagnostics[0].location).endswith("n.yaml:2:10")
        assert "symlink loop" in exc.diagnostics[0].message
    else:
        raise AssertionError("a symlink loop loaded")
    code, out, err = cli("summary", "n.yaml", cwd=tmp_path)
    assert code == 1 and "n.yaml:2:10: error:" in err


def _fan_out(folder, files=9, fan=10):
    """f0 imports f1 ``fan`` times, f1 imports f2 ``fan`` times, ..., f8 defines the template."""
    for k in range(files - 1):
        imports = ", ".join([f"f{k + 1}.yaml"] * fan)
        body = "kind: library\n" if k else "name: fan\ninput: [8, 8, 3]\nstages: {s: {block: b}}\n"
        write(folder / f"f{k}.yaml", f"archspec: 1\n{body}imports: [{imports}]\n")
    write(folder / f"f{files - 1}.yaml", """\
        archspec: 1
        kind: library
        templates:
          b: {body: [{op: conv2d, filters: 4, kernel_size: 1}]}
        """)
    return folder / "f0.yaml"


def test_import_fan_out_is_resolved_once_per_file(tmp_path, cli):
    top = _fan_out(tmp_path)  # 10**8 paths to the last file: without the cache this never finishes
    start = time.perf_counter()
    cache = SpecCache()
    spec = load_spec(top, cache=cache)
    elapsed = time.perf_counter() - start
    assert "b" in spec.data["templates"]
    assert len(cache.docs) == 9
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    start = time.perf_counter()
    code, out, err = cli("validate", "f0.yaml", cwd=tmp_path)
    assert code == 0, out + err
    assert time.perf_counter() - start < 5.0


def test_cached_imports_still_count_the_depth_limit(tmp_path):
    from archspec.errors import SpecError
    from archspec.limits import Limits

    top = _fan_out(tmp_path, files=5, fan=2)
    cache = SpecCache()
    load_spec(tmp_path / "f1.yaml", cache=cache)  # f1..f4 resolved and cached at depth 0
    try:
        load_spec(top, limits=Limits(extends_depth=3), cache=cache)
    except SpecError as exc:
        assert "deeper than 3" in exc.diagnostics[0].message
    else:
        raise AssertionError("a chain of 4 passed a depth limit of 3")
