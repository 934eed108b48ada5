#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# System test: the spark-bridge .deb under a real systemd, in a Debian 12 container.
#
# Usage (root): Tests/system/run.sh dist/spark-bridge_<version>_<arch>.deb path/to/vllm-sim
#
# 1. A debootstrap'd bookworm root (minbase + systemd, dbus, curl, ca-certificates, adduser,
#    python3) is built once and cached in $SYSTEM_TEST_CACHE (/var/cache/spark-bridge-system-test),
#    under a name keyed by suite, variant, include list and mirror; each run copies it to a
#    scratch directory, so every run starts clean.
# 2. Before booting, `apt-get install --download-only ./spark-bridge_*.deb` runs in the copy
#    (systemd-nspawn without -b, host network) so apt fetches the dependencies; vllm-sim and its
#    unit (127.0.0.1:8888) are put in place.
# 3. The copy boots: systemd-nspawn --register=no --keep-unit -b --private-network, in the
#    background. Commands run inside with `nsenter -t <container PID 1> -a` (all of its
#    namespaces; systemctl, journalctl and curl then see the container's systemd, journal and
#    loopback). `systemd-run --machine` needs a registered machine, which --register=no rules out.
# 4. Inside: apt installs the package (its postinst creates the user and enables and starts the
#    service), then the steps below run; each prints PASS or FAIL. A failure prints the journal
#    and exits 1. The container and the scratch copy are removed on every exit (trap).
#
# Environment: SYSTEM_TEST_CACHE (cache directory), SYSTEM_TEST_MIRROR (Debian mirror),
# SYSTEM_TEST_KEEP=1 (keep the scratch directory after a failure, for a look).
set -euo pipefail

