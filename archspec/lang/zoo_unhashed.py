"""The bundled zoo's published files that have no hash, as ``(file, url)`` templates: a copy of a bundled spec
outside the zoo may keep them unhashed (``checks._zoo_pinned``).

They are read from ``zoo_unhashed.json``, which ``python -m archspec.lang.zoo_unhashed`` writes from specs/
(tests/lang/test_zoo_unhashed.py holds the two equal), so checking such a copy costs no load of the whole zoo
(0.30 s, a seventh of validating specs/).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from archspec.errors import SpecError
from archspec.lang.compose import SpecCache, load_spec
from archspec.lang.sources import bundled_names

STORED = Path(__file__).with_name("zoo_unhashed.json")


def stored() -> frozenset[tuple[str, str]]:
    return frozenset(tuple(pair) for pair in json.loads(STORED.read_text(encoding="utf-8")))


def computed() -> frozenset[tuple[str, str]]:
    """From the bundled specs as merged (an entry's ``file`` and ``url`` may come from the spec it extends)."""
    pairs = set()
    cache = SpecCache()
    for name in bundled_names():
        try:
            entries = load_spec(name, cache=cache).data.get("published")
        except SpecError:
            continue
        for entry in (entries.values() if isinstance(entries, dict) else ()):
            for which in ("top", "notop"):
                files = entry.get(which) if isinstance(entry, dict) else None
                if isinstance(files, dict) and files.get("hash") is None:
                    pairs.add((files.get("file"), files.get("url")))
    return frozenset(pairs)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(sorted(computed()), indent=1) + "\n")
