#!/usr/bin/env bash
# Time from `dispatch serve` start to the first 200 from GET /healthz, as `make run` would do it.
#
#   scripts/time_to_ready.sh [runs] [dispatch-binary]
#
# Each run starts the server twice in a fresh temporary directory: once on an empty database (a first
# run: migrations and demo data) and once more on the file the first left behind (a restart). It prints
# wall seconds and the CPU seconds the server process had used by then (CPU time is the steadier
# figure on a shared, loaded machine), with the load average at the start of each run.
# Extra environment (DISPATCH_*, PYTHONPATH) is passed through to the server; TIMEOUT_S (default 600)
# bounds one start, KEEP=1 keeps each run's directory with the server's output.
set -euo pipefail

RUNS="${1:-3}"
DISPATCH="${2:-${DISPATCH:-$(command -v dispatch || echo .venv/bin/dispatch)}}"
DISPATCH="$(cd "$(dirname "$DISPATCH")" && pwd)/$(basename "$DISPATCH")"
TIMEOUT_S="${TIMEOUT_S:-600}"
CLK_TCK="$(getconf CLK_TCK)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cpu_seconds() {  # utime + stime of a process (all its threads), from /proc
    awk -v tck="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / tck }' "/proc/$1/stat"
}

# One start: prints "<wall s> <cpu s>" once /healthz answers, then stops the server.
time_one_start() {
    local dir="$1" port pid started now
    port="$(free_port)"
    started="$(date +%s.%N)"
    (cd "$dir" && exec "$DISPATCH" serve --host 127.0.0.1 --port "$port" >>serve.out 2>>serve.err) &
    pid=$!
    while :; do
        if curl -sf -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
            now="$(date +%s.%N)"
            printf '%.1f %s\n' "$(echo "$now - $started" | bc)" "$(cpu_seconds "$pid")"
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "server exited before it was ready; see $dir/serve.err" >&2
            echo "exited -"
            return 0
        fi
        if (($(echo "$(date +%s.%N) - $started > $TIMEOUT_S" | bc))); then
            echo ">${TIMEOUT_S} $(cpu_seconds "$pid")"
            kill "$pid"
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

echo "dispatch: $DISPATCH"
printf '%-4s %-22s %-20s %-20s\n' run "load (1/5/15 min)" "first run wall/cpu s" "restart wall/cpu s"
for run in $(seq 1 "$RUNS"); do
    dir="$(mktemp -d)"
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    read -r first_wall first_cpu < <(time_one_start "$dir")
    read -r again_wall again_cpu < <(time_one_start "$dir")
    printf '%-4s %-22s %-20s %-20s\n' "$run" "$load" "$first_wall / $first_cpu" "$again_wall / $again_cpu"
    if [[ -n "${KEEP:-}" ]]; then echo "     output kept in $dir"; else rm -rf "$dir"; fi
done