deb=$(realpath "${1:?usage: run.sh SPARK_BRIDGE_DEB VLLM_SIM_BINARY}")
vllm_sim=$(realpath "${2:?usage: run.sh SPARK_BRIDGE_DEB VLLM_SIM_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)

suite=bookworm
variant=minbase
include=systemd,systemd-sysv,dbus,curl,ca-certificates,adduser,python3
mirror=${SYSTEM_TEST_MIRROR:-http://deb.debian.org/debian}
cache=${SYSTEM_TEST_CACHE:-/var/cache/spark-bridge-system-test}

started=$(date +%s)
log() { printf '%s [%4ss] %s\n' "system-test:" "$(($(date +%s) - started))" "$*"; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, systemd-nspawn, nsenter)"
for tool in debootstrap systemd-nspawn nsenter flock; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install debootstrap systemd-container util-linux)"
done
[ -f "$deb" ] || die "no package at $deb"
[ -x "$vllm_sim" ] || die "no vllm-sim at $vllm_sim"

# --- The cached root ----------------------------------------------------------------------------
key=$(printf '%s\n' "$suite" "$variant" "$include" "$mirror" | sha256sum | cut -c1-12)
cached=$cache/$suite-$variant-$key
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$cached/.complete" ]; then
	log "root: cached $cached"
else
	log "root: debootstrap $suite ($variant, $include) into $cached (first run only)"
	rm -rf "$cached" "$cached.tmp"
	mkdir -p "$cached.tmp"
	t0=$(date +%s)
	if ! debootstrap --variant="$variant" --include="$include" "$suite" "$cached.tmp/root" "$mirror" \
		>"$cached.tmp/debootstrap.log" 2>&1; then
		tail -30 "$cached.tmp/debootstrap.log"
		die "debootstrap failed (log: $cached.tmp/debootstrap.log)"
	fi
	printf '%s\n' "$suite $variant $include $mirror" >"$cached.tmp/key"
	touch "$cached.tmp/.complete"
	mv "$cached.tmp" "$cached"
	log "root: debootstrap took $(($(date +%s) - t0)) s"
fi
flock -u 9

# --- A clean copy -------------------------------------------------------------------------------
scratch=$(mktemp -d /var/tmp/spark-bridge-system-test.XXXXXX)
root=$scratch/root
machine=sbst-$(basename "$scratch" | cut -d. -f2 | tr 'A-Z' 'a-z')
nspawn_pid=
failed=1

cleanup() {
	set +e
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -TERM "$nspawn_pid" # nspawn asks the container's systemd to power off
		for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
		kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid"
		wait "$nspawn_pid" 2>/dev/null
	fi
	if [ "$failed" -ne 0 ] && [ "${SYSTEM_TEST_KEEP:-0}" = 1 ]; then
		log "kept $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "root: copying to $root"
cp -a "$cached/root" "$root"
echo "$machine" >"$root/etc/hostname"
install -m 0644 "$deb" "$root/root/$(basename "$deb")"
install -m 0755 "$vllm_sim" "$root/usr/local/bin/vllm-sim"
install -m 0644 "$here/vllm-sim.service" "$root/etc/systemd/system/vllm-sim.service"
ln -s /etc/systemd/system/vllm-sim.service "$root/etc/systemd/system/multi-user.target.wants/vllm-sim.service"
install -d "$root/root/system-test"
install -m 0644 "$here"/config*.yaml "$root/root/system-test/"
pkg=/root/$(basename "$deb")

# apt fetches the package's dependencies now, with the host's network; inside the booted
# container (private network) it installs from its cache.
log "apt: downloading the dependencies of $(basename "$deb")"
download() {
	systemd-nspawn --register=no --keep-unit -q -D "$root" --pipe \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only "$pkg"
}
if ! download >"$scratch/apt-download.log" 2>&1; then
	log "apt: retrying after apt-get update"
	systemd-nspawn --register=no --keep-unit -q -D "$root" --pipe apt-get update -q >>"$scratch/apt-download.log" 2>&1 || true
	download >>"$scratch/apt-download.log" 2>&1 || { cat "$scratch/apt-download.log"; die "apt-get --download-only failed"; }
fi

# --- Boot ---------------------------------------------------------------------------------------
log "boot: systemd-nspawn --register=no --keep-unit -b --private-network -D $root"
systemd-nspawn --register=no --keep-unit -b -D "$root" --machine="$machine" \
	--private-network --console=passive >"$scratch/nspawn.log" 2>&1 &
nspawn_pid=$!
leader=
for _ in $(seq 100); do
	leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
	[ -n "$leader" ] && break
	kill -0 "$nspawn_pid" 2>/dev/null || { cat "$scratch/nspawn.log"; die "systemd-nspawn exited"; }
	sleep 0.1
done
[ -n "$leader" ] || { cat "$scratch/nspawn.log"; die "no systemd in the container"; }

# Runs a command inside the container, with a clean environment.
inside() {
	nsenter -t "$leader" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 HOME=/root SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive "$@"
}
insh() { inside sh -c "$1"; }

state=
for _ in $(seq 120); do
	state=$(inside systemctl is-system-running 2>/dev/null || true)
	case "$state" in running | degraded) break ;; esac
	sleep 0.5
done
log "boot: container PID 1 is host PID $leader, system $state"
case "$state" in running | degraded) ;; *) cat "$scratch/nspawn.log"; die "the container did not finish booting ($state)" ;; esac
[ "$state" = running ] || inside systemctl --failed --no-pager || true

# --- Steps --------------------------------------------------------------------------------------
results=()
current=
out=$scratch/step.out

fail() {
	log "FAIL $current: $*"
	echo "----- output of the step -----"
	tail -50 "$out" 2>/dev/null
	echo "----- systemctl status -----"
	inside systemctl status --no-pager -l spark-bridge.service vllm-sim.service 2>&1 | tail -40 || true
	echo "----- journal (spark-bridge, vllm-sim) -----"
	inside journalctl --no-pager -o short-precise -n 150 -u spark-bridge.service -u spark-bridge.socket -u vllm-sim.service 2>&1 || true
	echo "----- results so far -----"
	printf '  %s\n' "${results[@]}"
	exit 1
}
begin() { current=$1; step_started=$(date +%s); : >"$out"; log "---- $current"; }
pass() {
	results+=("PASS $current ($(($(date +%s) - step_started)) s)${1:+: $1}")
	log "PASS $current${1:+: $1}"
}
# Runs a command inside, output to $out (and shown); fails the step when it fails.
must() {
	local status=0
	inside "$@" >>"$out" 2>&1 || status=$?
	[ "$status" -eq 0 ] || fail "\`$*\` exited $status"
}
# Polls a shell condition inside for up to $1 seconds.
wait_for() {
	local seconds=$1 condition=$2
	for _ in $(seq $((seconds * 4))); do
		insh "$condition" >>"$out" 2>&1 && return 0
		sleep 0.25
	done
	return 1
}
prop() { inside systemctl show -P "$2" "$1"; }

