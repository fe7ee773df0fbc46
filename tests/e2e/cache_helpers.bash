# SPDX-License-Identifier: GPL-2.0
# What the cache suites share: the cache testbed (scripts/cachebed.sh) and ways to read the
# real servers' own counters, which say whether a request reached them.

load helpers
source "$E2E_ROOT/scripts/cachebed.sh"

rcli_in() { cachebed_in redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" "$@"; }
rcli_out() { cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" "$@"; }

# calls COMMAND: the Redis server's count of calls of one command (lower case).
calls() {
	rcli_out info commandstats | tr -d '\r' |
		sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

# rinfo FIELD: a field of the Redis server's INFO stats.
rinfo() { rcli_out info stats | tr -d '\r' | sed -n "s/^$1://p"; }

# mc SIDE REQUEST...: sends each request in its own send() on one connection, reading every
# reply before the next (memcached's text protocol, CRLFs added), prints the replies.
mc() {
	local side=$1
	shift
	"cachebed_$side" python3 - "$CACHEBED_ADDR" "$CACHEBED_MC_PORT" "$@" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = b""
for req in sys.argv[3:]:
    req = req.encode().replace(b"\\r\\n", b"\r\n") + b"\r\n"
    s.sendall(req)
    if b"noreply" in req.split(b"\r\n")[0]:
        continue
    # One reply: lines up to one that is not a VALUE header (data blocks skipped by length).
    while True:
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        line, rest = buf.split(b"\r\n", 1)
        sys.stdout.buffer.write(line + b"\r\n")
        buf = rest
        if not line.startswith(b"VALUE "):
            break
        n = int(line.split()[3]) + 2
        while len(buf) < n:
            buf += s.recv(65536)
        sys.stdout.buffer.write(buf[:n])
        buf = buf[n:]
PY
}

# mc_stat NAME: memcached's own counter from "stats" (read to its END, outside the cgroup).
mc_stat() {
	cachebed_out bash -c "exec 3<>/dev/tcp/$CACHEBED_ADDR/$CACHEBED_MC_PORT &&
		printf 'stats\r\nquit\r\n' >&3 && cat <&3" | tr -d '\r' | sed -n "s/^STAT $1 //p"
}

# cache_stat NAME: one of the cache's counters, summed over CPUs.
cache_stat() {
	"$VEER" -j cache stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# cache_lease PROTO: the ms its manager's lease has left (<= 0: run out), None without one.
cache_lease() {
	"$VEER" -j cache stats | python3 -c "import json,sys; print(json.load(sys.stdin)['lease_ms']['$1'])"
}

# cache_live PROTO: a manager of PROTO is running and vouches for the entries (its lease runs):
# from then on it promotes, and the epoch bump of its start is behind.
cache_live() {
	local l
	l=$(cache_lease "$1") && [ "$l" != None ] && [ "$l" -gt 0 ]
}
