#!/usr/bin/env python3
"""The crate and module map of the workspace, from the code: which top-level module of
each crate uses which (`crate::…` paths in `use` lines and in the code), and which crates
use which (`tessera_…::`). Prints a Mermaid graph per crate (paste into ARCHITECTURE.md,
or any Mermaid viewer), then checks the server's floors: every arrow must point down
(FLOORS below) and no two modules may use each other, top-level modules and modules of
one folder alike. Exits 1 on an upward arrow or a cycle, so it can run in CI.

Usage: python3 scripts/module_map.py [--check]
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = {
    "tessera-token": "crates/tessera-token/src",
    "tessera-proto": "crates/tessera-proto/src",
    "tessera-server": "crates/tessera-server/src",
    "tessera-client": "crates/tessera-client/src",
    "tessera": "crates/tessera/src",
}
# The server's floors, top to bottom: a module may use its own floor's and lower ones'.
# `state` sits with `service`: the shared state holds the services' caches, and every use
# case takes it.
FLOORS = [
    ["startup"],
    ["http"],
    ["error"],
    ["service", "state"],
    ["keys", "metrics"],
    ["store"],
    ["domain", "config"],
]

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP_USE = re.compile(r"\buse\s+crate::\{([^;]*)\};", re.S)
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", re.S)


def top_module(src: Path, file: Path) -> str:
    rel = file.relative_to(src).with_suffix("")
    first = rel.parts[0]
    return "lib" if first in ("lib", "main") else first


def without_tests(text: str) -> str:
    """The file without its `#[cfg(test)] mod … { … }` blocks (tests may reach anywhere)."""
    m = TEST_MOD.search(text)
    while m:
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]
        m = TEST_MOD.search(text)
    return text


def uses(text: str) -> set[str]:
    found = set(CRATE_PATH.findall(text))
    for group in GROUP_USE.findall(text):
        for item in group.split(","):
            name = item.strip().split("::")[0].split(" ")[0]
            if re.fullmatch(r"[a-z_][a-z0-9_]*", name or ""):
                found.add(name)
    return found


def module_graph(src: Path) -> dict[str, set[str]]:
    graph = defaultdict(set)
    for file in sorted(src.rglob("*.rs")):
        me = top_module(src, file)
        graph[me]
        for other in uses(without_tests(file.read_text())):
            if other not in (me, "self", "super"):
                graph[me].add(other)
    return graph


def crate_graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for crate, src in CRATES.items():
        for file in (ROOT / src).rglob("*.rs"):
            text = without_tests(file.read_text())
            for used in set(re.findall(r"\b(tessera_[a-z]+)::", text)):
                name = used.replace("_", "-")
                if name != crate and name in CRATES:
                    graph[crate].add(name)
        graph[crate]
    return graph


def mermaid(title: str, graph: dict[str, set[str]]) -> str:
    lines = [f"%% {title}", "graph TD"]
    for node in sorted(graph):
        for dep in sorted(graph[node]):
            lines.append(f"    {node.replace('-', '_')} --> {dep.replace('-', '_')}")
    return "\n".join(lines)


def floor_of(module: str) -> int | None:
    for i, floor in enumerate(FLOORS):
        if module in floor:
            return i
    return None


def problems(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for module, deps in sorted(graph.items()):
        for dep in sorted(deps):
            mine, theirs = floor_of(module), floor_of(dep)
            if mine is not None and theirs is not None and theirs < mine:
                out.append(f"upward: {module} uses {dep}")
            if module in graph.get(dep, ()) and module < dep and mine != theirs:
                out.append(f"cycle: {module} <-> {dep}")
    return out


def sibling_cycles(src: Path) -> list[str]:
    """Two modules of one folder that use each other (by `super::name` or by the full
    `crate::…::name` path): the floors above only see top-level modules."""
    out = []
    for folder in sorted(p for p in src.rglob("*") if p.is_dir()):
        mods = {}
        for f in folder.glob("*.rs"):
            if f.name != "mod.rs":
                mods[f.stem] = f
        for d in folder.iterdir():
            if d.is_dir() and (d / "mod.rs").exists():
                mods[d.name] = d / "mod.rs"
        prefix = "crate::" + "::".join(folder.relative_to(src).parts) + "::"
        used = {}
        for name, file in mods.items():
            text = without_tests(file.read_text())
            group = " ".join(re.findall(r"super::\{([^}]*)\}", text))
            used[name] = {
                other
                for other in mods
                if other != name
                and (
                    re.search(rf"\bsuper::{other}\b", text)
                    or re.search(rf"\b{other}\b", group)
                    or (prefix + other) in text
                )
            }
        for a, deps in sorted(used.items()):
            for b in sorted(deps):
                if a < b and a in used.get(b, ()):
                    rel = folder.relative_to(src)
                    out.append(f"cycle: {rel}/{a} <-> {rel}/{b}")
    return out


def main() -> int:
    print("```mermaid")
    print(mermaid("crates", crate_graph()))
    print("```")
    failed = []
    for crate, src in CRATES.items():
        graph = module_graph(ROOT / src)
        print(f"\n{crate}:\n```mermaid")
        print(mermaid(crate, graph))
        print("```")
        if crate == "tessera-server":
            failed += problems(graph)
            failed += sibling_cycles(ROOT / src)
        else:
            failed += [
                f"{crate}: cycle: {a} <-> {b}"
                for a, deps in graph.items()
                for b in deps
                if a < b and a in graph.get(b, ()) and "lib" not in (a, b)
            ]
    for p in failed:
        print(p, file=sys.stderr)
    return 1 if failed and "--check" in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
