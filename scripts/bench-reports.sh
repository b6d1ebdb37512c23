#!/bin/sh
# Times `nhi check` (every format) and each report on a generated store of N tokens (default 100000), with the
# release build. Wall time depends on the machine's load; user+sys CPU time is printed too.
#   sh scripts/bench-reports.sh [N]
set -eu
N=${1:-100000}
NHI=${NHI:-$(pwd)/.build/release/nhi}
[ -x "$NHI" ] || { echo "build it first: swift build -c release"; exit 1; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT INT TERM
python3 scripts/gen-inventory.py --tokens "$N" --db "$DIR/nhi.db" --nhi "$NHI"
export NHI_DB="$DIR/nhi.db" NHI_NOW=2026-06-01T00:00:00Z
run() {
  best=""
  for i in 1 2 3; do
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/t" "$NHI" "$@" >"$DIR/out" 2>/dev/null || true
    line=$(cat "$DIR/t" | tail -1)
    wall=${line%% *}
    if [ -z "$best" ] || [ "$(echo "$wall < ${best%% *}" | bc)" = 1 ]; then best=$line; fi
  done
  set -- $best
  printf '%-40s %6ss wall  %6ss user  %5ss sys  %7s KB max RSS  %8s lines\n' "nhi $CMD" "$1" "$2" "$3" "$4" "$(wc -l <"$DIR/out")"
}
for CMD in "check" "check --format json" "check --format junit" "check --format sarif" \
           "report rotation-due" "report review-due" "report expiring" "report offboarding" "report owners" \
           "report owners --format json" "report offboarding --format csv"; do
  # shellcheck disable=SC2086
  run $CMD
done
