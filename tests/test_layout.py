"""The package's shape, as the first review asked it to stay (docs/design.md
has the layers): modules under 800 lines, no private name imported across
modules, no lower layer importing a higher one, and long positional
constructor calls only on the hot paths that measured the difference.
Read from the source with `ast`; nothing is imported or run."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cfx"
SOURCES = sorted(PACKAGE.rglob("*.py"))

# the top of the package: the commands, the Python API and what reads finished runs
TOP = ("cfx.api", "cfx.cli", "cfx.report", "cfx.sweep", "cfx.hedge", "cfx.facts", "cfx.reference")
# the simulation and its participants, above the exchange (engine, clearing, venue, index, otc, core)
SIMULATION = ("cfx.sim", "cfx.agents")

# (file, callee): calls with 10 or more positional arguments kept on purpose, where they run per
# message or per fill (a Trade: 67 ns positional, 91 ns by keyword, python -m timeit)
HOT_POSITIONAL = {
    ("book.py", "Order"),
    ("book.py", "Trade"),  # a resting order and a fill
    ("engine.py", "Order"),
    ("engine.py", "OrderAccepted"),  # every accepted order
    ("calls.py", "Order"),
    ("calls.py", "OrderAccepted"),
    ("calls.py", "Trade"),  # the same in a call or batch
    ("core/rows.py", "Trade"),
    ("core/rows.py", "OrderAccepted"),  # the compiled core's rows made events
    ("sim/participant.py", "SubmitOrder"),  # every agent order
    ("hedge/output.py", "t.add_row"),  # a table row: its cells are positional by rich's design
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import, at any depth."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
    return out


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_module_of_the_package_reaches_800_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in [*SOURCES, *PACKAGE.rglob("*.pyx")]
        if (n := len(p.read_text().splitlines())) >= 800
    }
    assert long == {}, "split these at their own section headers"


def _is_module(dotted: str) -> bool:
    """A module of the package (``cfx.core._book``, the compiled core: a private module, not a name)."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or path.with_suffix(".pyx").is_file()


def test_no_module_imports_a_private_name_from_another():
    found = [
        f"{p.relative_to(PACKAGE)}:{line}: {name} from {module}"
        for p in SOURCES
        for line, module, names in _imports(ast.parse(p.read_text()))
        if module.startswith("cfx")
        for name in names
        if name.startswith("_") and not name.startswith("__") and not _is_module(f"{module}.{name}")
    ]
    assert found == []


def test_the_lower_layers_never_import_the_higher_ones():
    found = []
    for p in SOURCES:
        me = _module(p)
        if _within(me, TOP) or me in ("cfx", "cfx.__main__"):
            continue
        above = TOP if _within(me, SIMULATION) else TOP + SIMULATION
        for line, module, names in _imports(ast.parse(p.read_text())):
            targets = [module, *(f"{module}.{n}" for n in names)]
            if any(_within(t, above) for t in targets):
                found.append(f"{p.relative_to(PACKAGE)}:{line}: {me} imports {module}")
    assert found == []


def test_calls_of_ten_or_more_positional_arguments_stay_on_the_hot_paths():
    found = set()
    for p in SOURCES:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and len(node.args) >= 10:
                found.add((p.relative_to(PACKAGE).as_posix(), ast.unparse(node.func)))
    assert found <= HOT_POSITIONAL, sorted(found - HOT_POSITIONAL)
    assert found == HOT_POSITIONAL, f"no longer there, drop from HOT_POSITIONAL: {sorted(HOT_POSITIONAL - found)}"
