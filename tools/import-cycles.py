#!/usr/bin/env python3
"""Import circles between the top-level modules of a crate's src/.

Reads every `crate::` path in each .rs file under SRC (use lines and inline
paths alike; comments and doc comments are skipped), maps the file and the
path to their top-level module (a folder, or a file at the top), and
reports every strongly connected group of two or more: an import circle.
`lib.rs` and `main.rs` (the crate root and the binary) are left out, and
`crate::Error` (re-exported by the root) counts as `error`.

Usage: tools/import-cycles.py [SRC] [--edges]   (default: daemon/src)
Exit status: 0 no circle, 1 circles found.
"""
import os
import re
import sys

ROOT_ALIASES = {"Error": "error"}


def top_of_file(src, path):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def strip_comments(text):
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("//"):
            continue
        out.append(line.split(" // ")[0])
    return "\n".join(out)


def crate_paths(text):
    """Top-level names reached through `crate::`, including `use crate::{a, b::c}`."""
    names = set()
    for m in re.finditer(r"crate::\{([^}]*)\}", text, re.S):
        for part in m.group(1).split(","):
            part = part.strip()
            if part:
                names.add(re.split(r"[:\s{]", part)[0])
    for m in re.finditer(r"crate::([A-Za-z_][A-Za-z0-9_]*)", text):
        names.add(m.group(1))
    for m in re.finditer(r"\$crate::([A-Za-z_][A-Za-z0-9_]*)", text):
        names.add(m.group(1))
    return names


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = args[0] if args else "daemon/src"
    tops = set()
    for entry in os.listdir(src):
        path = os.path.join(src, entry)
        if os.path.isdir(path):
            tops.add(entry)
        elif entry.endswith(".rs"):
            tops.add(entry[:-3])
    tops -= {"lib", "main"}
    edges = {t: {} for t in tops}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            a = top_of_file(src, path)
            if a not in tops:
                continue
            text = strip_comments(open(path, encoding="utf-8").read())
            for name in crate_paths(text):
                b = ROOT_ALIASES.get(name, name)
                if b in tops and b != a:
                    edges[a].setdefault(b, set()).add(os.path.relpath(path, src))
    # Tarjan's strongly connected components.
    index, low, stack, on, groups = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(tops):
        if v not in index:
            visit(v)
    if "--edges" in sys.argv:
        for a in sorted(edges):
            print(f"{a} -> {', '.join(sorted(edges[a])) or '(nothing)'}")
    if not groups:
        print(f"no import circle among the {len(tops)} top-level modules of {src}")
        return 0
    for group in groups:
        print("circle: " + " <-> ".join(group))
        members = set(group)
        for a in group:
            for b in sorted(edges[a]):
                if b in members:
                    print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
