#!/usr/bin/env bash
# Runs every meshcache test: installs what the tests need first, so nothing is
# skipped for a missing service. Usage: scripts/test.sh [go test args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
export PATH="$(go env GOPATH)/bin:$PATH"

go vet ./...
go build ./...
if [[ $# -gt 0 ]]; then
	go test -race -count=1 -timeout 25m "$@"
else
	# The packages that run many real daemons as processes and hold them to
	# time bounds (eight members of a region, the emulated WAN) run after
	# the others, one at a time: on two cores a neighbouring package's
	# load would be measured as theirs.
	solo=(./cmd/meshcache ./simulations/emulate)
	go test -race -count=1 -timeout 25m $(go list ./... | grep -v -e '/cmd/meshcache$' -e '/simulations/emulate$')
	go test -race -count=1 -timeout 25m -p 1 "${solo[@]}"
fi

# The Python client (python/) against a real daemon; standard library only.
python3 -m unittest discover -s python/tests -v
