"""What the docs' prose says about an example agrees with how the example is tested.

tests/test_doc_examples.py runs every example; a fragment runs inside the file its marker describes. When
the prose tells the reader which library a fragment needs, that must be the library the test imports, or
the reader's copy fails where the test passes (the original Inception `branches` report).
"""

from __future__ import annotations

import pytest

from tests.support.paths import ROOT
from tests.test_doc_examples import ALL


@pytest.mark.parametrize("block", [b for b in ALL if b.kind == "fragment" and "imports" in b.args.get("with", {})],
                         ids=lambda b: b.id)
def test_a_fragment_needs_only_the_libraries_its_text_names(block):
    text = (ROOT / block.doc).read_text()
    fence = text.index(block.text)
    paragraphs = text[:fence].rstrip().rsplit("\n\n", 2)[-2:]  # the prose before the block and after it
    after = text[fence + len(block.text):].split("\n\n", 2)[1]
    prose = "\n".join(paragraphs) + after
    for library in block.args["with"]["imports"]:
        assert library in prose, f"{block.id} needs {library}, which the text around it does not name"


def test_the_inception_branches_example_is_three_branches_concatenated():
    [block] = [b for b in ALL if "name: mixed_5b" in b.text]
    assert block.args["expect_output"] == [35, 35, 96 + 64 + 64]
