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

# Every fixed address the demo binds: the backend, then host-b's and
# host-a's admin, tunnel and upstream listeners (examples/demo/*.hcl).
PORTS=(127.0.0.1:28443 127.0.0.1:25001 127.0.0.1:25009 127.0.0.1:25000 127.0.0.1:25008 127.0.0.1:29001 127.0.0.1:29002)

fail() { echo "demo: $*" >&2; exit 1; }

# in_use ADDR: true when something accepts TCP connections on ADDR.
in_use() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# alive PID NAME LOG: fail with NAME's log when the process has exited.
alive() {
	kill -0 "$1" 2>/dev/null && return 0
	echo "demo: $2 exited during start-up; its log:" >&2; cat "$3" >&2; exit 1
}

wait_ready() { # pid, node name, admin address, log file
	for _ in $(seq 1 100); do
		alive "$1" "$2" "$4"
		# The node name tells our agent from anything else answering there.
		if curl -fsS "http://$3/readyz" >/dev/null 2>&1 &&
			curl -fsS "http://$3/v1/status" 2>/dev/null | grep -q "\"node\": *\"$2\""; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo: $2 (admin $3) did not become ready; its log:" >&2; cat "$4" >&2; exit 1
}

# wait_backend PID LOG: the echo backend is up and answers as "payments".
wait_backend() {
	for _ in $(seq 1 100); do
		alive "$1" "the payments backend" "$2"
		if in_use 127.0.0.1:28443; then
			answer=$("$TOOL" send --addr 127.0.0.1:28443 --msg probe 2>&1) || true
			[[ $answer == 'answer: payments received "probe"' ]] && return 0
			fail "port 28443 (127.0.0.1:28443) is answered by another program, not the demo's payments backend; stop it and run the demo again."
		fi
		sleep 0.1
	done
	fail "the payments backend did not start listening on 127.0.0.1:28443; its log: $(cat "$2")"
}

for addr in "${PORTS[@]}"; do
	if in_use "$addr"; then
		fail "port ${addr##*:} ($addr) is already in use by another program; stop it and run the demo again."
	fi
done

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
"$TOOL" echo --listen 127.0.0.1:28443 --name payments >backend.log 2>&1 & pids+=($!)
wait_backend "$!" backend.log
"$BIN" agent --config host-b.hcl >b.log 2>&1 & pids+=($!)
wait_ready "$!" host-b 127.0.0.1:25001 b.log
"$BIN" agent --config host-a.hcl >a.log 2>&1 & pids+=($!)
wait_ready "$!" host-a 127.0.0.1:25000 a.log
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
