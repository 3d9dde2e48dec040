"""The scenario-key reference (docs/reference.md), generated from the
schema itself: every section and agent type with its docstring and every
key with its type, limits and default. ``python -m cfx.reference`` prints
it; a test checks the checked-in file is current, so the reference cannot
drift from the code.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import msgspec
import msgspec.inspect as mi

from cfx.agents.base import AgentSpec
from cfx.sim import scenario as scn

HEADER = """# Scenario reference

Generated from the scenario schema by `python -m cfx.reference > docs/reference.md`
(a test fails when this file is out of date). Keys are kebab-case; every key is
optional unless marked **required**. Prices are in ticks, sizes in lots, times in
nanoseconds (`-ns`) or seconds (`-s`), money in dollars (`-usd`) or micro-dollars
where a key says so. `cfx schema` prints the same schema as JSON Schema.
"""


def _type(t: mi.Type) -> str:
    """A short, readable type with its limits."""
    if isinstance(t, mi.UnionType):
        parts = [_type(x) for x in t.types if not isinstance(x, mi.NoneType)]
        s = " or ".join(parts)
        return s + " or none" if any(isinstance(x, mi.NoneType) for x in t.types) else s
    if isinstance(t, (mi.IntType, mi.FloatType)):
        name = "int" if isinstance(t, mi.IntType) else "float"
        # typing caches Annotated[float, Meta(ge=0)] and Meta(ge=0.0) as one
        # (they compare equal), so a float's bound is printed as a float
        # whatever spelling the cache kept.
        kind = int if name == "int" else float
        lims = [f"{op} {kind(v)}" for op, v in ((">", t.gt), (">=", t.ge), ("<", t.lt), ("<=", t.le)) if v is not None]
        return f"{name} ({', '.join(lims)})" if lims else name
    if isinstance(t, mi.StrType):
        return f"string matching `{t.pattern}`".replace("|", "\\|") if t.pattern else "string"
    if isinstance(t, mi.LiteralType):
        return " or ".join(f"`{v}`" for v in t.values)
    if isinstance(t, mi.EnumType):
        return " or ".join(f"`{m.value}`" for m in t.cls)
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType)):
        return f"list of {_type(t.item_type)}"
    if isinstance(t, mi.DictType):
        return f"table of {_type(t.key_type)} → {_type(t.value_type)}"
    if isinstance(t, mi.StructType):
        return f"[{_title(t.cls)}](#{_anchor(t.cls)})"
    simple = {
        mi.BoolType: "bool",
        mi.DateType: "date",
        mi.TimeType: "time",
        mi.DateTimeType: "datetime",
        mi.AnyType: "any",
    }
    return simple.get(type(t), type(t).__name__.removesuffix("Type").lower())


def _title(cls: type) -> str:
    tag = cls.__struct_config__.tag
    return f'agent type "{tag}"' if tag and issubclass(cls, AgentSpec) else (f'shock "{tag}"' if tag else cls.__name__)


def _anchor(cls: type) -> str:
    return _title(cls).lower().replace('"', "").replace(" ", "-")


def _default(f: mi.Field) -> str:
    if f.required:
        return "**required**"
    if isinstance(f.type, mi.StructType):
        return "its own defaults"
    if f.default_factory is not msgspec.NODEFAULT:
        value: Any = f.default_factory()
    else:
        value = f.default
    value = msgspec.to_builtins(value)
    return "none" if value is None else f"`{value!r}`".replace("|", "\\|")


def _structs(t: mi.Type, seen: dict[type, mi.StructType]) -> None:
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return
        seen[t.cls] = t
        for f in t.fields:
            _structs(f.type, seen)
    elif isinstance(t, mi.UnionType):
        for x in t.types:
            _structs(x, seen)
    elif isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType)):
        _structs(t.item_type, seen)
    elif isinstance(t, mi.DictType):
        _structs(t.value_type, seen)


def render() -> str:
    """The reference as Markdown."""
    seen: dict[type, mi.StructType] = {}
    _structs(mi.type_info(scn.Scenario), seen)  # the built-in agent types only, not plugins
    out = [HEADER]
    for cls, info in seen.items():
        doc = inspect.cleandoc(cls.__doc__ or "")
        out.append(f'<a id="{_anchor(cls)}"></a>\n## {_title(cls)}\n')
        if doc:
            out.append(doc + "\n")
        out.append("| key | type | default |\n|---|---|---|")
        for f in info.fields:
            out.append(f"| `{f.encode_name}` | {_type(f.type)} | {_default(f)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
