"""Keep TensorFlow's start-up chatter (absl, CUDA, oneDNN lines written by C++ to fd 2) out of CLI runs.

``TF_CPP_MIN_LOG_LEVEL=3`` does not stop the lines TensorFlow's C++ writes before absl logging is
initialised ("WARNING: All log messages before absl::InitializeLog() ...", "cudart_stub.cc ... Could not
find cuda drivers"). :func:`quiet_tensorflow` points fd 2 at a temporary file while TensorFlow is imported
and used, then replays everything except those start-up lines, so Python warnings and real errors still
reach the user. ``archspec build --verbose`` skips it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:. ]+\s+\d+ [\w.]+:\d+\] "  # absl-format C++ log lines (cudart_stub.cc, cuda_dnn.cc, ...)
    r"|\d{4}-\d\d-\d\d [\d:.]+: [IWE] [\w/.]+:\d+\] "  # TensorFlow's own C++ log format
    r"|oneDNN custom operations are on"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r")"
)


def is_noise(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's start-up log lines."""
    return NOISE.match(line) is not None


@contextlib.contextmanager
def quiet_tensorflow(verbose: bool = False) -> Iterator[None]:
    """Hold back TensorFlow's C++ start-up lines from stderr in this block (unless ``verbose``)."""
    if verbose:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded, captured): nothing to silence
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for raw in held:
                line = raw.decode("utf-8", "replace")
                if not is_noise(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