have_sparkctl=false
messages_request='{"model":"claude-sonnet-4-5-20250929","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s"}]}'
stream() { # TEXT -> the SSE stream of a /v1/messages request through the bridge
	inside curl -sS -N --max-time 60 http://127.0.0.1:4000/v1/messages \
		-H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -H 'x-api-key: system-test' \
		-d "$(printf "$messages_request" "$1")"
}
stream_complete() { # FILE: the stream opened, and its last event is message_stop
	grep -q '^event: message_start' "$1" && [ "$(grep '^event:' "$1" | tail -1)" = "event: message_stop" ]
}
config_sha() { inside sha256sum /etc/spark-bridge/config.yaml | cut -d' ' -f1; }

begin "0 install with apt (postinst: user, group, config ownership, enable, start)"
must apt-get install -y -q "$pkg"
inside id spark-bridge >>"$out" 2>&1 || fail "no spark-bridge user"
[ "$(inside getent passwd spark-bridge | cut -d: -f6,7)" = "/nonexistent:/usr/sbin/nologin" ] || fail "spark-bridge user: $(inside getent passwd spark-bridge)"
[ "$(inside stat -c '%U:%G %a' /etc/spark-bridge/config.yaml)" = "root:spark-bridge 640" ] || fail "config ownership: $(inside stat -c '%U:%G %a' /etc/spark-bridge/config.yaml)"
[ "$(inside systemctl is-enabled spark-bridge.service)" = enabled ] || fail "spark-bridge.service not enabled"
[ "$(inside systemctl is-enabled spark-bridge.socket || true)" = disabled ] || fail "spark-bridge.socket should not be enabled"
wait_for 30 'systemctl is-active -q spark-bridge.service' || fail "not started by the postinst"
inside test -x /usr/bin/sparkctl && have_sparkctl=true
for path in /usr/sbin/spark-bridge /usr/bin/claude-local /usr/share/man/man8/spark-bridge.8.gz \
	/usr/share/man/man5/spark-bridge.yaml.5.gz /usr/share/doc/spark-bridge/copyright \
	/usr/share/doc/spark-bridge/changelog.Debian.gz /usr/share/doc/spark-bridge/examples/litellm_config.yaml; do
	inside test -e "$path" || fail "$path missing"
done
inside test -s /usr/share/spark-bridge/grafana/spark-bridge.json || fail "no Grafana dashboard"
inside grep -q '^License: Apache-2.0$' /usr/share/doc/spark-bridge/copyright || fail "copyright does not say Apache-2.0"
if $have_sparkctl; then
	for path in /usr/share/bash-completion/completions/sparkctl /usr/share/zsh/vendor-completions/_sparkctl \
		/usr/share/fish/vendor_completions.d/sparkctl.fish; do
		inside test -s "$path" || fail "no sparkctl completion $path"
	done
fi
pass "enabled+active, socket disabled, config root:spark-bridge 0640, sparkctl: $have_sparkctl"

begin "1 systemctl start reaches active (READY=1) with a STATUS= line"
must systemctl stop spark-bridge.service
inside cp /root/system-test/config.yaml /etc/spark-bridge/config.yaml
must systemctl start spark-bridge.service
[ "$(inside systemctl is-active spark-bridge.service)" = active ] || fail "not active"
must systemctl status --no-pager spark-bridge.service
grep -q 'Status: "' "$out" || fail "no Status: line in systemctl status"
status_line=$(grep -o 'Status: ".*"' "$out" | head -1)
[ "$(prop spark-bridge.service NRestarts)" = 0 ] || fail "restarted"
pass "$status_line"

begin "2 backend up, and a streamed /v1/messages through the bridge ends with message_stop"
if $have_sparkctl; then
	wait_for 30 'sparkctl health | grep -qiw up' || fail "sparkctl health does not show the backend up"
	health=$(inside sparkctl health 2>&1 | tr -s ' \n' ' ' | cut -c1-100)
