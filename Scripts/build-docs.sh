#!/usr/bin/env bash
# Builds the DocC documentation of every library module with the toolchain's own `docc`,
# treating warnings (a broken symbol link, an unknown article) as errors, and checks that
# every public symbol written in the sources has a `///` comment.
#
#   Scripts/build-docs.sh                  build every catalog into .build/docs/<Module>.doccarchive
#   Scripts/build-docs.sh --preview Hatch  build, then serve one module at http://localhost:8080
#
# Symbol graphs come from `swift package dump-symbol-graph`, which runs
# swift-symbolgraph-extract on a debug build made with every package trait on, so the docs
# include the ServiceLifecycle trait's conformances (and that trait's package is resolved).
set -euo pipefail
cd "$(dirname "$0")/.."

modules=(LoopChannels EventLoop AsyncChannels Hatch LoopThreadPool)
preview=""
if [ "${1:-}" = "--preview" ]; then
    preview="${2:?usage: Scripts/build-docs.sh --preview <Module>}"
    modules=("$preview")
fi

swift package dump-symbol-graph --minimum-access-level public >/dev/null
graphs="$(swift build --show-bin-path)/../symbolgraph"
out=.build/docs
rm -rf "$out"
mkdir -p "$out"

python3 Scripts/check-doc-comments.py "$graphs" "${modules[@]}"

for module in "${modules[@]}"; do
    catalog=$(echo Sources/*/"$module".docc)
    # Each module's own graphs only, so that links resolve within the module they name.
    mkdir -p "$out/graphs/$module"
    cp "$graphs/$module".symbols.json "$out/graphs/$module/"
    cp "$graphs/$module"@*.symbols.json "$out/graphs/$module/" 2>/dev/null || true
    mode=convert
    [ "$module" = "$preview" ] && mode=preview
    echo "docc $mode $catalog"
    docc "$mode" "$catalog" \
        --additional-symbol-graph-dir "$out/graphs/$module" \
        --output-path "$out/$module.doccarchive" \
        --fallback-display-name "$module" \
        --fallback-bundle-identifier "org.loopchannels.$module" \
        --warnings-as-errors
done
echo "documentation built in $out"
