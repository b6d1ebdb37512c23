#!/bin/sh
# Measures `nhi token register` wall time on a store that already holds N tokens (default 10000).
# The store is built through the binary itself (every row validated and audited, as a real one would be), then
# hyperfine (or, without it, a loop of 20 registers under `time`) measures one more registration.
# Usage: scripts/bench-register.sh [N]   (NHI=path/to/nhi, default .build/release/nhi; BENCH_DB=path)
set -eu
N=${1:-10000}
NHI=${NHI:-.build/release/nhi}
DB=${BENCH_DB:-$(mktemp -d)/bench.db}
rm -f "$DB" "$DB-wal" "$DB-shm"
export NHI_DB="$DB" NHI_ACTOR=bench NHI_NOW=2026-06-01T00:00:00Z

"$NHI" owner add alice --name "Alice Ng" --email alice@example.com >/dev/null
"$NHI" agent add bot --system github --owner alice >/dev/null
start=$(date +%s)
seq 1 "$N" | xargs -P 2 -I{} "$NHI" token register "tok-{}" --owner alice --agent bot --system github \
    --purpose "benchmark token {}" --expires +90d --environment prod --scopes repo:read --label n={} >/dev/null
echo "built a store of $("$NHI" token list --format ndjson | wc -l) tokens in $(( $(date +%s) - start ))s: $DB"

if command -v hyperfine >/dev/null 2>&1; then
  # --prepare numbers each run; `read` is a shell builtin, so the timed command starts no process besides nhi
  # (hyperfine subtracts the shell's own start-up).
  echo 0 > "$DB.seq"
  hyperfine --warmup 3 --runs 30 --export-json "${DB%.db}-hyperfine.json" \
    --prepare "read i < '$DB.seq'; echo \$((i+1)) > '$DB.seq'" \
    "read i < '$DB.seq'; '$NHI' token register bench-\$i --owner alice --agent bot --system github --purpose bench --expires +30d >/dev/null"
else
  time sh -c 'for i in $(seq 1 20); do "$0" token register "bench-$i" --owner alice --agent bot --system github --purpose bench --expires +30d >/dev/null; done' "$NHI"
fi
