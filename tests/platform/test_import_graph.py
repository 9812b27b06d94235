"""The domain packages import each other without a cycle (function-level imports included).

Schema back-references between domains (a Stop's open exception, an exception's stop) are
`strawberry.lazy` annotations resolved by the schema, not imports; `if TYPE_CHECKING:` blocks never run.
"""
import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
DOMAINS = frozenset({
    "tenants", "customers", "routes", "tracking", "delivery_exceptions", "access", "alternatives", "outreach",
    "replanning", "integrations", "analytics",
})


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Every module imported when the code runs: module level and inside functions, not under TYPE_CHECKING."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def domain_graph(root: Path = APP) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {domain: set() for domain in DOMAINS}
    for path in root.rglob("*.py"):
        package = path.relative_to(root).parts[0]
        if package not in DOMAINS:
            continue
        for module in _runtime_imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[0] == "app" and len(parts) > 1 and parts[1] in DOMAINS and parts[1] != package:
                graph[package].add(parts[1])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := walk(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return None


def test_domain_packages_form_no_import_cycle():
    # given the import graph between domain packages as the code runs
    graph = domain_graph()

    # then it has no cycle
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path):
    # given two domains where one imports the other inside a function, and the other imports it back at the top
    (tmp_path / "routes").mkdir()
    (tmp_path / "outreach").mkdir()
    (tmp_path / "routes" / "flows.py").write_text("def f():\n    from app.outreach.flows import g\n")
    (tmp_path / "outreach" / "flows.py").write_text("from app.routes.models import Stop\n")

    # when the graph is walked
    cycle = find_cycle(domain_graph(tmp_path))

    # then the cycle is found
    assert cycle in (["outreach", "routes", "outreach"], ["routes", "outreach", "routes"])


def test_type_checking_imports_do_not_count(tmp_path):
    # given an import that only type checkers see
    (tmp_path / "routes").mkdir()
    (tmp_path / "outreach").mkdir()
    (tmp_path / "routes" / "types.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.outreach.types import T\n"
    )
    (tmp_path / "outreach" / "types.py").write_text("from app.routes.types import S\n")

    # then it is no edge, so no cycle
    assert find_cycle(domain_graph(tmp_path)) is None
