"""The weights a spec publishes (``published:``): which file, URL and hash a build's options name (pure Python;
the download is backend.build.published_weights)."""

from __future__ import annotations

from typing import Iterable

from archspec.errors import Diagnostic, SpecError
from archspec.lang.compose import Spec, SpecCache, load_spec
from archspec.lang.sources import bundled_names
from archspec.limits import DEFAULT_LIMITS, Limits


def published_file(spec: Spec, include_top: bool = True, input_shape: tuple | None = None,
                   weights: str = "imagenet", limits: Limits = DEFAULT_LIMITS) -> dict[str, str | None]:
    """The ``file``, ``url`` and ``hash`` a spec's ``published`` entry names for these build options (pure
    Python, nothing fetched). Every value is a name template whose ``{...}`` fields see the spec's ``vars``,
    ``rows`` and ``cols`` (the model's input height and width, null when open) and, in ``url`` and
    ``hash``, ``file``. An ``if`` that is false, a missing entry or a bad template is a located error."""
    from archspec.lang.expressions import ExpressionError, evaluate, format_template

    entries = spec.data.get("published") or {}
    if weights not in entries:
        cache = SpecCache()  # the bundled specs share their libraries: each is read once
        having = [n for n in bundled_names() if weights in (_published_names(n, cache) or ())]
        raise SpecError(Diagnostic(
            f"'{spec.name}' declares no published '{weights}' weights", spec.where(("published",)), "/published",
            hint=(f"bundled specs with published '{weights}' weights: {', '.join(having)}" if having else
                  f"no bundled spec publishes '{weights}' weights") + "; or give a weight file path"))
    entry = entries[weights]
    shape = tuple(input_shape or spec.data.get("input") or (None, None, None))
    scope = {**spec.data.get("vars", {}), "rows": shape[0], "cols": shape[1]}
    path: tuple = ("published", weights)
    try:
        condition = entry.get("if", True)
        if isinstance(condition, str):
            path = path + ("if",)
            condition = evaluate(condition, scope, limits)
        if not condition:
            options = ", ".join(f"{k}={v!r}" for k, v in scope.items() if isinstance(v, (int, float, str)))
            raise SpecError(Diagnostic(
                f"'{spec.name}' cannot load its published '{weights}' weights" if entry.get("if") is False else
                f"'{spec.name}' has no published '{weights}' weights for these options ({options})",
                spec.where(path), "/" + "/".join(path), hint=entry.get("doc")))
        which = "top" if include_top else "notop"
        if not isinstance(entry.get(which), dict):
            raise SpecError(Diagnostic(f"'{spec.name}' publishes no '{weights}' file "
                                       f"{'with' if include_top else 'without'} the top ('{which}')",
                                       spec.where(path), "/" + "/".join(path)))
        found: dict[str, str | None] = {}
        for key in ("file", "url", "hash"):
            path = ("published", weights, which, key)
            raw = entry[which].get(key)
            if raw is None and key != "hash":
                raise SpecError(Diagnostic(f"the published '{weights}' {which} file has no '{key}'",
                                           spec.where(path), "/" + "/".join(path)))
            found[key] = None if raw is None else format_template(str(raw), {**scope, **found}, limits)
    except ExpressionError as exc:
        raise SpecError(Diagnostic(str(exc), spec.where(path), "/" + "/".join(path), hint=exc.hint)) from None
    return found


def _published_names(name: str, cache: SpecCache) -> Iterable[str] | None:
    try:
        return load_spec(name, cache=cache).data.get("published")
    except SpecError:
        return None
