"""Text output never carries a raw control character: a crafted name or key cannot forge a
``file:1:1: error:`` line, a ``::error`` workflow command, an ANSI escape or a bidi override."""

from __future__ import annotations

import io
import json

import pytest

from archspec.cli.output import Reporter, SafeText, github_annotation
from archspec.errors import Diagnostic, Location, SpecError, line_safe, printable
from archspec.lang.yaml_loader import parse_yaml
from tests.hostile.util import TINY
from tests.support.files import write

FORGED = "x\nother.yaml:1:1: error: forged\r::error file=a.yaml::forged\x1b[31mred\u202eevil\x00\ud800"


def test_printable_escapes_every_control_character():
    text = printable(FORGED)
    assert text == ("x\\nother.yaml:1:1: error: forged\\r::error file=a.yaml::forged\\x1b[31mred\\u202eevil"
                    "\\x00\\ud800")
    assert text.isprintable()
    assert printable("résumé_日本_conv1") == "résumé_日本_conv1"  # ordinary text untouched
    assert line_safe("a\n\tb\x1b[0m") == "a\n\tb\\x1b[0m"


def test_a_diagnostic_is_one_line_whatever_it_carries():
    diag = Diagnostic(f"unknown template '{FORGED}'", Location(f"spec{FORGED}.yaml", 3, 4), f"/stages/{FORGED}",
                      f"did you mean '{FORGED}'?")
    text = diag.format()
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert text.encode("utf8")  # no lone surrogate left: printing it cannot crash
    assert text.startswith("specx\\nother.yaml:1:1: error: forged")  # the forged text stays inside one line
    assert len(text.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_reporter_lines_cannot_be_forged(fmt):
    out = io.StringIO()
    reporter = Reporter(fmt, out)
    reporter.file(f"ok{FORGED}.yaml", [])
    reporter.file("bad.yaml", [Diagnostic(FORGED, Location("bad.yaml", 1, 1), "/" + FORGED, FORGED)])
    lines = out.getvalue().splitlines()
    assert len(lines) == (2 if fmt == "text" else 1), lines
    assert all(line.isprintable() for line in lines)
    if fmt == "github":
        assert lines[0].startswith("::error file=bad.yaml,line=1,col=1,title=archspec::")
        assert "%0A" not in lines[0] and "%0D" not in lines[0]  # the forged commands stay inside the message


def test_github_annotation_escapes_the_file_property():
    line = github_annotation(Diagnostic("m", Location("a,b:c\n.yaml", 2, 3)), "x")
    assert line.startswith("::error file=a%2Cb%3Ac\\n.yaml,line=2,col=3,")


def test_json_keeps_the_exact_text():
    out = io.StringIO()
    reporter = Reporter("json", out)
    reporter.file("bad.yaml", [Diagnostic(FORGED.replace("\ud800", ""), Location("bad.yaml", 1, 1))])
    reporter.finish()
    assert json.loads(out.getvalue())[0]["diagnostics"][0]["message"] == FORGED.replace("\ud800", "")


def test_safe_text_keeps_lines_and_passes_binary_through():
    raw = io.TextIOWrapper(io.BytesIO(), encoding="utf8")
    safe = SafeText(raw)
    print("a\x1b[2J\tb\nc\r", file=safe)
    safe.flush()
    safe.buffer.write(b"\x89PNG\r\n")
    raw.flush()
    assert raw.buffer.getvalue() == b"a\\x1b[2J\tb\nc\\r\n\x89PNG\r\n"


@pytest.mark.parametrize("key", ["s1\\nother.yaml:1:1: error: forged", "s1\\e[31m", "s1\\u202e", "s1\\r"])
def test_mapping_keys_with_control_characters_are_refused(key):
    text = TINY.replace("  s1:", f'  "{key}":')
    with pytest.raises(SpecError, match="control character U\\+") as info:
        parse_yaml(text, "k.yaml")
    diag = info.value.diagnostics[0]
    assert (diag.location.line, diag.location.col) == (5, 3)
    assert "\n" not in diag.format() and "\x1b" not in diag.format()


def test_crafted_names_from_the_command_line(cli, tmp_path):
    """End to end: a layer name and a --set key with line breaks and escapes print as one escaped line."""
    spec = write(tmp_path / "net.yaml", TINY.replace("kernel_size: 3}", 'kernel_size: 3, name: "c\\nother.yaml:1:1:'
                                                                      ' error: forged\\e[31m"}'))
    for args in (["validate", spec], ["validate", "--format", "github", spec],
                 ["summary", spec], ["summary", write(tmp_path / "ok.yaml", TINY), "--set", "x\x1b[31m\n=1"]):
        code, out, err = cli(*args)
        assert code == 1, err
        text = out + err
        assert "\x1b" not in text and "\r" not in text
        assert not any(line.startswith("other.yaml") for line in text.splitlines()), text
        assert "Traceback" not in text