else
	wait_for 30 'curl -sf http://127.0.0.1:8888/health' || fail "vllm-sim not up"
	wait_for 10 'curl -sf http://127.0.0.1:4000/health | grep -q "\"ready\":true"' || fail "/health not ready"
	health="curl /health: $(inside curl -s http://127.0.0.1:4000/health | cut -c1-100)"
fi
# A user in the spark-bridge group: sparkctl is let in, claude-local reads the address from the config.
must adduser --quiet --disabled-password --gecos "" sbtester
must adduser --quiet sbtester spark-bridge
if $have_sparkctl; then
	inside runuser -u sbtester -- sparkctl health >>"$out" 2>&1 || fail "sparkctl health refused to a spark-bridge group member"
fi
inside runuser -u sbtester -- env CLAUDE=env claude-local >"$scratch/claude-local.out" 2>>"$out" || fail "claude-local failed"
grep -qx 'ANTHROPIC_BASE_URL=http://127.0.0.1:4000' "$scratch/claude-local.out" || fail "claude-local: $(grep ANTHROPIC "$scratch/claude-local.out")"
stream "Say hello" >"$out" 2>&1 || fail "curl failed"
stream_complete "$out" || fail "incomplete event stream"
grep -q 'Hello' "$out" || fail "no answer text in the stream"
if $have_sparkctl; then
	# The live view counts that request (a group member may run it; the daemon's own socket).
	inside runuser -u sbtester -- sparkctl top --once >"$scratch/top.out" 2>>"$out" || fail "sparkctl top --once failed"
	grep -Eq '^BACKEND +STATE' "$scratch/top.out" && grep -Eq '^127\.0\.0\.1:8888 +up ' "$scratch/top.out" || fail "sparkctl top: $(cat "$scratch/top.out")"
fi
pass "$health; group member: $($have_sparkctl && echo "sparkctl let in, ")claude-local -> 127.0.0.1:4000; stream of $(grep -c '^event:' "$out") events ends with message_stop"

begin "3 reload: a new alias applies; a broken edit is refused and the service stays active"
inside cp /root/system-test/config-added-alias.yaml /etc/spark-bridge/config.yaml
must systemctl reload spark-bridge.service
if $have_sparkctl; then
	aliases_cmd='sparkctl aliases'
else
	aliases_cmd='curl -sf http://127.0.0.1:4000/v1/models'
fi
wait_for 10 "$aliases_cmd | grep -q system-test-added" || fail "the new alias is not served after reload ($aliases_cmd)"
good_sha=$(config_sha)
inside cp /root/system-test/config-broken.yaml /etc/spark-bridge/config.yaml
if inside systemctl reload spark-bridge.service >>"$out" 2>&1; then fail "systemctl reload accepted a broken configuration"; fi
[ "$(inside systemctl is-active spark-bridge.service)" = active ] || fail "not active after the refused reload"
insh "$aliases_cmd" | grep -q system-test-added || fail "the running configuration changed"
stream "Still there?" >"$out" 2>&1 && stream_complete "$out" || fail "no complete stream after the refused reload"
inside cp /root/system-test/config-added-alias.yaml /etc/spark-bridge/config.yaml
[ "$(config_sha)" = "$good_sha" ] || fail "config restore"
pass "alias system-test-added served ($aliases_cmd); broken edit refused by systemctl reload, still active"

begin "4 journal carries the structured request fields"
must journalctl --sync
inside journalctl -u spark-bridge.service -o json --no-pager >"$scratch/journal.json" 2>>"$out" || fail "journalctl failed"
inside python3 -c '
import json, sys
want = ("REQUEST_ID", "STATUS", "ALIAS", "DURATION_MS")
found = [e for e in map(json.loads, sys.stdin) if all(k in e for k in want)]
if not found:
    sys.exit("no entry with " + ", ".join(want))
e = found[-1]
print("%d request entries; last: %s" % (len(found), " ".join("%s=%s" % (k, e[k]) for k in want)))
' <"$scratch/journal.json" >>"$out" 2>&1 || fail "structured fields missing"
pass "$(tail -1 "$out")"

