"""``archspec`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

User mistakes print ``file:line:col: error: message`` and exit 1; usage errors exit 2; no traceback
reaches the user (set ``ARCHSPEC_DEBUG=1`` to see one for internal errors).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from archspec.errors import SpecError



def _command_modules() -> list[str]:
    """Every ``cmd_*.py`` beside this file is a subcommand (so adding one is adding a file)."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_"))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archspec", description="Convolutional networks as data: YAML spec -> "
                                     "checked layer graph -> Keras model.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _command_modules():
        importlib.import_module(f"archspec.cli.{name}").add_parser(sub)
    for name, command in sub.choices.items():  # every command sees the ops of the plug-ins named (docs/plugins.md)
        command.add_argument("--plugin", action="append", default=[], metavar="MODULE", dest="plugins",
                             help="load op records from MODULE (a module name or a .py file); repeatable")
        if name in PROGRESS:
            command.add_argument("-q", "--quiet", action="store_true",
                                 help="no progress display (it is shown only when stderr is a terminal)")
    return parser


#: the commands that can take long and show their progress on a terminal (archspec/cli/progress.py)
PROGRESS = ("build", "convert", "export", "check-weights")


def main(argv: Sequence[str] | None = None) -> int:
    from archspec.cli.output import safe_text_streams

    with safe_text_streams():  # no name a spec or weight file holds can forge or colour an output line
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    from archspec.api import allowed_paths

    from archspec.ops.plugins import PluginError, load_plugins

    try:
        load_plugins(args.plugins)
    except PluginError as exc:
        print(f"archspec: error: {exc}", file=sys.stderr)
        return 1
    from archspec.cli.progress import terminal_progress

    try:
        with allowed_paths(getattr(args, "allow_path", None) or ()), \
                terminal_progress(args.command not in PROGRESS or args.quiet):
            return int(args.run(args) or 0)
    except SpecError as exc:
        diagnostics = exc.diagnostics
        if getattr(args, "overrides", None):
            from archspec.cli.common import blame_sets

            try:
                with allowed_paths(getattr(args, "allow_path", None) or ()):
                    diagnostics = blame_sets(args, diagnostics)
            except Exception:  # naming the --set is a courtesy: never let it hide the real report
                if os.environ.get("ARCHSPEC_DEBUG"):
                    raise
        for diag in diagnostics:
            print(diag.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an archspec bug, not a user mistake: keep the message, hide the traceback
        if os.environ.get("ARCHSPEC_DEBUG"):
            raise
        print(f"archspec: internal error: {type(exc).__name__}: {exc} (set ARCHSPEC_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 3


def _version() -> str:
    from archspec import __version__

    return __version__
