"""Published weight files (``build(spec, weights="imagenet")``): which file a spec's ``published`` entry names
for the build options, and getting it under the trust policy of docs/validation.md ("Published weights: the
trust policy"). Pure Python: urllib over HTTPS only, bounded in size, checked before it is kept.

A spec may come from a stranger, so where a file is read from and written to is never the spec's to choose:

* the Keras cache (``$KERAS_HOME/models``, default ``~/.keras/models``) is read, never written: a file that
  keras.applications downloaded serves a build offline once its hash checks (an entry without a hash, which
  only the zoo may have, uses it as keras.applications does);
* archspec's own downloads go to ``$KERAS_HOME/archspec/published/<hash>/<file>``, named by the hash they
  were checked against before the rename that puts them there, so a file there always has the content its
  folder names whoever asked for it; the zoo's entries without a hash (keras.applications publishes none for
  MobileNet and MobileNetV2) go to ``.../url-<sha256 of the url>/<file>``, read only by an entry that names
  that same URL without a hash, which only a bundled spec can.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from archspec.errors import Diagnostic, Location, SpecError
from archspec.fileio import replacing
from archspec.lang import rules
from archspec.lang.checks import published_problems, published_scope, published_values
from archspec.lang.compose import Spec, SpecCache, load_spec
from archspec.lang.expressions import ExpressionError, evaluate
from archspec.lang.sources import bundled_names
from archspec.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:  # pragma: no cover
    import urllib.request

_CHUNK = 1 << 20
_TIMEOUT = 60  # seconds without a byte before a download is given up


def published_file(spec: Spec, include_top: bool = True, input_shape: tuple | None = None,
                   weights: str = "imagenet", limits: Limits = DEFAULT_LIMITS) -> dict[str, str | None]:
    """The ``file``, ``url`` and ``hash`` a spec's ``published`` entry names for these build options (pure
    Python, nothing fetched). Every value is a name template whose ``{...}`` fields see the spec's ``vars``,
    ``rows`` and ``cols`` (the model's input height and width, null when open) and, in ``url`` and
    ``hash``, ``file``. An ``if`` that is false, a missing entry, a bad template or a value the trust policy
    refuses (rules.published_*) is a located error."""
    entries = spec.data.get("published") or {}
    if weights not in entries:
        cache = SpecCache()  # the bundled specs share their libraries: each is read once
        having = [n for n in bundled_names() if weights in (_published_names(n, cache) or ())]
        raise SpecError(Diagnostic(
            f"'{spec.name}' declares no published '{weights}' weights", spec.where(("published",)), "/published",
            hint=(f"bundled specs with published '{weights}' weights: {', '.join(having)}" if having else
                  f"no bundled spec publishes '{weights}' weights") + "; or give a weight file path"))
    problems = published_problems(spec, limits, [weights])
    if problems:
        raise SpecError(problems)
    entry = entries[weights]
    scope = published_scope(spec, input_shape)
    path: tuple = ("published", weights)
    try:
        condition = entry.get("if", True)
        if isinstance(condition, str):
            path = path + ("if",)
            condition = evaluate(condition, scope, limits)
        if not condition:
            options = ", ".join(f"{k}={v!r}" for k, v in scope.items() if isinstance(v, (int, float, str)))
            raise SpecError(Diagnostic(
                f"'{spec.name}' cannot load its published '{weights}' weights" if entry.get("if") is False else
                f"'{spec.name}' has no published '{weights}' weights for these options ({options})",
                spec.where(path), "/" + "/".join(path), hint=entry.get("doc")))
        which = "top" if include_top else "notop"
        if not isinstance(entry.get(which), dict):
            raise SpecError(Diagnostic(f"'{spec.name}' publishes no '{weights}' file "
                                       f"{'with' if include_top else 'without'} the top ('{which}')",
                                       spec.where(path), "/" + "/".join(path)))
        found: dict[str, str | None] = {}
        for key, value in published_values(entry[which], scope, limits):
            path = ("published", weights, which, key)
            if value is None:  # a missing key, or a template with a null field
                problem = None if key == "hash" else rules.Problem(f"the published '{weights}' {which} file has "
                                                                   f"no '{key}'")
            else:
                problem = rules.PUBLISHED_VALUES[key](value)
            if problem is not None:
                raise SpecError(Diagnostic(problem.message, spec.where(path), "/" + "/".join(path), problem.hint))
            found[key] = value
    except ExpressionError as exc:
        raise SpecError(Diagnostic(str(exc), spec.where(path), "/" + "/".join(path), hint=exc.hint)) from None
    return found


def _published_names(name: str, cache: SpecCache) -> Iterable[str] | None:
    try:
        return load_spec(name, cache=cache).data.get("published")
    except SpecError:
        return None


def published_weights(spec: Spec, include_top: bool = True, input_shape: tuple | None = None,
                      weights: str = "imagenet", limits: Limits = DEFAULT_LIMITS) -> str:
    """The local path of the spec's published weights (``weights="imagenet"``): a checked copy already in the
    Keras cache or in archspec's, else downloaded over HTTPS (at most ``limits.download_bytes``) and checked
    against the entry's hash before it is kept. A failure is a located error and leaves nothing behind."""
    found = published_file(spec, include_top, input_shape, weights, limits)
    file, url, file_hash = str(found["file"]), str(found["url"]), found["hash"]
    where = spec.where(("published", weights, "top" if include_top else "notop"))
    local = local_copy(file, url, file_hash)
    if local is not None:
        return str(local)
    target = _store_path(file, url, file_hash)
    _download(url, target, file_hash, where, limits)
    return str(target)


def local_copy(file: str, url: str, file_hash: str | None) -> Path | None:
    """A copy that may be used without downloading: the Keras cache's file of that name, then archspec's,
    each only if its hash checks (no hash: only for the zoo's own entries, checked before this is called)."""
    for path in (_keras_cache() / file, _store_path(file, url, file_hash)):
        if file_hash is None:
            if _regular(path):
                return path
        elif _digest(path, file_hash) == file_hash:
            return path
    return None


def _keras_cache() -> Path:
    """The folder keras.applications keeps its downloads in (``keras.utils.get_file``'s ``models``)."""
    return _keras_home() / "models"


def _store() -> Path:
    """The folder archspec downloads published files to (never the Keras cache)."""
    return _keras_home() / "archspec" / "published"


def cache_folders() -> list[Path]:
    """Where ``--weights imagenet`` reads from: no output may be written there."""
    return [_keras_cache(), _store()]


def _keras_home() -> Path:
    """``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the home folder is not writable), as Keras
    decides it; read at each call, so a test's temporary KERAS_HOME is seen."""
    if "KERAS_HOME" in os.environ:
        return Path(os.path.expanduser(os.environ["KERAS_HOME"]))
    home = os.path.expanduser("~")
    return Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras"


def _store_path(file: str, url: str, file_hash: str | None) -> Path:
    folder = file_hash if file_hash is not None else "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()
    return _store() / folder / file


def _algorithm(file_hash: str) -> str:
    return "sha256" if len(file_hash) == 64 else "md5"  # keras.utils.get_file's "auto"


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _digest(path: Path, file_hash: str) -> str | None:
    """The hex digest of a regular file (``None``: missing, unreadable, or not a regular file: a FIFO is never
    opened for reading, so it cannot block)."""
    if not _regular(path):
        return None
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, _algorithm(file_hash)).hexdigest()
    except OSError:
        return None


