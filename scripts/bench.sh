#!/usr/bin/env bash
# Benchmarks one meshcache daemon (the built binary) against baselines
# measured in the same run: publish vs IPFS Kubo `ipfs add`, reads through
# the socket vs Go's http.FileServer, pin from a loopback nginx vs curl, and
# peak RSS while pinning. Prints a Markdown report (docs/benchmarks.md holds
# the last one). Takes about 6-10 minutes and ~20 GiB of free disk.
#
# Usage: scripts/bench.sh [flags of bench/single, e.g. -runs 3 -only read,pin]
# Needs: curl, nginx (/usr/sbin/nginx), IPFS Kubo v0.43.0 at $IPFS_BIN
# (default /work/.kubo-bin/ipfs; built from the module cache when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

IPFS_BIN=${IPFS_BIN:-/work/.kubo-bin/ipfs}
bin=$(mktemp -d "${TMPDIR:-/tmp}/meshcache-bench-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT

if [[ ! -x $IPFS_BIN ]]; then
	echo "building IPFS Kubo v0.43.0 into $IPFS_BIN" >&2
	# Outside this module, so that its go.mod and go.sum stay untouched.
	src=$(cd "$bin" && GOFLAGS=-mod=mod go mod download -json github.com/ipfs/kubo@v0.43.0 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[[ -n $src ]] || { echo "bench: cannot download IPFS Kubo v0.43.0" >&2; exit 1; }
	cp -r "$src" "$bin/kubo" && chmod -R u+w "$bin/kubo"
	mkdir -p "$(dirname "$IPFS_BIN")"
	(cd "$bin/kubo" && go build -o "$IPFS_BIN" ./cmd/ipfs)
fi
for tool in curl cat; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

go build -o "$bin/meshcache" ./cmd/meshcache
go build -o "$bin/bench" ./bench/single
"$bin/bench" -meshcache "$bin/meshcache" -ipfs "$IPFS_BIN" "$@"
