#!/bin/sh
# Writes Tests/NHITests/Fixtures/history-ac4575b: a store made by nhi at main ac4575b (before the history tables,
# schema version 3) with changes of every kind, and that nhi's own output at each capture instant (run then, no
# --as-of). HistoryMigrationTests migrates a copy and replays the captures with --as-of.
# Usage: scripts/make-history-fixture.sh /path/to/nhi-at-ac4575b [OUTDIR]
# (HistoryMigrationTests also runs it with the current nhi into a temporary OUTDIR: what this nhi printed live at
# each instant, which the migrated fixture must reprint with --as-of.)
set -eu
NHI=${1:?usage: $0 NHI_BINARY_AT_AC4575B}
OUT=${2:-$(cd "$(dirname "$0")/.." && pwd)/Tests/NHITests/Fixtures/history-ac4575b}
rm -rf "$OUT"; mkdir -p "$OUT"
export NHI_DB="$OUT/store.db" NHI_ACTOR=fixture
at() { t=$1; shift; NHI_NOW=$t "$NHI" "$@" >/dev/null; }
d0=2026-01-10T09:00:00Z
at $d0 owner add alice --name Alice --email alice@example.com --team iam
at $d0 owner add bob --name Bob --email bob@example.com
at $d0 owner add dave --name Dave --email dave@example.com
at $d0 agent add a1 --system github --owner alice
at $d0 agent add a2 --system slack --owner bob
at $d0 agent add a3 --system jira --owner dave
at $d0 token register t1 --owner alice --purpose ci --system github --agent a1 --expires 2026-12-31 --scopes repo:read,repo:write --label env=prod
at $d0 token register t2 --owner bob --purpose bot --system slack --agent a2 --expires 2026-03-01 --rotate-every 30d
at $d0 token register t3 --owner dave --purpose sync --system jira --agent a3 --expires never --review-every 2w
at 2026-01-20T10:00:00Z usage record t1 --agent a1 --at 2026-01-20T09:00:00Z
capture() {
    for read in "check --format json" "token list --format json" "owner list --format json" "agent list --format json" \
                "export --format json" "report owners --format json" "report offboarding --format json"; do
        name=$(echo "$read" | tr ' ' '_')
        NHI_NOW=$1 "$NHI" $read > "$OUT/$2.$name.out" || true
    done
}
capture 2026-02-01T00:00:00Z first
at 2026-02-15T12:00:00Z review t1 --decision keep
at 2026-02-15T12:00:00Z token rotate t2 --expires 2026-06-01
at 2026-02-20T00:00:00Z token register t4 --owner bob --purpose late --system slack --agent a2 --expires 2026-09-01
capture 2026-03-15T00:00:00Z second
at 2026-04-01T00:00:00Z token revoke t1 --reason leaked
at 2026-04-01T00:00:00Z token transfer t2 --to alice
at 2026-04-01T00:00:00Z token update t4 --expires 2026-12-01 --scopes chat:write
at 2026-04-02T00:00:00Z offboard owner dave --transfer-to bob
at 2026-04-03T00:00:00Z agent decommission a2
sqlite3 "$NHI_DB" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE" >/dev/null
rm -f "$NHI_DB-wal" "$NHI_DB-shm"
echo "wrote $OUT (schema version $(sqlite3 "$NHI_DB" 'PRAGMA user_version'))"
