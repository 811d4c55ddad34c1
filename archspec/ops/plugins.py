"""Op plug-ins: a project's own ``OpDef`` records, added to the registry without editing archspec.

A plug-in is a Python module with an ``OPS`` list, as every module of this package has. It is loaded only
when the user says so: ``--plugin MODULE`` (a module name or a ``.py`` file) on any command, the
``archspec.ops`` entry-point group of an installed package, or :func:`load_plugins` in Python. A spec can
never load one: nothing here reads a spec, and an op no loaded plug-in defines is ``unknown op``.

Each record is checked as it loads (a complete :class:`OpDef`, a new name), then joins :data:`OPS`, so the
schema, the checker, the builder, shapes, params, MACs, pictures, the docs table and the Keras emitter
all see it like a built-in op.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, Iterable

from archspec.ops import OPS
from archspec.ops.base import Attr, OpDef

GROUP = "archspec.ops"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
BUILTIN = frozenset(OPS)
LOADED: dict[str, list[str]] = {}  # plug-in (module name or file) -> the ops it added, in load order


class PluginError(ValueError):
    """A plug-in that cannot be loaded: not importable, no ``OPS``, or a record missing a part."""


def load_plugins(modules: Iterable[str] = (), entry_points: bool = True) -> list[str]:
    """Load each of ``modules`` (module names or ``.py`` paths) and, with ``entry_points``, every plug-in an
    installed package declares in the ``archspec.ops`` entry-point group. Returns the op names added.
    Loading a plug-in twice is a no-op."""
    added: list[str] = []
    if entry_points:
        from importlib.metadata import entry_points as installed

        for entry in installed(group=GROUP):
            added += _load(f"{entry.name} (entry point {entry.value})", lambda e=entry: e.load())
    for module in modules:
        added += _load(module, lambda m=module: _import(m))
    return added


def generation() -> int:
    """How many ops plug-ins have added (caches of what the registry makes, such as the schema, key on it)."""
    return sum(len(names) for names in LOADED.values())


def _load(label: str, load: Any) -> list[str]:
    if label in LOADED:
        return []
    try:
        found = load()
    except PluginError:
        raise
    except Exception as exc:  # the plug-in's own import failed: say which and why, not a traceback
        raise PluginError(f"plug-in {label}: cannot import it: {type(exc).__name__}: {exc}") from None
    records = getattr(found, "OPS", found)
    if isinstance(records, (str, bytes)) or not isinstance(records, (list, tuple)):
        raise PluginError(f"plug-in {label}: it has no OPS list of OpDef records (as the modules of archspec.ops "
                          "have)")
    for op in records:
        _check(label, op)
    names = [op.name for op in records]
    if len(set(names)) != len(names):
        raise PluginError(f"plug-in {label}: an op is defined twice ({', '.join(names)})")
    merged = {**OPS, **{op.name: op for op in records}}
    OPS.clear()
    OPS.update(sorted(merged.items()))  # the schema and the docs table list ops by name
    LOADED[label] = names
    return names


def _import(module: str) -> Any:
    """A module by name, or a ``.py`` file by path (the user names it on the command line, never a spec)."""
    path = Path(module)
    if path.suffix != ".py":
        return importlib.import_module(module)
    if not path.is_file():
        raise PluginError(f"plug-in {module}: no such file")
    spec = importlib.util.spec_from_file_location(f"archspec_plugin_{path.stem}", path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(loaded)
    return loaded


def _check(label: str, op: Any) -> None:
    """Refuse a record that is not a complete op: every part the registry's readers use must be there."""
    if not isinstance(op, OpDef):
        raise PluginError(f"plug-in {label}: {op!r} is not an archspec.ops.OpDef record")
    where = f"plug-in {label}: op {op.name!r}"
    if not isinstance(op.name, str) or not NAME.match(op.name):
        raise PluginError(f"plug-in {label}: op name {op.name!r} must be lower_snake_case ([a-z][a-z0-9_]*)")
    if op.name in OPS:
        owner = "archspec" if op.name in BUILTIN else next((k for k, v in LOADED.items() if op.name in v), "?")
        raise PluginError(f"{where} is already defined (by {owner}); choose another name")
    missing = [part for part in ("keras_class", "doc", "example") if not isinstance(getattr(op, part), str)
               or not getattr(op, part).strip()]
    missing += [part for part in ("shape", "keras", "weights", "macs") if not callable(getattr(op, part))]
    if not isinstance(op.attrs, dict) or not all(isinstance(k, str) and isinstance(a, Attr)
                                                  for k, a in op.attrs.items()):
        missing.append("attrs (a dict of name -> Attr)")
    if missing:
        raise PluginError(f"{where} is missing {', '.join(missing)} (docs/plugins.md lists what a record needs)")
    if f"op: {op.name}" not in op.example.replace("'", "").replace('"', ""):
        raise PluginError(f"{where}: its example must be one step of this op ({{op: {op.name}, ...}}), got "
                          f"{op.example!r}")
