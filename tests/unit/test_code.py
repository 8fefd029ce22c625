"""The shape of the code itself: imports flow one way without cycles, and the engine holds
no knowledge of the bundled article (that lives in its corpus profile)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The repository's folders and the subpackage of nanhai_qa each one is (pyproject.toml).
FOLDERS = {"ingest": "ingest", "index": "index", "app": "app", "eval": "eval", "prompts": "prompts", "data": "data"}
ENGINE = ("ingest", "index", "app")
FLOW = ["data", "ingest", "index", "app", "eval"]  # a folder may import only from those before it


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["nanhai_qa", *parts])


def project_modules() -> dict[str, Path]:
    modules = {"nanhai_qa": ROOT / "nanhai_qa" / "__init__.py"}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            modules[module_name(path)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    """The project modules `name` imports (a name imported from a package counts as the
    submodule when there is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_the_projects_modules():
    modules = project_modules()
    assert len(modules) > 40
    graph = {name: imports_of(name, path, modules, top_level_only=False) for name, path in modules.items()}
    assert cycles(graph) == []


def test_imports_flow_one_way_at_import_time():
    """ingest → index → app → eval: nothing imports, when it is loaded, a stage after its own
    (the CLI reaches eval only inside the command that needs it)."""
    modules = project_modules()
    stage = {name: name.split(".")[1] if "." in name else "" for name in modules}
    backwards = [
        f"{name} imports {other}"
        for name, path in modules.items()
        for other in imports_of(name, path, modules, top_level_only=True)
        if stage[name] in FLOW and stage[other] in FLOW and FLOW.index(stage[other]) > FLOW.index(stage[name])
    ]
    assert backwards == []


def test_the_service_layer_and_the_staff_desk_do_not_need_the_web_page():
    modules = project_modules()
    for name in ("nanhai_qa.app.service", "nanhai_qa.app.staff.desk"):
        imported = imports_of(name, modules[name], modules, top_level_only=False)
        assert not any(m.startswith("nanhai_qa.app.web") for m in imported), name
    service = modules["nanhai_qa.app.service"].read_text(encoding="utf-8")
    assert "gradio" not in service


def article_words() -> list[str]:
    """The bundled article's place and years, read from its profile."""
    profile = json.loads((ROOT / "data" / "nanhai-2023.profile.json").read_text(encoding="utf-8"))
    return [*profile["setting_words"], *profile["relative_years"], "nanhai", "foshan"]


def test_the_engine_code_names_neither_the_articles_place_nor_its_years():
    words = article_words()
    assert "南海" in words and "2023" in words
    found = []
    for folder in ENGINE:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    text = node.value.lower().replace("nanhai_qa", "").replace("nanhai-qa", "")
                    found += [f"{path.relative_to(ROOT)}:{node.lineno}: {w}" for w in words if w in text]
    assert found == []


def test_the_wordings_name_neither_the_articles_place_nor_its_years():
    words = article_words()
    found = [
        f"{path.relative_to(ROOT)}: {w}"
        for path in (ROOT / "prompts").rglob("*.txt")
        for w in words if w in path.read_text(encoding="utf-8").lower()
    ]
    assert found == []


@pytest.mark.parametrize("source", ['x = "南海区的计划"', 'def f():\n    """Plans for 2023."""'])
def test_the_literal_check_can_fail(source):
    constants = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)]
    assert any(w in str(c).lower() for c in constants for w in article_words())


def test_the_cycle_check_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
