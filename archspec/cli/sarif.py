"""SARIF 2.1.0 for ``archspec validate --format sarif``: the format GitHub code scanning uploads and shows.

One run of one tool (archspec); each diagnostic is a result at its file, line and column, its severity the
SARIF ``level``, its JSON pointer and hint in the message, and the template line it fired in (a library's)
as a related location. Paths stay as the report prints them (relative to the folder validate ran in, which
is the repository root in CI), as URIs.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from archspec.errors import Diagnostic, Location

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {  # SARIF wants results tied to rules; archspec's diagnostics are told apart by severity only
    "error": "a spec that does not validate (it would not build)",
    "warning": "a spec that builds but is likely wrong",
    "note": "context for another result (an import that leads to errors, a skipped file)",
}


def sarif_log(files: list[tuple[str, list[Diagnostic]]], version: str) -> dict:
    """The SARIF log of one validate run: ``files`` are (path, its diagnostics) in report order."""
    rule_ids = list(RULES)
    results, seen = [], set()
    for path, diagnostics in files:
        for d in diagnostics:
            if (d.location, d.message, d.severity) in seen:  # a library's problem, found through each network
                continue
            seen.add((d.location, d.message, d.severity))
            level = d.severity if d.severity in RULES else "note"
            result = {"ruleId": f"archspec/{level}", "ruleIndex": rule_ids.index(level), "level": level,
                      "message": {"text": _text(d)},
                      "locations": [_location(d.location or Location(path))]}
            if d.origin is not None:
                result["relatedLocations"] = [{**_location(d.origin), "id": 0,
                                               "message": {"text": "where the rule fired"}}]
            results.append(result)
    rules = [{"id": f"archspec/{level}", "shortDescription": {"text": text},
              "defaultConfiguration": {"level": level}} for level, text in RULES.items()]
    return {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "archspec", "version": version, "rules": rules}},
                  "columnKind": "unicodeCodePoints", "results": results}],
    }


def _text(d: Diagnostic) -> str:
    text = d.message
    if d.pointer is not None:
        text += f" [{d.pointer or '/'}]"
    if d.hint:
        text += f" ({d.hint})"
    return text


def _location(loc: Location) -> dict:
    path = Path(loc.file)
    uri = path.resolve().as_uri() if path.is_absolute() else urllib.parse.quote(path.as_posix())
    physical: dict = {"artifactLocation": {"uri": uri}}
    if loc.line is not None:
        physical["region"] = {"startLine": loc.line, "startColumn": loc.col or 1}
    return {"physicalLocation": physical}
