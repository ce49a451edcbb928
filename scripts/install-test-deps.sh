#!/usr/bin/env bash
# Installs what meshcache's tests need on a fresh Debian machine: nginx (a real
# HTTP origin), versitygw (a real S3 server), and the Go modules.
set -euo pipefail

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-test-deps: run as root (tests need nginx, tmpfs mounts, other uids and network namespaces)" >&2
		exit 1
	fi
}
need_root

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1 || {
		apt-get update -qq
		apt-get install -y --no-install-recommends nginx-light
	}
fi
# The emulation harness (simulations/emulate) builds network namespaces,
# veths, bridges and tbf queues with iproute2 and tunes them with sysctl.
missing=""
for tool in ip:iproute2 tc:iproute2 ss:iproute2 sysctl:procps; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $(echo $missing | tr ' ' '\n' | sort -u)
fi
# The test harness starts its own nginx processes; the distribution's
# service is not needed.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi

GOBIN="$(go env GOPATH)/bin"
if [ ! -x "$GOBIN/versitygw" ]; then
	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

go mod download
echo "install-test-deps: nginx $(/usr/sbin/nginx -v 2>&1 | sed 's/.*\///'), versitygw at $GOBIN/versitygw"
