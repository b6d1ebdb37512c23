#!/usr/bin/env python3
"""Benchmark fixtures for the audit chain and the usage log (Python standard library only, seeded).

  gen-audit.py store --nhi BIN --db PATH [--entries 1000000] [--tokens 1000] [--seed 7]
      A store with a valid hash chain of ENTRIES audit entries: one owner, one agent, TOKENS tokens registered,
      then token.update entries (purpose changes) on random tokens until the chain is ENTRIES long. The owner,
      agent and a template token are created through nhi itself (so their snapshots are nhi's own); the rest is
      written with SQL, each entry hashed exactly as Docs/audit.md specifies (AuditLog.Entry.canonical).
      `nhi audit verify` must pass on the result.

  gen-audit.py usage --out FILE [--lines 1000000] [--tokens 1000] [--foreign 0.01] [--seed 7] [--format ndjson|csv]
      A usage log for the tokens of `store` (tok-00001 ...), bound agent `bot`, a share of uses by other agents.
"""
import argparse
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys

GENESIS = "0" * 64
BASE_TIME = 1767225600  # 2026-01-01T00:00:00Z


def canonical_json(value):
    """nhi's compact JSON: keys sorted by code point, no spaces, only ", \\ and control characters escaped
    (plus U+2028/U+2029), everything else as UTF-8."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def entry_hash(seq, at, actor, command, action, kind, entity_id, before, after, prev_hash):
    canonical = canonical_json({
        "action": action, "actor": actor, "after": after, "at": at, "before": before, "command": command,
        "entity_id": entity_id, "entity_kind": kind, "prev_hash": prev_hash, "seq": seq,
    })
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def make_store(args):
    if os.path.exists(args.db):
        sys.exit(f"{args.db} exists; give a new path")
    env = dict(os.environ, NHI_DB=args.db, NHI_ACTOR="bench", NHI_NOW=iso(BASE_TIME))
    run = lambda *a: subprocess.run([args.nhi, *a], env=env, check=True, stdout=subprocess.DEVNULL)
    run("owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com")
    run("agent", "add", "bot", "--system", "github", "--owner", "alice")
    run("token", "register", "tok-template", "--owner", "alice", "--purpose", "p0", "--system", "github",
        "--agent", "bot", "--expires", "2027-01-01", "--scopes", "repo:read")

    rng = random.Random(args.seed)
    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    rows = db.execute("SELECT seq, at, actor, command, action, entity_kind, entity_id, before, after FROM audit_log ORDER BY seq").fetchall()
    template_row = db.execute("SELECT * FROM tokens WHERE id = 'tok-template'").fetchone()
    columns = [d[0] for d in db.execute("SELECT * FROM tokens LIMIT 0").description]
    token_snapshot = json.loads(rows[2][8])
    db.execute("BEGIN")
    db.execute("DELETE FROM audit_log")
    db.execute("DELETE FROM tokens")

    prev = GENESIS
    seq = 0
    batch = []

    def append(at, command, action, kind, entity_id, before, after):
        nonlocal prev, seq
        seq += 1
        h = entry_hash(seq, at, "bench", command, action, kind, entity_id, before, after, prev)
        batch.append((seq, at, "bench", command, action, kind, entity_id, before, after, prev, h))
        prev = h
        if len(batch) >= 50_000:
            db.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
            batch.clear()

    # The owner and agent entries nhi wrote, re-chained as they were.
    for r in rows[:2]:
        append(r[1], r[3], r[4], r[5], r[6], r[7], r[8])

    insertable = [c for c in columns if c not in ("rotation_due_at", "review_due_at")]
    placeholders = ", ".join("?" for _ in insertable)
    state = {}
    at = BASE_TIME
    for n in range(1, args.tokens + 1):
        token_id = f"tok-{n:05d}"
        snapshot = dict(token_snapshot, id=token_id)
        state[token_id] = snapshot
        append(at, "token register", "token.register", "token", token_id, None, canonical_json(snapshot))
        at += 1
    updates = args.entries - seq
    ids = sorted(state)
    for _ in range(updates):
        token_id = ids[rng.randrange(len(ids))]
        before = state[token_id]
        after = dict(before, purpose=f"purpose {rng.randrange(1_000_000)}", updated_at=iso(at))
        append(at, "token update", "token.update", "token", token_id, canonical_json(before), canonical_json(after))
        state[token_id] = after
        at += rng.randrange(1, 30)
    if batch:
        db.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)

    # Token rows as the last entry for each says they are.
    template = dict(zip(columns, template_row))
    token_rows = []
    for token_id, snapshot in state.items():
        row = dict(template, id=token_id, purpose=snapshot["purpose"])
        if snapshot["updated_at"] != token_snapshot["updated_at"]:
            row["updated_at"] = int(__import__("calendar").timegm(__import__("time").strptime(snapshot["updated_at"], "%Y-%m-%dT%H:%M:%SZ")))
        token_rows.append(tuple(row[c] for c in insertable))
    db.executemany(f"INSERT INTO tokens ({', '.join(insertable)}) VALUES ({placeholders})", token_rows)
    db.commit()
    db.execute("PRAGMA optimize")
    db.close()
    print(f"{args.db}: {seq} audit entries, {len(state)} tokens, head {prev}")


def make_usage(args):
    rng = random.Random(args.seed)
    at = BASE_TIME + 86_400
    with open(args.out, "w", encoding="utf-8") as out:
        if args.format == "csv":
            out.write("token,agent,at,tool\n")
        for _ in range(args.lines):
            token = f"tok-{rng.randrange(1, args.tokens + 1):05d}"
            agent = "bot" if rng.random() >= args.foreign else f"other-{rng.randrange(10)}"
            tool = f"github.tool{rng.randrange(20)}"
            at += rng.randrange(0, 3)
            if args.format == "csv":
                out.write(f"{token},{agent},{iso(at)},{tool}\n")
            else:
                out.write(json.dumps({"token": token, "agent": agent, "at": iso(at), "tool": tool}, separators=(",", ":")) + "\n")
    print(f"{args.out}: {args.lines} uses of {args.tokens} tokens, last at {iso(at)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    store = sub.add_parser("store")
    store.add_argument("--nhi", required=True)
    store.add_argument("--db", required=True)
    store.add_argument("--entries", type=int, default=1_000_000)
    store.add_argument("--tokens", type=int, default=1000)
    store.add_argument("--seed", type=int, default=7)
    usage = sub.add_parser("usage")
    usage.add_argument("--out", required=True)
    usage.add_argument("--lines", type=int, default=1_000_000)
    usage.add_argument("--tokens", type=int, default=1000)
    usage.add_argument("--foreign", type=float, default=0.01)
    usage.add_argument("--seed", type=int, default=7)
    usage.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    args = parser.parse_args()
    make_store(args) if args.what == "store" else make_usage(args)


if __name__ == "__main__":
    main()
