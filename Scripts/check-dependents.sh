#!/usr/bin/env bash
# Checks that a package depending on LoopChannels resolves no other package: for each
# library product, a throwaway dependent package is resolved against this checkout and its
# Package.resolved must list no package at all. The ServiceLifecycle trait, asked for
# explicitly, must bring in swift-service-lifecycle and what it needs, and nothing else.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The pins of a dependent package with the given dependency line and product, one per line.
pins() {
    local dependency="$1" product="$2" dir="$work/dependent-$RANDOM"
    mkdir -p "$dir/Sources/Dependent"
    cat >"$dir/Package.swift" <<MANIFEST
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "Dependent",
    dependencies: [$dependency],
    targets: [.target(name: "Dependent", dependencies: [.product(name: "$product", package: "$(basename "$root")")])]
)
MANIFEST
    echo "import $product" >"$dir/Sources/Dependent/Dependent.swift"
    (cd "$dir" && swift package resolve >/dev/null 2>&1)
    if [ -f "$dir/Package.resolved" ]; then
        python3 -c 'import json, sys; print("\n".join(p["identity"] for p in json.load(open(sys.argv[1]))["pins"]))' "$dir/Package.resolved"
    fi
}

status=0
for product in LoopChannels EventLoop AsyncChannels Hatch ThreadPool; do
    module="$product"
    [ "$product" = ThreadPool ] && module=LoopThreadPool
    resolved="$(pins ".package(path: \"$root\")" "$product")"
    if [ -n "$resolved" ]; then
        echo "a dependent on $product resolves other packages: $(echo "$resolved" | tr '\n' ' ')" >&2
        status=1
    else
        echo "a dependent on $product resolves nothing else"
    fi
done

resolved="$(pins ".package(path: \"$root\", traits: [\"ServiceLifecycle\"])" LoopChannels | sort | tr '\n' ' ')"
expected="swift-async-algorithms swift-collections swift-log swift-service-lifecycle "
if [ "$resolved" != "$expected" ]; then
    echo "with the ServiceLifecycle trait a dependent resolves: $resolved (expected: $expected)" >&2
    status=1
else
    echo "with the ServiceLifecycle trait a dependent resolves: $resolved"
fi
exit $status
