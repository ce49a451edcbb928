#!/usr/bin/env bash
# Benchmarks the block exchange between two libp2p hosts on 127.0.0.1
# against baselines measured in the same run, interleaved: raw quic-go with
# the same windows (with and without SHA-256 on the receiver) and a raw
# libp2p TCP+Noise+Yamux stream. Prints medians and per-round ratios
# (docs/benchmarks.md, "Block exchange between peers", holds the last
# ones). About 2-4 minutes.
#
# Usage: scripts/bench-mesh.sh [flags of bench/mesh, e.g. -mib 256 -runs 7]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/meshcache-bench-mesh.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/bench-mesh" ./bench/mesh
if [[ $# -eq 0 ]]; then set -- -mib 256 -runs 7; fi
"$bin/bench-mesh" "$@"