begin "5 systemd-analyze security rates the unit 2.0 or lower"
must systemd-analyze verify --man=no spark-bridge.service
inside systemd-analyze security --no-pager spark-bridge.service >"$out" 2>&1 || true
exposure=$(grep -o 'Overall exposure level for spark-bridge.service: [0-9.]*' "$out" | awk '{print $NF}')
[ -n "$exposure" ] || fail "no exposure level"
cat "$out" | grep -v '^  ✓' | sed 's/^/    /'
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure > 2.0"
pass "exposure $exposure ($(grep -o 'Overall exposure level.*' "$out" | awk '{print $NF, $(NF-1)}' | cut -d' ' -f2))"

begin "5b socket activation: spark-bridge.socket starts the service on the first connection"
must systemctl stop spark-bridge.service
must systemctl start spark-bridge.socket
[ "$(inside systemctl is-active spark-bridge.service || true)" = inactive ] || fail "service active before any connection"
wait_for 20 'curl -sf http://127.0.0.1:4000/health | grep -q "\"ready\":true"' || fail "no answer through the activated socket"
[ "$(inside systemctl is-active spark-bridge.service)" = active ] || fail "service not activated"
wait_for 5 'journalctl -u spark-bridge.service --no-pager -n 30 | grep -q "socket(s) passed by systemd"' || fail "the service did not use the passed socket"
must systemctl stop spark-bridge.socket spark-bridge.service
must systemctl start spark-bridge.service
pass "activated on connect, served on the passed socket"

begin "6 stop drains and exits 0; reinstall keeps the modified conffile; remove stops; purge cleans up"
# A slow stream (about 3 s) is in flight when the stop comes: it must finish.
drain_text='[[sim:{\"text\":\"one two three four five six seven eight nine ten eleven twelve\",\"tokens_per_second\":5}]]'
stream "$drain_text" >"$scratch/drain.out" 2>&1 &
curl_pid=$!
for _ in $(seq 100); do grep -q '^event: content_block_delta' "$scratch/drain.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^event: content_block_delta' "$scratch/drain.out" || fail "the slow stream did not start: $(cat "$scratch/drain.out")"
t0=$(date +%s)
must systemctl stop spark-bridge.service
stop_seconds=$(($(date +%s) - t0))
wait "$curl_pid" || fail "the in-flight stream failed: $(tail -3 "$scratch/drain.out")"
stream_complete "$scratch/drain.out" || { cp "$scratch/drain.out" "$out"; fail "the in-flight stream was cut by the stop"; }
[ "$(prop spark-bridge.service ExecMainStatus)" = 0 ] || fail "ExecMainStatus=$(prop spark-bridge.service ExecMainStatus)"
[ "$(prop spark-bridge.service Result)" = success ] || fail "Result=$(prop spark-bridge.service Result)"
inside journalctl -u spark-bridge.service --no-pager -n 20 | grep -q 'waiting up to .* for 1 requests in flight' || fail "no drain logged"
modified=$(config_sha)
must apt-get install -y -q --reinstall "$pkg"
[ "$(config_sha)" = "$modified" ] || fail "reinstall replaced the modified conffile"
[ "$(inside stat -c '%U:%G %a' /etc/spark-bridge/config.yaml)" = "root:spark-bridge 640" ] || fail "config ownership after reinstall"
wait_for 30 'systemctl is-active -q spark-bridge.service' || fail "not restarted by the reinstall"
must apt-get remove -y -q spark-bridge
[ "$(inside systemctl is-active spark-bridge.service || true)" != active ] || fail "still active after remove"
inside test -f /etc/spark-bridge/config.yaml || fail "remove deleted the configuration"
must deluser --quiet sbtester # a group with members outlives the purge (delgroup --only-if-empty)
must apt-get purge -y -q spark-bridge
inside test ! -e /etc/spark-bridge || fail "/etc/spark-bridge left after purge"
if inside getent passwd spark-bridge >/dev/null; then fail "user left after purge"; fi
if inside getent group spark-bridge >/dev/null; then fail "group left after purge"; fi
inside test ! -e /etc/systemd/system/multi-user.target.wants/spark-bridge.service || fail "enable symlink left after purge"
pass "stop took ${stop_seconds} s with a stream in flight (completed), ExecMainStatus=0; conffile kept; purge removed config, user, group"

failed=0
log "==== all steps passed in $(($(date +%s) - started)) s"
printf '  %s\n' "${results[@]}"
# The closing line test runners print, so CI reads the count (a failed step exits earlier, non-zero).
echo "system-test: ${#results[@]} passed, 0 failed"
