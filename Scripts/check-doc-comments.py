#!/usr/bin/env python3
"""Fails when a public symbol written in the sources has no `///` comment.

Usage: check-doc-comments.py <symbol-graph-dir> <Module>...

Reads the symbol graphs `swift package dump-symbol-graph` wrote. A symbol with no source
location is one the compiler made (a synthesized `Hashable` witness, a protocol
extension's default implementation such as `asUnownedTaskExecutor()`): there is no line
to comment, and its documentation comes from its protocol.
"""
import glob
import json
import os
import sys


def main() -> int:
    graph_dir, modules = sys.argv[1], sys.argv[2:]
    missing = []
    for module in modules:
        files = [os.path.join(graph_dir, f"{module}.symbols.json")]
        files += glob.glob(os.path.join(graph_dir, f"{module}@*.symbols.json"))
        for path in files:
            if not os.path.exists(path):
                print(f"no symbol graph for {module} at {path}", file=sys.stderr)
                return 1
            for symbol in json.load(open(path))["symbols"]:
                if symbol["accessLevel"] not in ("public", "open"):
                    continue
                location = symbol.get("location")
                if location is None or symbol.get("docComment"):
                    continue
                file = location["uri"].removeprefix("file://")
                line = location["position"]["line"] + 1
                name = ".".join(symbol["pathComponents"])
                missing.append(f"{os.path.relpath(file)}:{line}: {module}.{name} has no /// comment")
    for entry in missing:
        print(entry, file=sys.stderr)
    if missing:
        print(f"{len(missing)} public symbols without a /// comment", file=sys.stderr)
        return 1
    print(f"every public symbol of {', '.join(modules)} has a /// comment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
