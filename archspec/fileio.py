"""Writing output files so that none is ever lost: checked before the work, replaced atomically after.

Every file the command line writes (``graph -o``, ``build -o``) goes through :func:`check_output`
before any work and then through :func:`write_bytes` or :func:`replacing`:

* the data goes to a temporary file in the destination's folder (``.NAME.XXXXXX.tmp``, or with the
  destination's suffix when a library such as Keras picks the format from it), is flushed and
  ``fsync``-ed, then renamed over the destination in one step (``os.replace``). A failure at any point
  (a full disk, ``ulimit -f``, an exception half-way through a Keras save) removes the temporary file
  and leaves the old destination exactly as it was;
* an existing destination keeps its permission bits; a new one gets the usual ``0666 & ~umask``;
* a destination that is a symlink is written through (the link stays, its target is replaced).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from archspec.errors import Diagnostic, Location, SpecError, printable


class OutputRefused(ValueError):
    """An output path refused before any work is done (the CLI reports it as a usage error, exit 2)."""


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), suffixes: Iterable[str] | None = None,
                 what: str = "output") -> Path:
    """The file ``path`` will really write (symlinks followed), after refusing, before any work:

    * a suffix not in ``suffixes`` (when given; compared case-insensitively, ``""`` allows none);
    * a folder that does not exist or cannot be written to;
    * a directory, FIFO or device where the file would go (``-o /dev/null`` would be replaced by a file);
    * any of ``inputs`` (the spec, the files it imports or extends, a weight file): same path, symlink
      or hard link.
    """
    text = str(path)
    shown = printable(text)
    if not text.strip():
        raise OutputRefused(f"{what} path is empty")
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        suffix = Path(text).suffix.lower()
        if suffix not in allowed:
            listed = ", ".join(s or "no suffix" for s in allowed)
            raise OutputRefused(f"cannot write {what} {shown}: unsupported suffix '{printable(suffix) or ''}' "
                                f"(supported: {listed})")
    try:
        real = Path(os.path.realpath(text))
    except (OSError, RuntimeError):
        raise OutputRefused(f"cannot write {what} {shown}: the path cannot be resolved (a symlink loop?)") from None
    folder = real.parent
    if not folder.is_dir():
        raise OutputRefused(f"cannot write {what} {shown}: folder {printable(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or not _can_create_in(folder):
        raise OutputRefused(f"cannot write {what} {shown}: folder {printable(folder)} is not writable")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputRefused(f"cannot write {what} {shown}: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise OutputRefused(f"cannot write {what} {shown}: it is {kind}")
    for source in inputs:
        if _same_file(real, st, source):
            raise OutputRefused(f"refusing to write {what} {shown}: it is an input of this run "
                                f"({printable(source)}); choose another file")
    return real


def check_input(path: str | Path, what: str) -> None:
    """Refuse, with a located error, an input file that is missing or not a regular file: a FIFO would block
    the reader forever, a device never end (``what`` names the file: "weight file", "checkpoint file")."""
    where = Location(str(path))
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "cannot be opened"
        raise SpecError(Diagnostic(f"{what} not found ({reason.lower()})", where)) from None
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(Diagnostic(f"{what} is not a regular file ({file_kind(st.st_mode)})", where))


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder``, by creating one: ``os.access`` says yes to root for
    folders no one can write (``/proc``, a read-only bind mount), which would fail only after the work."""
    try:
        fd, name = tempfile.mkstemp(prefix=".archspec-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _same_file(real: Path, st: os.stat_result | None, source: str | Path) -> bool:
    try:
        if Path(os.path.realpath(source)) == real:
            return True
        if st is None:
            return False
        other = os.stat(source)
    except (OSError, RuntimeError, ValueError):
        return False
    return (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; on failure the old file is untouched and a
    :class:`~archspec.errors.SpecError` names the file and the reason (a full disk, a quota)."""
    with replacing(path, keep_suffix=False) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


@contextlib.contextmanager
def replacing(path: str | Path, keep_suffix: bool = True) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write to; when the block ends without an exception it
    is synced and renamed over ``path``. Any exception removes it and leaves ``path`` as it was; an
    ``OSError`` (full disk, file too large, permission) becomes a located :class:`SpecError`.

    ``keep_suffix`` ends the temporary name with ``path``'s suffix, for writers that choose the format
    from it (Keras: ``.keras``)."""
    real = Path(os.path.realpath(path))
    where = Location(str(path))
    suffix = real.suffix if keep_suffix else ".tmp"
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.stem}.", suffix=suffix, dir=real.parent)
    except OSError as exc:
        raise SpecError(Diagnostic(f"cannot write file: {exc.strerror}", where)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _sync(tmp)
        os.chmod(tmp, _mode_for(real))
        os.replace(tmp, real)
    except OSError as exc:
        _remove(tmp)
        raise SpecError(Diagnostic(f"cannot write file: {exc.strerror or exc}; the previous file (if any) is "
                                   "unchanged", where)) from None
    except BaseException:
        _remove(tmp)
        raise
    _sync_folder(real.parent)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every filesystem lets a folder be opened or synced."""
    with contextlib.suppress(OSError):
        _sync(folder)


def _mode_for(real: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()
