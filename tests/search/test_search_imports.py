"""search/ modules import one another in one direction only: no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import advisor.search

FOLDER = Path(advisor.search.__file__).parent


def _imports() -> dict[str, set[str]]:
    found = {}
    for path in FOLDER.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found[path.stem] = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)  # lazy imports inside functions count too
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("advisor.search.")
        }
    return found


def test_no_module_of_search_imports_itself_through_others() -> None:
    imports = _imports()
    assert imports["_worker"] >= {"_confirm", "_prepare"}  # the checker sees real imports

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(imports.get(start, ()))
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(imports.get(module, ()))
        return seen

    cycles = sorted(module for module in imports if module in reach(module))
    assert cycles == []
