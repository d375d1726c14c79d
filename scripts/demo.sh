#!/usr/bin/env bash
# `make demo`: a CA, certificates and two agents on localhost; one allowed
# and one denied connection; then everything started here is stopped.
set -euo pipefail
BIN=${1:-bin/ztunnel}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DEMO=$(mktemp -d -t ztunnel-demo.XXXXXX)
TOOL="$DEMO/ztdemo"
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$DEMO"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok()   { printf '   \033[32m%s\033[0m\n' "$*"; }

wait_ready() { # admin address, log file
	for _ in $(seq 1 100); do
		curl -fsS "http://$1/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "agent at $1 did not become ready; its log:"; cat "$2"; exit 1
}

go build -o "$TOOL" "$ROOT/cmd/ztdemo"
cp "$ROOT"/examples/demo/*.hcl "$DEMO/"
cd "$DEMO"

step "1. A CA for the trust domain demo.ztunnel.dev, and one certificate per workload"
"$BIN" ca init --dir pki --trust-domain demo.ztunnel.dev
for w in prod/sa/frontend dev/sa/batch prod/sa/payments; do
	"$BIN" cert issue --ca pki --id "spiffe://demo.ztunnel.dev/ns/$w" --out "pki/$(basename "$w")" --ttl 1h
done
"$BIN" cert inspect pki/frontend.crt | sed 's/^/   /'

step "2. The policy's own tests, then the configs (the warning about batch is expected: no rule lets dev reach prod)"
"$BIN" policy test policy.hcl | sed 's/^/   /'
"$BIN" validate --config host-a.hcl
"$BIN" validate --config host-b.hcl

step "3. The payments backend on host B (127.0.0.1:28443), then both agents"
"$TOOL" echo --listen 127.0.0.1:28443 --name payments & pids+=($!)
"$BIN" agent --config host-b.hcl >b.log 2>&1 & pids+=($!)
"$BIN" agent --config host-a.hcl >a.log 2>&1 & pids+=($!)
wait_ready 127.0.0.1:25001 b.log
wait_ready 127.0.0.1:25000 a.log
ok "host-a and host-b are ready"

step "4. frontend (prod) -> payments, through 127.0.0.1:29001: allowed"
"$TOOL" send --addr 127.0.0.1:29001 --msg "pay 42 EUR" | sed 's/^/   /'

step "5. batch (dev) -> payments, through 127.0.0.1:29002: denied"
"$TOOL" send --addr 127.0.0.1:29002 --msg "pay 1000000 EUR" | sed 's/^/   /' || true
sleep 0.2
echo "   host-a log:"; grep -i 'denied' a.log | tail -n 2 | sed 's/^/     /' || true

step "6. What host-a's admin API says"
"$BIN" status --admin 127.0.0.1:25000 | sed 's/^/   /'

step "7. Stopping (SIGTERM drains open streams)"
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
ok "done; everything the demo started has stopped"
