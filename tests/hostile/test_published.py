"""Published weights from an untrusted spec (issue 21): a ``published`` entry cannot read a local file, contact
anything but an https:// URL, put bytes where the zoo or keras.applications will trust them, fill the disk, or
get past ``validate`` (docs/validation.md, "Published weights: the trust policy").

Every server here runs on 127.0.0.1 (a real TLS server with a throwaway authority, tests/support/https.py), and
KERAS_HOME is a temporary folder, so nothing touches ~/.keras or the network."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from archspec.api import load_spec, published_file, validate_file
from archspec.errors import SpecError
from archspec.limits import Limits
from archspec.weights.published import local_copy, published_weights
from tests.hostile.util import archspec, assert_located
from tests.support.files import write
from tests.support.https import Server, https_server  # noqa: F401 (a fixture)
from tests.support.paths import SPECS

ATTACK = b"\x89HDF\r\n\x1a\n attacker's weights " * 50
TOP = "mobilenet_1_0_224_tf.h5"  # keras.applications' name for MobileNet's file


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _files(home) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if not p.is_dir())


def _variant(folder, url: str, file_hash: str | None = None, file: str | None = None):
    """The issue's spec: the bundled MobileNet with its own top entry."""
    fields = [f'url: "{url}"'] + ([f"hash: '{file_hash}'"] if file_hash else []) + ([f"file: '{file}'"] if file else [])
    return write(folder / "evil.yaml", "archspec: 1\nextends: archspec:mobilenet\npublished:\n"
                                       f"  imagenet: {{top: {{{', '.join(fields)}}}}}\n")


@pytest.fixture
def http_server(tmp_path):
    server = Server(tmp_path, tls=False)
    yield server
    server.close()


def test_the_issue_reproduction_puts_nothing_in_the_cache(tmp_path, keras_home, http_server):
    """The four-line spec against a plain-HTTP server on 127.0.0.1: refused at the url's line by build and by
    validate; the server is never asked, and the Keras cache keras.applications reads stays empty."""
    http_server.serve(f"/{TOP}", ATTACK)
    spec = _variant(tmp_path, f"{http_server.url}/{{file}}")
    env = {"KERAS_HOME": str(keras_home)}
    for command in (["build", spec, "--weights", "imagenet"], ["validate", spec]):
        run = archspec(*command, env=env, timeout=60)
        assert run.rc == 1, run
        assert_located(run.out + run.err, spec, 4)
        assert "does not start with 'https://'" in run.out + run.err and "Traceback" not in run.err
    assert http_server.requests == [] and _files(keras_home) == []


def test_an_attackers_own_hash_reaches_no_name_the_zoo_or_keras_trusts(tmp_path, keras_home, https_server):
    """Over HTTPS with the sha256 of its own bytes, a spec gets its own file: in a folder named by that hash,
    never under keras's name in the Keras cache, and not where the bundled MobileNet looks for its file."""
    url = https_server.serve(f"/{TOP}", ATTACK)
    digest = hashlib.sha256(ATTACK).hexdigest()
    got = published_weights(load_spec(_variant(tmp_path, url.replace(TOP, "{file}"), digest)))
    assert _files(keras_home) == [f"archspec/published/{digest}/{TOP}"] and got.endswith(_files(keras_home)[0])
    assert not (keras_home / "models" / TOP).exists()  # what keras.applications.MobileNet(weights="imagenet") reads
    bundled = published_file(load_spec("mobilenet"))
    assert bundled["file"] == TOP and bundled["hash"] is None
    assert local_copy(bundled["file"], bundled["url"], bundled["hash"]) is None  # it would fetch its own URL
    for name in ("attacker", TOP):  # a file the spec names with no hash of its own is refused, not looked up
        with pytest.raises(SpecError, match="has no hash"):
            published_weights(load_spec(_variant(tmp_path, url.replace(TOP, "{file}"), file=name)))
    assert https_server.requests == [f"/{TOP}"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "file:///dev/zero", "http://127.0.0.1:9/{file}",
                                 "ftp://127.0.0.1/{file}", "HTTPS://127.0.0.1/{file}", "{'https'}://127.0.0.1/{file}",
                                 "//127.0.0.1/{file}", "/etc/passwd"])
def test_local_files_and_other_schemes_are_refused(tmp_path, keras_home, url):
    spec = load_spec(_variant(tmp_path, url, "0" * 64))
    with pytest.raises(SpecError) as info:
        published_weights(spec)
    first = info.value.diagnostics[0]
    assert "does not start with 'https://'" in first.message and first.pointer == "/published/imagenet/top/url"
    assert first.location.file.endswith("evil.yaml") and first.location.line == 4
    assert _files(keras_home) == []


def test_a_download_past_the_bound_stops_and_keeps_nothing(tmp_path, keras_home, https_server):
    """An endless stream stops at ``download_bytes`` (the server sees the client hang up long before its own
    cap); a Content-Length over the bound is refused before a byte is read. Nothing is left behind."""
    endless = https_server.endless(f"/endless/{TOP}")
    with pytest.raises(SpecError, match=r"larger than 1,000,000 bytes \(limit 'download_bytes'\)"):
        published_weights(load_spec(_variant(tmp_path, endless.replace(TOP, "{file}"), "1" * 64)),
                          limits=Limits(download_bytes=1_000_000))
    assert https_server.sent[f"/endless/{TOP}"] < https_server.cap
    large = https_server.serve(f"/large/{TOP}", bytes(3_000_000))
    with pytest.raises(SpecError, match=r"announces 3,000,000 bytes"):
        published_weights(load_spec(_variant(tmp_path, large.replace(TOP, "{file}"), "2" * 64)),
                          limits=Limits(download_bytes=1_000_000))
    assert _files(keras_home) == [] and list((keras_home / "archspec" / "published").iterdir()) == []


