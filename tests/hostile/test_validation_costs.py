"""Specs inside every documented limit whose *validation* (not one expansion) ran for minutes: every head,
published-weights variant, carried value and ``at`` key is now counted or read once (generated at test time)."""

from __future__ import annotations

from tests.hostile.util import archspec, assert_located
from tests.support.files import write

HEAD = "archspec: 1\nname: n\ninput: [8, 8, 3]\n"


def _published(count: int) -> str:
    """A ``published:`` section naming ``count`` weight files p0, p1, ... (each with a sha256)."""
    return "published:\n" + "".join(
        f"  p{i}:\n    top: {{file: p{i}.h5, url: 'https://example.com/{{file}}', hash: '{'0' * 64}'}}\n"
        for i in range(count))


def test_a_thousand_published_names_share_one_steps_budget(tmp_path):
    """The body reads 'weights', so each published name was a whole expansion of its own: 1,000 names of a
    30k-step body were 12 minutes. Validating the variants now counts in one 'steps' budget."""
    spec = write(tmp_path / "pub.yaml", HEAD + "stages:\n  s:\n    repeat: 10000\n    body:\n"
                 "      - {op: batch_norm, if: \"weights == 'p0'\"}\n      - {op: activation, activation: relu}\n"
                 + _published(1_000))
    run = archspec("validate", spec, timeout=120)  # 6 s of CPU; the wall clock of a busy machine is longer
    assert run.rc == 1 and "limit 'steps'" in run.out and "published-weights variant" in run.out, run.out
    assert_located(run.out, spec)
    assert run.cpu_seconds < 15, run.cpu_seconds


def test_published_variants_within_the_budget_are_still_expanded(tmp_path):
    """The shared budget does not skip a variant: a layer only 'weights: p1' adds is still checked."""
    spec = write(tmp_path / "pub.yaml", HEAD + "stages:\n  s:\n    body:\n"
                 "      - {op: conv2d, filters: 4, kernel_size: 9, if: \"weights == 'p1'\"}\n" + _published(3))
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and "spatial size collapses" in run.out, run.out
    assert_located(run.out, spec, 7)


def test_thirty_thousand_carried_values_then_ten_thousand_blocks(tmp_path):
    """Each block of an inline body copied every carried value (and each step copied its values again)."""
    carry = ", ".join(f"c{i}: prev" for i in range(30_000))
    spec = write(tmp_path / "carry.yaml", HEAD + f"stages:\n  a:\n    body: [{{op: batch_norm}}]\n    carry: {{{carry}}}\n"
                 "  b:\n    repeat: 10000\n    body: [{op: batch_norm}]\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 0, run.out
    assert run.cpu_seconds < 15, run.cpu_seconds


def test_carrying_thousands_of_values_every_block_counts_as_work(tmp_path):
    """A stage that carries 30,000 names per block, 10,000 times: 3 * 10^8 bindings, now the steps limit."""
    carry = ", ".join(f"c{i}: prev" for i in range(30_000))
    spec = write(tmp_path / "carry.yaml", HEAD + f"stages:\n  a:\n    repeat: 10000\n    body: [{{op: batch_norm}}]\n"
                 f"    carry: {{{carry}}}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 1 and "limit 'steps'" in run.out, run.out
    assert_located(run.out, spec, 8)
    assert run.cpu_seconds < 15, run.cpu_seconds


def test_ten_thousand_at_keys_supplying_a_required_parameter(tmp_path):
    """The static check of a required parameter supplied by 'at' looked for each repeat through every key."""
    at = ", ".join(f"{i}: {{k: 1}}" for i in range(1, 10_001))
    spec = write(tmp_path / "at.yaml", HEAD + "templates:\n  t:\n    required: [k]\n    body: [{op: batch_norm}]\n"
                 f"stages:\n  s: {{block: t, repeat: 10000, at: {{{at}}}}}\n")
    run = archspec("validate", spec, timeout=60)
    assert run.rc == 0, run.out
    assert run.cpu_seconds < 10, run.cpu_seconds
    gap = write(tmp_path / "gap.yaml", spec.read_text().replace("5000: {k: 1}, ", ""))
    run = archspec("validate", gap, timeout=60)
    assert run.rc == 1 and "missing parameter 'k' for template 't' in repeat 5000" in run.out, run.out
