"""The architecture, enforced: every import of the workbench points down the layers.

    cli, api  ->  sweep  ->  pipeline  ->  report  ->  parts  ->  engine

The parts are config, data, formula, models, losses, optim and history; among them only the
edges in ``PART_EDGES`` are allowed (and they form no cycle). ``errors``, ``atomic`` and
``stats`` are utilities anyone may import. Imports inside functions count: a lazy import is
still a dependency. The engine imports numpy and the standard library, nothing else.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


PACKAGE = Path(__file__).resolve().parent.parent / "workbench"

RANKS = {
    "__main__": 7,
    "cli": 6, "api": 6,
    "sweep": 5,
    "pipeline": 4,
    "report": 3,
    "config": 2, "data": 2, "formula": 2, "models": 2, "losses": 2, "optim": 2, "history": 2,
    "engine": 1,
}
UTILITIES = {"errors", "atomic", "stats"}
PART_EDGES = {("config", "optim"), ("data", "formula"), ("models", "formula")}


def _component(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["workbench", *path.relative_to(PACKAGE).with_suffix("").parts][:-1]
    if path.name == "__init__.py":
        package = ["workbench", *path.relative_to(PACKAGE).parent.parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
                found += [(node.lineno, m) for m in names]
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def _edges():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue      # the package root re-exports lazily; it is not a layer
        source = _component(path)
        for line, module in _imported_modules(path):
            bits = module.split(".")
            if bits[0] != "workbench" or len(bits) < 2 or bits[1] == source:
                continue
            yield path, line, source, bits[1]


def _allowed(source: str, target: str) -> bool:
    if target in UTILITIES:
        return True
    if source in UTILITIES:
        return target in UTILITIES
    if source not in RANKS or target not in RANKS:
        return False
    if RANKS[target] < RANKS[source]:
        return True
    return (source, target) in PART_EDGES


def test_every_package_is_placed_in_a_layer():
    components = {_component(p) for p in PACKAGE.rglob("*.py")
                  if not (p.parent == PACKAGE and p.name == "__init__.py")}
    unplaced = sorted(components - set(RANKS) - UTILITIES)
    assert not unplaced, f"place these in RANKS (tests/test_layering.py) or fold them into a layer: {unplaced}"


def test_no_import_points_up_or_sideways():
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line} {source} -> {target}"
             for path, line, source, target in _edges() if not _allowed(source, target)]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_engine_imports_numpy_and_the_standard_library_only():
    stdlib = set(sys.stdlib_module_names)
    wrong = []
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        for line, module in _imported_modules(path):
            top = module.split(".")[0]
            if top in stdlib or top == "numpy" or module.startswith("workbench.engine") or module == "__future__":
                continue
            wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_check_itself_sees_an_upward_import(tmp_path, monkeypatch):
    assert not _allowed("report", "pipeline")
    assert not _allowed("pipeline", "sweep")
    assert not _allowed("engine", "formula")
    assert not _allowed("optim", "config")
    assert _allowed("config", "optim") and _allowed("cli", "engine")
    fake = tmp_path / "workbench" / "report"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("def f():\n    from workbench.pipeline.fit import run_fit\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "workbench")
    edges = list(_edges())
    assert [(s, t) for _, _, s, t in edges] == [("report", "pipeline")]
