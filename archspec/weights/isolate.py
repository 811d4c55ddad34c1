"""Run a reader of hostile bytes in a child process, so that a native library crashing on them (libhdf5 on a
corrupted datatype, a C recursion in torch's unpickler) becomes a located error, not the end of archspec.

The child is forked (the work starts at once, with what the parent already imported) and sends back JSON
only: a reader that hostile bytes took over cannot hand the parent anything but data.
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from typing import Any, Callable

from archspec.errors import Diagnostic, Location, SpecError


def isolated(work: Callable[..., Any], *args: Any, where: Location, what: str) -> Any:
    """``work(*args)`` (JSON-serialisable result) in a forked child; its :class:`SpecError` is raised here, a
    signal or an abnormal exit is ``FILE: error: <what> crashed on this file ...``. Where fork does not exist
    it runs here."""
    if not hasattr(os, "fork"):
        return work(*args)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # JAX and Python 3.12 warn that a multi-threaded parent's child could
        # deadlock; this child runs only the reader, which takes none of their locks
        warnings.filterwarnings("ignore", message=r".*(os\.fork\(\) was called|use of fork\(\) may lead)")
        pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            os.close(read_end)
            try:
                reply = {"result": work(*args)}
            except SpecError as exc:
                reply = {"errors": [d.to_dict() for d in exc.diagnostics]}
            except Exception as exc:  # a bug of the reader, not a property of the file: exit 3 in the parent
                reply = {"internal": f"{type(exc).__name__}: {exc}"[:2000]}
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                json.dump(reply, out)
        except BaseException:  # noqa: BLE001 - reported as an abnormal exit by the parent
            code = 70
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "r", encoding="utf-8") as channel:
        text = channel.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise SpecError(Diagnostic(f"{what} crashed on this file ({name}); it is damaged or was made to crash "
                                   "readers", where))
    if os.waitstatus_to_exitcode(status) != 0 or not text:
        raise SpecError(Diagnostic(f"{what} failed on this file (exit {os.waitstatus_to_exitcode(status)})", where))
    reply = json.loads(text)
    if "internal" in reply:
        raise RuntimeError(f"{what}: {reply['internal']}")
    if "errors" in reply:
        raise SpecError([_diagnostic(d) for d in reply["errors"]])
    return reply["result"]


def _diagnostic(d: dict) -> Diagnostic:
    where = Location(d["file"], d["line"], d["col"]) if d["file"] is not None else None
    return Diagnostic(d["message"], where, d["pointer"], d["hint"], d["severity"])
