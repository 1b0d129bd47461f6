"""The two layers of the package: Dagster objects in ``defs/`` (wired in ``definitions.py``),
plain Python below that imports neither Dagster nor anything above it."""

import ast
import re
from pathlib import Path

import mlops_assets

PACKAGE = Path(mlops_assets.__file__).parent
ABOVE = ("mlops_assets.defs", "mlops_assets.definitions")
DAGSTER_LAYER = {
    "__init__.py",
    "__main__.py",
    "cli.py",
    "definitions.py",
    "defs",
}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def plain_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in DAGSTER_LAYER
    ]


def test_the_plain_packages_import_no_dagster_and_nothing_from_above():
    offenders = {}
    for path in plain_modules():
        bad = sorted(
            name
            for name in imported_modules(path)
            if name.split(".")[0] in ("dagster", "dagster_mlflow") or name.startswith(ABOVE)
        )
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}


def test_the_check_sees_the_plain_modules():
    # A guard for the test above: it would pass on an empty list.
    names = {str(p.relative_to(PACKAGE)) for p in plain_modules()}
    assert {"records.py", "settings.py", "github/publish.py", "tracking/mlflow_client.py"} <= names
    assert not any(name.startswith("defs/") for name in names)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports when it is loaded (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def test_no_import_cycles():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: top_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    # The package itself imports the code location; its submodules importing their parent
    # package is how Python works, not a cycle of ours.
    graph = {name: {d for d in deps if d != "mlops_assets"} for name, deps in graph.items()}
    state: dict[str, str] = {}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                cycles.append([*trail[trail.index(dep) :], dep] if dep in trail else [name, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
    assert graph["mlops_assets.definitions"]  # the graph was built from real imports


def test_our_own_environment_variables_are_read_in_settings_only():
    """``settings.py`` owns every ``MLOPS_ASSETS_*`` name; other modules call its functions.
    (MLflow's, DagsHub's and GitHub's standard variables keep their homes: settings' docstring.)"""
    name = re.compile(r"""["']MLOPS_ASSETS_[A-Z]""")
    read = re.compile(r"\.get\(settings\.(?!GITHUB_)[A-Z_]+|environ\[settings\.")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "settings.py"
        and (name.search(text := path.read_text(encoding="utf-8")) or read.search(text))
    ]
    assert offenders == []
