"""Safe YAML loading that remembers where every value came from.

PyYAML's composer gives a node tree with marks; we convert it to plain data ourselves so that we can
(1) keep file/line/column per JSON path, (2) refuse non-plain tags such as ``!!python/object``,
(3) reject duplicate keys, and (4) cap the expanded size so alias bombs stop early.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archspec.errors import UNPRINTABLE, Diagnostic, Location, SpecError, printable
from archspec.fileio import file_kind
from archspec.limits import DEFAULT_LIMITS, Limits

Path_ = tuple  # a JSON path: tuple of str keys / int indices

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class Document:
    """Plain data plus the location of each value (and of each mapping key) by JSON path."""

    file: str
    data: Any
    locs: dict[Path_, Location] = field(default_factory=dict)
    key_locs: dict[Path_, Location] = field(default_factory=dict)

    def where(self, path: Path_, key: bool = False) -> Location:
        """Location of the value at ``path`` (or its key), falling back to the nearest ancestor."""
        path = tuple(path)
        if key and path in self.key_locs:
            return self.key_locs[path]
        while path:
            if path in self.locs:
                return self.locs[path]
            path = path[:-1]
        return self.locs.get((), Location(self.file, 1, 1))


def json_pointer(path: Path_) -> str:
    """RFC 6901 pointer for a JSON path, used in diagnostics."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def pointer_within(inner: str, outer: str) -> bool:
    """Whether JSON pointer ``inner`` is ``outer`` or below it (``/a/b`` is within ``/a``, ``/ab`` is not)."""
    return inner == outer or inner.startswith(outer + "/")


