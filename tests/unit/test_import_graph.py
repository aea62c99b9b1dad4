"""The import graph of our packages (DESIGN §1; issue 11): no cycles, no forbidden directions.

Built with grimp from the source, imports under ``if TYPE_CHECKING:`` and inside functions included:
a cycle only hidden from the interpreter is still one a reader has to untangle (the fix is a small
Protocol in a ports module, as ``devices/runtime/ports.py`` and ``devices/print_box/ports.py`` do).
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp
import pytest

OURS = ("protocol", "facecore", "hub", "devices", "firmware_sim")

# Imports that close today's hub cycles: issue 11 hub-side part removes these. Once one is gone the
# test below says so, and it leaves this list; the list only shrinks. A cycle that does not run
# through one of these fails at once.
# Empty: the hub has no import cycle. Keep it that way (an entry must still close a cycle).
KNOWN_HUB_CYCLE_IMPORTS: frozenset[tuple[str, str]] = frozenset()

# Frameworks and drivers that belong to adapters: pure domain code reaches none of them, even indirectly.
ADAPTER_LIBRARIES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "paho", "amqtt",
                     "cv2", "dlib", "face_recognition", "cups", "httpx")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # No cache: a stale cache could hide a fresh import; building takes well under a second.
    return grimp.build_graph(*OURS, include_external_packages=True, cache_dir=None)


def _in(module: str, packages: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _modules(graph: grimp.ImportGraph, packages: Iterable[str]) -> set[str]:
    packages = tuple(packages)
    return {m for m in graph.modules if _in(m, packages)}


def _where(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    lines = sorted({d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)})
    return f"{importer} -> {imported} (line {', '.join(map(str, lines)) or '?'})"


def _direct_imports(graph: grimp.ImportGraph, packages: Iterable[str], forbidden: Iterable[str]) -> list[str]:
    forbidden = tuple(forbidden)
    return sorted(_where(graph, m, target) for m in _modules(graph, packages)
                  for target in graph.find_modules_directly_imported_by(m) if _in(target, forbidden))


def _cycles(graph: grimp.ImportGraph, modules: set[str], *,
            ignored: frozenset[tuple[str, str]] = frozenset()) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative) of more than one module, among ``modules``."""
    def edges(m: str) -> list[str]:
        return sorted(t for t in graph.find_modules_directly_imported_by(m) if t in modules and (m, t) not in ignored)

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(edges(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges(child))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _describe(graph: grimp.ImportGraph, component: list[str],
              ignored: frozenset[tuple[str, str]] = frozenset()) -> str:
    inside = set(component)
    return "\n".join(["cycle among " + ", ".join(component)] + [
        "  " + _where(graph, m, t) for m in component for t in sorted(graph.find_modules_directly_imported_by(m))
        if t in inside and (m, t) not in ignored])


def _none(violations: list[str]) -> None:
    assert not violations, "forbidden imports:\n" + "\n".join(violations)


# --- forbidden directions ------------------------------------------------------------------------


def test_protocol_imports_nothing_of_ours(graph: grimp.ImportGraph) -> None:
    _none(_direct_imports(graph, ["protocol"], ["facecore", "hub", "devices", "firmware_sim"]))


def test_devices_and_the_simulator_never_import_the_hub(graph: grimp.ImportGraph) -> None:
    _none(_direct_imports(graph, ["devices", "firmware_sim"], ["hub"]))


def test_devices_never_import_the_simulator(graph: grimp.ImportGraph) -> None:
    # The simulator is built from devices/, not the other way round.
    _none(_direct_imports(graph, ["devices"], ["firmware_sim"]))


def test_facecore_imports_neither_hub_nor_devices(graph: grimp.ImportGraph) -> None:
    _none(_direct_imports(graph, ["facecore"], ["hub", "devices", "firmware_sim"]))


def test_hub_domain_imports_none_of_the_hubs_adapters(graph: grimp.ImportGraph) -> None:
    hub_outside_domain = sorted(m for m in _modules(graph, ["hub"]) if not _in(m, ["hub.domain"]) and m != "hub")
    _none(_direct_imports(graph, ["hub.domain"], hub_outside_domain))


def test_hub_domain_reaches_no_framework_or_driver(graph: grimp.ImportGraph) -> None:
    chains = []
    for lib in ADAPTER_LIBRARIES:
        if lib not in graph.modules:
            continue  # nothing of ours imports it at all
        for m in sorted(_modules(graph, ["hub.domain"])):
            chain = graph.find_shortest_chain(importer=m, imported=lib)
            if chain is not None:
                chains.append(" -> ".join(chain))
    _none(chains)


# --- cycles --------------------------------------------------------------------------------------


def test_no_cycles_in_protocol_facecore_devices_and_the_simulator(graph: grimp.ImportGraph) -> None:
    components = _cycles(graph, _modules(graph, ["protocol", "facecore", "devices", "firmware_sim"]))
    assert not components, "\n".join(_describe(graph, c) for c in components)


def test_no_new_import_cycle_in_the_hub(graph: grimp.ImportGraph) -> None:
    components = _cycles(graph, _modules(graph, OURS), ignored=KNOWN_HUB_CYCLE_IMPORTS)
    assert not components, "\n".join(_describe(graph, c, KNOWN_HUB_CYCLE_IMPORTS) for c in components)


def test_known_hub_cycle_imports_still_close_a_cycle(graph: grimp.ImportGraph) -> None:
    gone = sorted(f"{a} -> {b}" for a, b in KNOWN_HUB_CYCLE_IMPORTS
                  if not (graph.direct_import_exists(importer=a, imported=b)
                          and graph.chain_exists(importer=b, imported=a)))
    assert not gone, "no longer a cycle, remove from KNOWN_HUB_CYCLE_IMPORTS: " + ", ".join(gone)


def test_the_cycle_finder_finds_cycles() -> None:
    # The guard above is only as good as _cycles: a graph with a known cycle and a clean branch.
    g = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.e", "p.d")):
        g.add_import(importer=a, imported=b)
    assert _cycles(g, set(g.modules)) == [["p.a", "p.b", "p.c"]]
    assert _cycles(g, set(g.modules), ignored=frozenset({("p.c", "p.a")})) == []