def test_a_hash_mismatch_leaves_nothing_in_place(tmp_path, keras_home, https_server):
    url = https_server.serve(f"/{TOP}", ATTACK)
    expected = hashlib.md5(b"the real weights").hexdigest()
    with pytest.raises(SpecError) as info:
        published_weights(load_spec(_variant(tmp_path, url.replace(TOP, "{file}"), expected)))
    assert f"its md5 is {hashlib.md5(ATTACK).hexdigest()}, not the {expected} the spec names" in str(info.value)
    assert info.value.diagnostics[0].location.file.endswith("evil.yaml")
    assert _files(keras_home) == [] and https_server.requests == [f"/{TOP}"]


def test_redirects_are_followed_to_https_only(tmp_path, keras_home, https_server):
    """A 302 to http:// (here to a plain server that would answer) is refused; one to https:// is followed."""
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=plain.serve_forever, args=(0.05,), daemon=True).start()
    try:
        away = https_server.redirect(f"/away/{TOP}", f"http://127.0.0.1:{plain.server_address[1]}/{TOP}")
        with pytest.raises(SpecError, match="which is not https://"):
            published_weights(load_spec(_variant(tmp_path, away.replace(TOP, "{file}"), "3" * 64)))
    finally:
        plain.shutdown()
        plain.server_close()
    assert _files(keras_home) == []
    https_server.serve(f"/{TOP}", ATTACK)
    moved = https_server.redirect(f"/moved/{TOP}", f"{https_server.url}/{TOP}")
    got = published_weights(load_spec(_variant(tmp_path, moved.replace(TOP, "{file}"), hashlib.md5(ATTACK).hexdigest())))
    assert open(got, "rb").read() == ATTACK


BAD = """\
archspec: 1
extends: archspec:mobilenet
published:
  imagenet:
    top: {url: 'file:///etc/passwd', hash: '%(md5)s'}
    notop: {url: 'https://127.0.0.1/{file}', file: '../../.bashrc', hash: '%(md5)s'}
  zero:
    top: {url: 'file:///dev/zero', file: x.h5, hash: '%(md5)s'}
    notop: {url: 'http://127.0.0.1:8000/{file}', file: x.h5, hash: '%(md5)s'}
  names:
    top: {url: 'https://127.0.0.1/{file}', file: "{'..' + '/' + 'x'}", hash: '%(md5)s'}
    notop: {url: 'https://127.0.0.1/{file}', file: 'a\\\\b.h5', hash: '%(md5)s'}
  hashes:
    top: {url: 'https://127.0.0.1/{file}', file: x.h5, hash: 'ABC'}
    notop: {url: 'https://127.0.0.1/{file}', file: x.h5}
"""


def test_validate_locates_every_bad_published_entry(tmp_path):
    """Each bad value at its own line, without a download: validate never fetches (a base install has no
    Keras), and the zoo's own pins cannot be dropped with --set."""
    spec = write(tmp_path / "bad.yaml", BAD % {"md5": "0" * 32})
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1, run
    text = run.out + run.err
    for line, pointer in [(5, "imagenet/top/url"), (6, "imagenet/notop/file"), (8, "zero/top/url"),
                          (9, "zero/notop/url"), (11, "names/top/file"), (12, "names/notop/file"),
                          (14, "hashes/top/hash"), (15, "hashes/notop/url")]:
        assert_located(text, spec, line)
        assert f"[/published/{pointer}]" in text, pointer
    assert text.count(": error: ") == 8, text
    for name in ("mobilenet.yaml", "lib/mobilenet.yaml"):  # a copy of the zoo's own hashless entry is the zoo's
        write(tmp_path / "copy" / name, (SPECS / name).read_text(encoding="utf-8"))
    assert validate_file(tmp_path / "copy" / "mobilenet.yaml") == []
    with pytest.raises(SpecError, match="'imagenet' top file has no hash") as info:
        published_file(load_spec("resnet50", {"published.imagenet.top.hash": None}))
    assert info.value.diagnostics[0].location.file == "--set published.imagenet.top.hash"


def test_output_onto_the_cached_input_is_refused(tmp_path, keras_home):
    """``build --weights imagenet -o`` cannot write over a file it reads: the Keras cache (here keras's own
    MobileNet file) and archspec's downloads are inputs of the run, refused with exit 2 before any work."""
    keras_file = keras_home / "models" / "mobilenet_2_5_224_tf_no_top.h5"
    ours = keras_home / "archspec" / "published" / ("a" * 32) / "mine_notop.h5"
    for path in (keras_file, ours):
        write(path, "cached weights")
        run = archspec("build", "mobilenet", "--weights", "imagenet", "--no-top", "--set", "vars.alpha=0.25",
                       "-o", path, env={"KERAS_HOME": str(keras_home)}, timeout=60)
        assert run.rc == 2, run
        assert f"refusing to write output {path}" in run.err and "reads its weights from" in run.err
        assert path.read_text() == "cached weights"