def read_spec_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """Read a spec file as UTF-8 text, refusing huge, binary, empty and mis-encoded files."""
    file = str(path)
    try:
        raw = _read_regular(path, limits.file_bytes + 1)
    except FileNotFoundError:
        raise SpecError(Diagnostic("no such file", Location(file))) from None
    except IsADirectoryError:
        raise SpecError(Diagnostic("is a directory, not a spec file", Location(file))) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SpecError(Diagnostic("symlink loop (too many levels of symbolic links)", Location(file))) from None
        raise SpecError(Diagnostic(f"cannot read file: {exc.strerror}", Location(file))) from None
    except _NotRegular as exc:
        raise SpecError(Diagnostic(f"not a regular file ({exc}), not a spec file", Location(file))) from None
    if len(raw) > limits.file_bytes:
        raise SpecError(
            Diagnostic(f"file is larger than {limits.file_bytes} bytes (limit 'file_bytes')", Location(file))
        )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SpecError(Diagnostic("binary file (contains NUL bytes), not a YAML spec", Location(file, line, 1)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            Diagnostic(f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", Location(file, line, col))
        ) from None
    return text.lstrip("\ufeff")


class _NotRegular(Exception):
    pass


def _read_regular(path: Path, size: int) -> bytes:
    """Up to ``size`` bytes of a regular file. Opened non-blocking and checked on the open descriptor,
    so a FIFO (which would block ``open`` until a writer comes) or a device is refused, never waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):
            raise _NotRegular(file_kind(mode))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(size)
    finally:
        os.close(fd)


def parse_yaml(text: str, file: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse one YAML document into a located :class:`Document`."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise SpecError(Diagnostic("empty file: expected a mapping with 'archspec: 1'", Location(file, 1, 1)))
    doc = parse_value(text, file, limits)
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__ if doc.data is not None else "null"
        raise SpecError(Diagnostic(f"top level must be a mapping (got {kind})", doc.where(())))
    return doc


_LIBYAML = getattr(yaml, "CSafeLoader", None)
_LIBYAML_MAX_NESTING = 5000  # libyaml's composer recurses in C: far deeper documents overflow the stack


def parse_value(text: str, file: str, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse one YAML document of any type (used for files and ``--set`` values).

    libyaml composes about 10x faster than pure-Python PyYAML, so it is tried first when installed
    and the document cannot nest too deeply (every level needs one of ``[ { - : ?``). Any problem is
    diagnosed again with pure-Python PyYAML, so messages never depend on whether libyaml is present.
    """
    if _LIBYAML is not None and sum(map(text.count, "[{-:?")) < _LIBYAML_MAX_NESTING:
        try:
            return _parse_value(text, file, limits, _LIBYAML)
        except _SizeError:
            raise  # decided on the composed node tree, which both loaders build alike
        except (SpecError, yaml.YAMLError):
            pass
    return _parse_value(text, file, limits, yaml.SafeLoader)


class _SizeError(SpecError):
    """The expanded document is over a size limit (same verdict with or without libyaml)."""


def _parse_value(text: str, file: str, limits: Limits, loader_class: type) -> Document:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:  # a control character: raised before any parsing
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SpecError(Diagnostic(f"control character U+{code:04X} is not allowed in YAML",
                                   Location(file, line, col), hint="remove it, or write it as an escape in a "
                                   "double-quoted string")) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise SpecError(Diagnostic(f"YAML syntax error: {msg}", _loc(file, mark))) from None
    except yaml.YAMLError as exc:
        raise SpecError(Diagnostic(f"YAML error: {exc}", Location(file, 1, 1))) from None
    except RecursionError:
        raise SpecError(Diagnostic("YAML nesting is too deep", Location(file, 1, 1))) from None
    finally:
        loader.dispose()
    doc = Document(file=file, data=None)
    if node is not None:
        if "&" in text or not _tree_within(node, limits):  # anchors: aliases may share nodes
            _check_expanded_size(node, file, limits)
        doc.data = _Converter(doc, limits).convert(node, (), 0)
    return doc


def _check_expanded_size(root: yaml.Node, file: str, limits: Limits) -> None:
    """Reject alias bombs and recursive aliases before converting anything.

    The composed tree shares aliased nodes, so its expanded size is computed in time linear in the
    number of distinct nodes (a 9-level "billion laughs" has under a hundred) with a memo per node.
    Both the node count and the characters of the expanded document are bounded: one long string
    aliased thousands of times is few nodes, but every message or copy that formats the value pays
    for all of it.
    """
    sizes: dict[int, int] = {}
    chars: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), limits.yaml_nodes + 1)
            if sizes[key] > limits.yaml_nodes:
                raise _SizeError(Diagnostic(
                    f"document expands to more than {limits.yaml_nodes} YAML nodes (alias bomb?); "
                    "limit 'yaml_nodes'", _loc(file, node.start_mark)))
            own = len(node.value) + 1 if isinstance(node, yaml.ScalarNode) else 2
            chars[key] = min(own + sum(chars[id(c)] for c in children), limits.yaml_chars + 1)
            if chars[key] > limits.yaml_chars:
                raise _SizeError(Diagnostic(
                    f"document expands to more than {limits.yaml_chars} characters (a long value aliased "
                    "many times?); limit 'yaml_chars'", _loc(file, node.start_mark)))
            continue
        if key in sizes:
            continue
        if key in active:
            raise _SizeError(Diagnostic("recursive YAML alias (a value that contains itself)",
                                       _loc(file, node.start_mark)))
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _tree_within(root: yaml.Node, limits: Limits) -> bool:
    """Whether a document without anchors (so a tree: no node is shared) is within both size limits.

    Its expanded size is then its plain size, and the root's is the largest of any node's, so
    :func:`_check_expanded_size` would pass exactly when this does; this only counts, without its
    per-node bookkeeping (only a document over a limit takes that walk, for its message)."""
    nodes = chars = 0
    stack = [root]
    while stack:
        node = stack.pop()
        nodes += 1
        if isinstance(node, yaml.ScalarNode):
            chars += len(node.value) + 1
        elif isinstance(node, yaml.MappingNode):
            chars += 2
            for pair in node.value:
                stack.extend(pair)
        else:
            chars += 2
            stack.extend(node.value)
    return nodes <= limits.yaml_nodes and chars <= limits.yaml_chars


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_document(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read and parse a spec file."""
    return parse_yaml(read_spec_text(Path(path), limits), str(path), limits)


def _loc(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


class _Converter:
    """Node tree -> plain data, with a node budget so aliases cannot expand without bound."""

    def __init__(self, doc: Document, limits: Limits):
        self.doc = doc
        self.limits = limits
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        file = self.doc.file
        self.count += 1
        if self.count > self.limits.yaml_nodes:
            raise SpecError(
                Diagnostic(
                    f"document expands to more than {self.limits.yaml_nodes} YAML nodes "
                    "(alias bomb?); limit 'yaml_nodes'",
                    _loc(file, node.start_mark),
                )
            )
        if depth > self.limits.yaml_depth:
            raise SpecError(
                Diagnostic(f"nesting deeper than {self.limits.yaml_depth} levels", _loc(file, node.start_mark))
            )
        self.doc.locs[path] = _loc(file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self._bad_tag(node)
            out: dict[str, Any] = {}
            first_seen: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SpecError(Diagnostic("mapping keys must be plain scalars", _loc(file, key_node.start_mark)))
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SpecError(
                        Diagnostic("YAML merge keys ('<<') are not supported; use 'extends' or templates",
                                   _loc(file, key_node.start_mark))
                    )
                if key_node.tag not in _PLAIN_TAGS:
                    raise self._bad_tag(key_node)
                key = key_node.value
                bad = UNPRINTABLE.search(key)
                if bad:  # keys name stages, templates, parameters: never text with line breaks or escapes
                    raise SpecError(Diagnostic(f"control character U+{ord(bad.group()):04X} in a mapping key "
                                               f"({printable(key[:60])!s})", _loc(file, key_node.start_mark)))
                if key in first_seen:
                    first = first_seen[key].start_mark
                    raise SpecError(
                        Diagnostic(
                            f"duplicate key '{key}' (first defined at line {first.line + 1})",
                            _loc(file, key_node.start_mark),
                        )
                    )
                first_seen[key] = key_node
                child = path + (key,)
                self.doc.key_locs[child] = _loc(file, key_node.start_mark)
                out[key] = self.convert(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self._bad_tag(node)
            return [self.convert(v, path + (i,), depth + 1) for i, v in enumerate(node.value)]
        if node.tag not in _PLAIN_TAGS:
            raise self._bad_tag(node)
        try:
            return self.constructor.construct_object(node)
        except ValueError as exc:  # e.g. an integer with more digits than Python converts
            raise SpecError(Diagnostic(f"invalid value: {exc}".split(";")[0], _loc(file, node.start_mark))) from None

    def _bad_tag(self, node: yaml.Node) -> SpecError:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        implicit = isinstance(node, yaml.ScalarNode) and node.style is None and not node.value.startswith("!")
        return SpecError(
            Diagnostic(
                f"YAML tag '{tag}' is not allowed: specs hold only plain scalars, lists and mappings",
                _loc(self.doc.file, node.start_mark),
                hint=f"quote {node.value!r} to make it a string" if implicit and tag == "!!timestamp" else None,
            )
        )
