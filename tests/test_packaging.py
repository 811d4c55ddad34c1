"""The wheel must contain every subpackage, the schema and the bundled zoo."""

from __future__ import annotations

import tomllib

from tests.support.paths import ROOT


def test_every_archspec_subpackage_is_listed_for_setuptools():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "archspec").rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert config["package-dir"]["archspec.specs"] == "specs"
    assert {"archspec.specs", "archspec.specs.lib"} <= listed
