"""docs/writing-a-family.md quotes the bundled specs exactly.

Why: the guide teaches by excerpts of real files; an excerpt that drifted from the file it names would
teach something the zoo no longer does. Each ```yaml block must be a run of whole, consecutive lines of the
file named by the closest `specs/....yaml` mention before it, and a block introduced as "all of" a file
must be that whole file (less its editor modeline).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import archspec

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-a-family.md"
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
_PATH = re.compile(r"`(specs/[\w/]+\.yaml)`")


def _quotes() -> list[tuple[str, str, bool]]:
    """(quoted file, block text, introduced as the whole file) for every yaml block of the guide."""
    text = GUIDE.read_text()
    quotes = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()]
        paths = _PATH.findall(before)
        assert paths, f"no `specs/...yaml` named before the block at offset {match.start()}"
        before = before.rstrip()
        intro = before[before.rfind("\n\n") :]  # the paragraph that introduces the block
        quotes.append((paths[-1], match.group(1), "all of" in intro))
    return quotes


QUOTES = _quotes()


def test_the_guide_quotes_the_spec_it_walks_through():
    files = [path for path, _, _ in QUOTES]
    assert len(QUOTES) >= 8
    assert {"specs/xception.yaml", "specs/lib/xception.yaml", "specs/vgg19.yaml"} <= set(files)
    assert [path for path, _, whole in QUOTES if whole] == ["specs/vgg19.yaml"]


@pytest.mark.parametrize("path, block, whole", QUOTES, ids=[f"{i}-{q[0]}" for i, q in enumerate(QUOTES)])
def test_every_yaml_block_is_an_exact_excerpt(path, block, whole):
    lines = (ROOT / path).read_text().splitlines()
    quoted = block.splitlines()
    assert quoted and all(line.strip() for line in (quoted[0], quoted[-1]))
    if whole:
        assert lines[0].startswith("# yaml-language-server:") and quoted == lines[1:]
    else:
        starts = [i for i in range(len(lines) - len(quoted) + 1) if lines[i : i + len(quoted)] == quoted]
        assert starts, f"the guide's block is not a run of whole lines of {path}:\n{block}"


def test_the_walked_through_spec_is_valid_and_has_the_reference_parameter_count():
    """The guide states 22,910,480 parameters, keras.applications.Xception's count_params()."""
    assert "22,910,480" in GUIDE.read_text()
    assert archspec.validate("xception") == []
    assert sum(d["params"] for d in archspec.expand("xception").nodes.values()) == 22_910_480
