"""docs/writing-a-family.md walks through the bundled Xception; its excerpts are checked with every other
docs example (tests/test_doc_examples.py), the numbers it states here."""

from __future__ import annotations

import archspec
from tests.support.paths import DOCS
from tests.test_doc_examples import ALL

GUIDE = DOCS / "writing-a-family.md"


def test_the_guide_quotes_the_files_it_walks_through():
    quoted = [b.args.get("file") for b in ALL if b.doc == "docs/writing-a-family.md"]
    assert len(quoted) >= 8 and {"specs/xception.yaml", "specs/lib/xception.yaml", "specs/vgg19.yaml"} <= set(quoted)


def test_the_walked_through_spec_is_valid_and_has_the_reference_parameter_count():
    """The guide states 22,910,480 parameters, keras.applications.Xception's count_params()."""
    assert "22,910,480" in GUIDE.read_text()
    assert archspec.validate("xception") == []
    assert sum(d["params"] for d in archspec.expand("xception").nodes.values()) == 22_910_480
