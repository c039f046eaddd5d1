#!/usr/bin/env python3
"""Lint: the modules of src/ form no import cycle.

A module depends on another when it names it: a `crate::` / `super::` / `self::` path
anywhere in its code, a `use` (groups `{a, b::c}` expanded, `as` aliases followed by
their target), or a re-export (`pub use`) — a name re-exported by `m` is a dependency on
`m`, and `m`'s own `use` adds the dependency on where the name lives, so a cycle through
a re-export shows.  A parent module's `mod child;` line is not a dependency (a folder
declares its files), and `#[cfg(test)]` test modules are skipped.

    python3 scripts/check_modules.py [src]      # exit 1 and the cycles, if any
    python3 scripts/check_modules.py --graph    # every module's dependencies
"""
import re
import sys
from pathlib import Path


def module_of(path, src):
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def strip(code):
    """Code without comments, string literals and char literals (a SQL string that says
    `crate::` is not a dependency)."""
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    code = re.sub(r'r(#*)".*?"\1', '""', code, flags=re.S)
    code = re.sub(r'"(?:\\.|[^"\\])*"', '""', code, flags=re.S)
    code = re.sub(r"//[^\n]*", "", code)
    code = re.sub(r"'(?:\\.|[^'\\])'", "' '", code)
    return code


def expand_use(tree):
    """`a::{b, c::{d, e as f}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [tree.split("as")[0] if "as" in tree and not tree.startswith("as") else tree]
    prefix, inner = tree[:brace], tree[brace + 1:tree.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in filter(None, items):
        for sub in expand_use(item):
            out.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return out


def resolve(path, here, modules):
    """The module a path names: the longest module prefix of its absolute form."""
    parts = [p for p in path.split("::") if p]
    base = list(here)
    if not parts:
        return None
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    elif parts[0] in ("super", "self"):
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
    elif tuple(base + parts[:1]) not in modules:
        return None  # an outside crate's path (a child module's is relative, as in 2018+)
    full = base + parts
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in modules:
            return tuple(full[:n])
    return None


def dependencies(src):
    files = {module_of(p, src): p for p in src.rglob("*.rs")}
    modules = set(files)
    deps = {m: set() for m in modules}
    for mod, path in files.items():
        code = strip(path.read_text())
        # test modules inside a file are not part of the design
        code = re.sub(r"#\[cfg\((?:any\()?test[^\]]*\]\s*(?:pub\s+)?mod\s+\w+\s*\{", "mod __test {", code)
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            for p in expand_use(m.group(1)):
                target = resolve(p, mod, modules)
                if target is not None and target != mod and not is_ancestor(target, mod):
                    deps[mod].add(target)
        for m in re.finditer(r"(?<![:\w])(\w+(?:::\w+)+)", code):
            target = resolve(m.group(1), mod, modules)
            if target is not None and target != mod and not is_ancestor(target, mod):
                deps[mod].add(target)
    return deps


def is_ancestor(a, b):
    """`a` contains `b` (crate root or a folder of it): naming a parent's item is how a
    child reaches its siblings' shared code, so that edge alone is not counted; the root
    only wires modules."""
    return len(a) < len(b) and b[:len(a)] == a and len(a) == 0


def cycles(deps):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = Path(args[0] if args else Path(__file__).resolve().parent.parent / "src")
    deps = dependencies(src)
    if "--graph" in sys.argv:
        for m in sorted(deps):
            print(f"{name(m)} -> {', '.join(name(d) for d in sorted(deps[m]))}")
    found = cycles(deps)
    for comp in found:
        members = set(comp)
        print("import cycle among: " + ", ".join(name(m) for m in comp))
        for m in comp:
            inside = sorted(d for d in deps[m] if d in members)
            print(f"    {name(m)} -> {', '.join(name(d) for d in inside)}")
    if found:
        return 1
    print(f"no import cycle among {len(deps)} modules of {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