def _opener() -> "urllib.request.OpenerDirector":
    """HTTPS and nothing else: no file://, ftp://, data: or http:// handler is installed (urllib's default
    opener has them all), and a redirect is followed (Google's storage uses them) only to another https://
    URL; proxies come from the environment, as for any download."""
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    class HttpsRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            if urllib.parse.urlsplit(newurl).scheme != "https":
                raise urllib.error.URLError(f"redirected to {newurl[:100]!r}, which is not https://")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=ssl.create_default_context()),
                    HttpsRedirects(), urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def _download(url: str, target: Path, file_hash: str | None, where: Location, limits: Limits) -> None:
    """``url`` into ``target``: streamed into a temporary file beside it, stopped past ``download_bytes``,
    its hash checked, and only then renamed into place; any failure removes the temporary file."""
    shown = url if len(url) <= 200 else url[:197] + "..."
    bound = limits.download_bytes

    def refuse(message: str, hint: str | None = None) -> SpecError:
        return SpecError(Diagnostic(f"could not get the published weights '{target.name}' from {shown}: {message}",
                                    where, hint=hint))

    if rules.published_url(url) is not None:  # published_file checked it; this function trusts no caller
        raise refuse("not an https:// URL")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise refuse(f"cannot create the cache folder {target.parent}: {exc.strerror}",
                     "set KERAS_HOME to a writable folder") from None
    try:
        _fetch(url, target, file_hash, bound, refuse)
    except BaseException:
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # the folder made for it, unless another file is there
        raise


def _fetch(url: str, target: Path, file_hash: str | None, bound: int, refuse: Callable[..., SpecError]) -> None:
    """The stream itself, into a temporary file that only a complete, checked download is renamed from."""
    import http.client
    import urllib.error
    too_big = f"larger than {bound:,} bytes (limit 'download_bytes')"
    raise_hint = "a genuine file that large needs --limit download_bytes=N"
    hasher = hashlib.new(_algorithm(file_hash)) if file_hash else None
    with replacing(target, keep_suffix=False) as tmp, open(tmp, "wb") as out:
        try:
            response = _opener().open(url, timeout=_TIMEOUT)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = exc.reason if type(exc) is urllib.error.URLError else exc  # HTTPError: with its status
            raise refuse(str(reason),
                         "offline, put the file in the Keras cache ($KERAS_HOME/models) under that name") from None
        with response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > bound:
                raise refuse(f"the server announces {int(declared):,} bytes, {too_big}", raise_hint)
            total = 0
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise refuse(f"the download broke off: {exc}") from None
                if not chunk:
                    break
                total += len(chunk)
                if total > bound:
                    raise refuse(f"the file is {too_big}; nothing was kept", raise_hint)
                if hasher is not None:
                    hasher.update(chunk)
                out.write(chunk)
        if hasher is not None and hasher.hexdigest() != file_hash:
            raise refuse(f"its {hasher.name} is {hasher.hexdigest()}, not the {file_hash} the spec names; nothing "
                         "was kept", "a changed or corrupted file, or the wrong hash in the spec")
