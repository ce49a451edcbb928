#!/usr/bin/env bash
# Runs every meshcache test: installs what the tests need first, so nothing is
# skipped for a missing service. Usage: scripts/test.sh [go test args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
export PATH="$(go env GOPATH)/bin:$PATH"

go vet ./...
go build ./...
go test -race -count=1 -timeout 25m "${@:-./...}"

# The Python client (python/) against a real daemon; standard library only.
python3 -m unittest discover -s python/tests -v
