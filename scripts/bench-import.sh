#!/bin/sh
# Times `nhi import` of N tokens (default 1M) against the sqlite3 CLI's .import of the same tokens into the same
# schema, in one run, with peak RSS from /usr/bin/time -v. Usage: scripts/bench-import.sh [TOKENS] [DIR]
# Needs the release build (swift build -c release), python3, sqlite3 and GNU time.
set -eu
N=${1:-1000000}
DIR=${2:-$(mktemp -d)}
NHI=${NHI:-$(pwd)/.build/release/nhi}
mkdir -p "$DIR"
cd "$DIR"
rm -f nhi.db* sql.db* sqlcache.db*
[ -f "inv-$N.csv" ] || python3 "$OLDPWD/scripts/gen-import.py" "inv-$N.csv" --tokens "$N" --sqlite-csv "tokens-$N.csv"
export NHI_ACTOR=bench NHI_NOW=2026-06-01T00:00:00Z

# The sqlite3 side: the store's own schema (created by nhi), the tokens loaded by .import. The shell's .import
# cannot fill a table with generated columns directly, so it goes through a view whose trigger inserts each row
# (empty fields become NULL, as nhi stores them).
"$NHI" --db sql.db owner add schema-only --name Schema --email schema@example.com >/dev/null
cols="id, owner_id, purpose, system, agent_id, environment, scopes, issued_at, expires_at, rotate_every, last_rotated_at, review_every, last_reviewed_at, fingerprint, labels, status, revoked_at, revoke_reason, last_used_at, created_at, updated_at"
vals="NEW.id, NEW.owner_id, NEW.purpose, NEW.system, NEW.agent_id, NULLIF(NEW.environment,''), NEW.scopes, NEW.issued_at, NULLIF(NEW.expires_at,''), NEW.rotate_every, NULLIF(NEW.last_rotated_at,''), NEW.review_every, NULLIF(NEW.last_reviewed_at,''), NULLIF(NEW.fingerprint,''), NEW.labels, NEW.status, NULLIF(NEW.revoked_at,''), NULLIF(NEW.revoke_reason,''), NULLIF(NEW.last_used_at,''), NEW.created_at, NEW.updated_at"
sqlite3 sql.db "CREATE VIEW tokens_in AS SELECT $cols FROM tokens; CREATE TRIGGER tokens_in_insert INSTEAD OF INSERT ON tokens_in BEGIN INSERT INTO tokens ($cols) VALUES ($vals); END;"
cp sql.db sqlcache.db

sync
/usr/bin/time -v sqlite3 sql.db ".import --csv --skip 1 tokens-$N.csv tokens_in" 2> sqlite.time
sync
# The same with the page cache nhi import uses (the shell's default is 2 MB), for a like-for-like figure.
/usr/bin/time -v sqlite3 -cmd "PRAGMA cache_size = -65536" sqlcache.db ".import --csv --skip 1 tokens-$N.csv tokens_in" 2> sqlcache.time
sync
/usr/bin/time -v "$NHI" --db nhi.db import "inv-$N.csv" > nhi.out 2> nhi.time

field() { grep "$1" "$2" | sed 's/.*: //'; }
cpu() { echo "user $(field 'User time' "$1")s sys $(field 'System time' "$1")s"; }
echo "tokens: $N   dir: $DIR"
echo "sqlite3 .import (default 2 MB cache): wall $(field 'Elapsed (wall' sqlite.time)  $(cpu sqlite.time)  peak RSS $(field 'Maximum resident' sqlite.time) KB  rows $(sqlite3 sql.db 'select count(*) from tokens')"
echo "sqlite3 .import (64 MB cache):         wall $(field 'Elapsed (wall' sqlcache.time)  $(cpu sqlcache.time)  peak RSS $(field 'Maximum resident' sqlcache.time) KB  rows $(sqlite3 sqlcache.db 'select count(*) from tokens')"
echo "nhi import:                            wall $(field 'Elapsed (wall' nhi.time)  $(cpu nhi.time)  peak RSS $(field 'Maximum resident' nhi.time) KB  rows $(sqlite3 nhi.db 'select count(*) from tokens')  audit entries $(sqlite3 nhi.db 'select count(*) from audit_log')"
cat nhi.out
