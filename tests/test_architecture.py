"""The shape of the code: no import cycle between the project's modules, and the app layering.

Both read the import graph that grimp builds from the source (every import, including those inside
functions, which is where cycles used to hide); nothing is imported or run. The layering contracts live
in pyproject.toml ([tool.importlinter]) so that ``lint-imports`` gives the same answer on the command
line; the cycle check is written here because import-linter's ``acyclic_siblings`` only compares the
children of one package, while a cycle may run across apps (billing -> smsplatform -> billing).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
APPS = ("smsplatform", "campaigns", "billing", "contacts", "compliance", "analytics")

# The one kind of cycle allowed: a leaf that puts a Celery task on the queue imports the task module
# inside the function, since the tasks import (through the services) the modules that enqueue.
LAZY_TASK_IMPORTS = {
    ("campaigns.enqueue", "campaigns.tasks"),
    ("contacts.enqueue", "contacts.tasks"),
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*APPS, cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    edges = {
        m: sorted(
            n
            for n in graph.find_modules_directly_imported_by(m)
            if ".migrations" not in n and (m, n) not in LAZY_TASK_IMPORTS
        )
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = [" <-> ".join(cycle)]
    for importer in cycle:
        for imported in cycle:
            if (importer, imported) in LAZY_TASK_IMPORTS:
                continue
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_no_import_cycle_between_the_projects_modules(graph):
    cycles = _cycles(graph)
    assert not cycles, (
        "Import cycles (break each with a leaf module, or move the code that needs both sides above them):\n"
        + "\n".join(_describe(graph, cycle) for cycle in cycles)
    )


@pytest.mark.parametrize(("importer", "imported"), sorted(LAZY_TASK_IMPORTS))
def test_task_modules_are_imported_lazily_by_the_enqueueing_leaves(graph, importer, imported):
    """The cycle check lets these imports through only as long as they stay inside functions."""
    assert graph.direct_import_exists(importer=importer, imported=imported)
    path = ROOT.joinpath(*importer.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text())
    module_level = [
        node.lineno
        for node in tree.body
        if isinstance(node, ast.ImportFrom | ast.Import)
        and imported.rsplit(".", 1)[-1] in {node.module or "", *(alias.name for alias in node.names)}
    ]
    assert not module_level, f"{importer} imports {imported} at module level (line {module_level})"


# Where an import of the project's own modules may sit inside a function: the enqueueing leaves (above)
# and AppConfig.ready(), which Django calls once every app's models are loaded.
LAZY_IMPORT_PLACES = {
    "campaigns/enqueue.py",
    "contacts/enqueue.py",
    "smsplatform/apps.py",
    "billing/apps.py",
}


def _function_level_own_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    lines = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and (node.level or node.module.split(".")[0] in APPS):
                lines.append(node.lineno)
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in APPS for a in node.names):
                lines.append(node.lineno)
    return sorted(set(lines))


def test_imports_inside_functions_only_where_they_must_be():
    """An import of the project inside a function hides a dependency from the reader (and used to hide
    the cycles): the module says what it needs at its top."""
    hidden = {
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in LAZY_IMPORT_PLACES
        for line in _function_level_own_imports(path)
    }
    assert not hidden, f"Move these imports to the top of their module: {sorted(hidden)}"


def test_app_layering_contracts_are_kept():
    """import-linter's report (printed, so pytest shows it when a contract breaks) on the contracts of
    pyproject.toml."""
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert exit_code == 0, "Broken import contracts: see the report in the captured output"


# --- module and function size, settings ----------------------------------------------------------------

# Beyond these a module hides its parts and a function its steps (docs/architecture.md, "Code shape").
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
SOURCE_DIRS = (*APPS, "bench")


def _sources() -> list[Path]:
    return [
        path
        for folder in SOURCE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_no_module_outgrows_one_file():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _sources()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"Modules over {MAX_MODULE_LINES} lines (make each a package of its parts): {long}"


def test_no_function_outgrows_one_screen():
    long = {
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}": node.end_lineno - node.lineno + 1
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert not long, f"Functions over {MAX_FUNCTION_LINES} lines (split them into named steps): {long}"


def _settings_read_with_a_default(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) == 3
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "settings"
    ]


def test_every_setting_is_declared_once_in_the_settings_module():
    """A default restated where a setting is read drifts from the one in settings.py (or stands in for a
    declaration that does not exist): declare it in smsplatform/settings.py and read ``settings.X``."""
    scattered = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        for line in _settings_read_with_a_default(path)
    ]
    assert not scattered, f"Settings read with a default instead of declared: {scattered}"
