"""The package layers (docs/design.md, "Layers"): the import graph of facebench/, adc_model/,
baselines/ and reports/, built with ``ast`` and counting imports inside functions, has no cycle and
no import from a lower layer to a higher one; only facebench/cli.py imports inside functions."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("facebench", "adc_model", "baselines", "reports")
LAZY_ALLOWED = {"facebench.cli"}

# (layer, module-name prefixes), bottom first; the longest matching prefix decides.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("facebench", "facebench.core")),
    ("nn", ("facebench.nn",)),
    ("methods", ("facebench.method", "adc_model", "baselines")),
    ("method table", ("facebench.methods",)),
    ("stages", ("facebench.data", "facebench.eval", "facebench.run")),
    ("reports", ("reports",)),
    ("benchmarks and reproduce", ("facebench.bench", "facebench.reproduce")),
    ("cli", ("facebench.cli", "facebench.__main__")),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank is None:
        raise AssertionError(f"module {module} is in no layer (add it to LAYERS in {Path(__file__).name})")
    return rank


def imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function or class) for every import of ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                found.append((target, node.lineno, id(node) not in top))
    return found


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    return _graph(ROOT)


@lru_cache(maxsize=None)
def _graph(root: Path) -> dict[str, list[tuple[str, int, bool]]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def test_every_import_target_exists():
    known = modules()
    missing = [f"{m}:{line} imports {t}" for m, edges in graph().items() for t, line, _ in edges if t not in known]
    assert not missing, "\n".join(missing)


def test_no_imports_inside_functions_except_cli():
    lazy = [f"{m}:{line} imports {t} inside a function" for m, edges in graph().items() if m not in LAZY_ALLOWED
            for t, line, inner in edges if inner]
    assert not lazy, "\n".join(lazy)


def test_no_upward_import():
    upward = []
    for m, edges in graph().items():
        for target, line, _ in edges:
            if layer_of(target) > layer_of(m):
                upward.append(f"{m}:{line} ({LAYERS[layer_of(m)][0]}) imports {target} "
                              f"({LAYERS[layer_of(target)][0]}), a higher layer")
    assert not upward, "\n".join(upward)


def test_no_cycle():
    edges = {m: sorted({t for t, _, _ in e if t != m}) for m, e in graph().items()}
    state: dict[str, int] = {}   # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in edges.get(m, []):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                cycle = visit(t)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["facebench.core", "facebench.nn", "adc_model", "baselines"])
def test_the_method_table_is_above(module):
    """Nothing below the table imports it (the table imports the methods)."""
    users = [m for m, edges in graph().items() if m == module or m.startswith(module + ".")
             for t, _, _ in edges if t == "facebench.methods"]
    assert not users, users


def test_package_inits_hold_no_imports():
    """Sub-package ``__init__`` files stay empty of imports: a name is imported from the module
    that defines it (facebench/__init__.py holds only the version)."""
    inits = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")]
    with_imports = [str(p.relative_to(ROOT)) for p in inits
                    if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.parse(p.read_text()).body)]
    assert not with_imports, with_imports


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path):
    """The checks above can fail: a two-module cycle and a core -> nn import are found."""
    pkg = tmp_path / "facebench"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from facebench.core import b\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from facebench.core.a import x\n    from facebench.nn import y\n")
    globals()["ROOT"], old = tmp_path, ROOT
    try:
        cycle = "import cycle: facebench.core.a -> facebench.core.b -> facebench.core.a"
        with pytest.raises(AssertionError, match=cycle):
            test_no_cycle()
        with pytest.raises(AssertionError, match=r"facebench.core.b:3 \(core\) imports facebench.nn \(nn\)"):
            test_no_upward_import()
        with pytest.raises(AssertionError, match="facebench.core.b:2 imports facebench.core.a inside a function"):
            test_no_imports_inside_functions_except_cli()
    finally:
        globals()["ROOT"] = old
