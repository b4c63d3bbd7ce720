"""Layers that only look down: models -> engine -> kernels -> theory -> train -> experiments -> cli.

Every import between qntk's modules is read from the source (module level and inside functions) and
checked against the layer of each module: a module imports only from its own layer or lower ones,
kernels never imports theory (theory evaluates circuits through kernels only for its Monte Carlo
estimates over its own ensembles), the graph of imports has no
cycle, qntk's modules are imported only at the top of a module (no import inside a function to dodge
a cycle), and the table helpers of the reproductions do not import the registry that discovers the
figures.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: (module prefix, layer); the longest matching prefix wins. Equal layers may import each other only
#: inside one package (``SIBLINGS`` lists the pairs that must not).
LAYERS = [
    ("qntk", 0),  # the package itself (turns on float64)
    ("qntk._provenance", 0),
    ("qntk.models", 0),
    ("qntk._sim", 1),
    ("qntk.kernels", 2),
    ("qntk.theory", 2),
    ("qntk.train", 3),
    ("qntk.experiments", 4),
    ("qntk.config", 1),  # settings files (flags over TOML over defaults): read by the CLI and by sweeps
    ("qntk.cli", 5),
    ("qntk.__main__", 5),
]
SIBLINGS = [("qntk.kernels", "qntk.theory")]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted((SRC / "qntk").rglob("*.py"))}


def _layer(module: str) -> int:
    return max((p for p in LAYERS if module == p[0] or module.startswith(p[0] + ".")), key=lambda p: len(p[0]))[1]


def _imports(module: str) -> set[str]:
    """The qntk modules that ``module`` imports anywhere in its source (``from X import name`` counts as
    an import of ``X.name`` when that is a module)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("qntk"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("qntk"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    found.discard(module)
    return {m for m in found if m != "qntk"}


GRAPH = {m: _imports(m) for m in MODULES}


def test_the_layer_table_covers_every_module():
    assert "qntk.models.model" in MODULES and "qntk.experiments.reproduce" in MODULES
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_look_down(module):
    for target in GRAPH[module]:
        assert target in MODULES, f"{module} imports {target}, which does not exist"
        assert _layer(target) <= _layer(module), f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for a, b in SIBLINGS:
            assert not (module.startswith(a) and target.startswith(b)), f"{module} imports its sibling {target}"


def test_no_import_cycle():
    """Module-level and function-level imports together form a directed acyclic graph (package
    ``__init__`` modules re-export their submodules, so the edges from a submodule to its own package
    are left out)."""
    state: dict[str, int] = {}

    def visit(module, path):
        state[module] = 1
        for target in GRAPH[module]:
            if module.startswith(target + "."):
                continue  # a submodule importing a name its package re-exports
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [target]))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_lazy_import_of_qntk(module):
    """qntk's own modules are imported at the top of a module, never inside a function (an import
    there would only hide a cycle or an upward import; optional third-party packages may be)."""
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                relative = isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "").startswith("qntk"))
                absolute = isinstance(inner, ast.Import) and any(a.name.startswith("qntk") for a in inner.names)
                assert not (relative or absolute), f"{module}:{inner.lineno} imports qntk inside {node.name}()"


def test_figures_and_table_helpers_do_not_import_the_registry():
    """The registry imports every figure module; the figures and their table helpers must not import it back
    (the sweeps, which run figures by name, may)."""
    helpers = [m for m in GRAPH if m.startswith("qntk.experiments.figures") or m == "qntk.experiments._table"]
    assert "qntk.experiments.figures.seed004.fig3" in helpers
    for module in helpers:
        assert "qntk.experiments.reproduce" not in GRAPH[module], module


def test_the_rules_can_fail():
    """The checks see a violation: the simulator's kernels importing theory, and a cycle."""
    with pytest.raises(AssertionError):
        GRAPH["qntk.kernels"] = GRAPH["qntk.kernels"] | {"qntk.theory.lazy"}
        try:
            test_imports_only_look_down("qntk.kernels")
        finally:
            GRAPH["qntk.kernels"] -= {"qntk.theory.lazy"}
    with pytest.raises(AssertionError, match="cycle"):
        GRAPH["qntk.models.pauli"] = GRAPH["qntk.models.pauli"] | {"qntk.models.circuits"}
        try:
            test_no_import_cycle()
        finally:
            GRAPH["qntk.models.pauli"] -= {"qntk.models.circuits"}
