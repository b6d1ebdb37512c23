#!/bin/bash
# Peak RSS, wall and CPU of every read nhi has, as of now and as of a past instant, on the bench's history store
# (Docs/benchmarks.md, "Peak memory at 1M"): prints a Markdown table.
#   scripts/peak-memory.sh .build/release/nhi /tmp/peak 1000000
# The store is made in WORKDIR by scripts/bench.py's make_history_store, as its history rows use it (the generated
# inventory imported at 2026-06-01, one token in five updated at 2026-06-10), unless WORKDIR/history.db exists; reads run at 2026-06-10,
# "past" with --as-of 2026-06-05. Needs GNU time (/usr/bin/time) and python3.
set -eu
NHI=$(realpath "${1:?usage: $0 NHI WORKDIR [TOKENS]}"); WORK=${2:?usage: $0 NHI WORKDIR [TOKENS]}; TOKENS=${3:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"; DB=$WORK/history.db
export NHI_ACTOR=bench
if [ ! -e "$DB" ]; then
  python3 "$ROOT/scripts/gen-inventory.py" --tokens "$TOKENS" --db "$WORK/generated.db" --nhi "$NHI" --import-csv "$WORK/inventory.csv" >&2
  NHI="$NHI" python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench; bench.make_history_store(*sys.argv[2:])' \
    "$ROOT/scripts" "$WORK/inventory.csv" "$DB" "$WORK/update.csv"
fi
export NHI_NOW=2026-06-10T00:00:00Z
PAST=(--as-of 2026-06-05T00:00:00Z)
measure() { # label, args...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$NHI" --db "$DB" "$@" > /dev/null 2> "$WORK/stderr" && code=0 || code=$?
  read -r wall user sys rss < <(tail -1 "$WORK/time")
  python3 -c "import sys; w,u,s,m=map(float,sys.argv[2:]); print(f'| {sys.argv[1]} | $code | {w:.2f} s | {u+s:.2f} s | {m/1024:.1f} MB |')" \
    "$label" "$wall" "$user" "$sys" "$rss"
}
both() { local label=$1; shift; measure "$label" "$@"; measure "$label, past" "$@" "${PAST[@]}"; }
echo "| command | exit | wall | CPU (user + sys) | peak RSS |"
echo "|---|---|---|---|---|"
for format in text json junit sarif github; do both "check --format $format" check --format "$format"; done
for report in rotation-due review-due expiring offboarding owners systems scopes controls; do both "report $report" report "$report"; done
for format in table json csv; do both "token list --format $format" token list --format "$format"; done
for format in table json csv; do measure "report changes --from 2026-06-01 --format $format" report changes --from 2026-06-01 --format "$format"; done
both "export --format ndjson" export --format ndjson
both "report html" report html --out "$WORK/report.html"
