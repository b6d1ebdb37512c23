#!/usr/bin/env python3
"""Generate a large synthetic nhi store for measurements (HTML report size and time at 10k/100k tokens).

Usage: scripts/gen-inventory.py STORE TOKENS [--nhi PATH]
The store is created by `nhi owner add` (so the schema is nhi's own), then owners, agents, tokens and usage rows
are inserted directly in one transaction. Deterministic (seeded). The inventory is pinned around 2026-06-01:
a spread of expired, orphaned, overdue, never-expiring, stale and foreign-use tokens. Writes no audit entries for
the bulk rows: this is a load fixture, not a history.
"""
import os, random, sqlite3, subprocess, sys

def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    nhi = "nhi"
    if "--nhi" in sys.argv:
        nhi = sys.argv[sys.argv.index("--nhi") + 1]
        args = [a for a in args if a != nhi]
    if len(args) != 2:
        sys.exit(__doc__)
    store, n = args[0], int(args[1])
    if os.path.exists(store):
        sys.exit(f"{store} exists; give a new path")
    env = dict(os.environ, NHI_NOW="2026-06-01T00:00:00Z", NHI_ACTOR="generator")
    subprocess.run([nhi, "--db", store, "owner", "add", "seed", "--name", "Seed Owner", "--email", "seed@example.com"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    rng = random.Random(42)
    day = 86400
    now = 1780272000  # 2026-06-01T00:00:00Z
    owners = max(n // 10, 1)
    agents = max(n // 5, 1)
    db = sqlite3.connect(store)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO owners (id, name, email, team, status, departed_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        [(f"owner-{i:06d}", f"Owner {i}", f"owner{i}@example.com", f"team-{i % 40}",
          "departed" if i % 50 == 0 else "active", now - 30 * day if i % 50 == 0 else None, now - 400 * day, now - 400 * day)
         for i in range(owners)])
    db.executemany(
        "INSERT INTO agents (id, system, owner_id, status, decommissioned_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
        [(f"agent-{i:06d}", ["github", "slack", "jira", "aws", "zendesk"][i % 5], f"owner-{i % owners:06d}",
          "decommissioned" if i % 97 == 0 else "active", now - 10 * day if i % 97 == 0 else None, now - 400 * day, now - 400 * day)
         for i in range(agents)])
    rows = []
    for i in range(n):
        agent = rng.randrange(agents)
        owner = agent % owners
        issued = now - rng.randrange(0, 900) * day
        r = rng.random()
        expires = None if r < 0.08 else issued + rng.randrange(30, 800) * day
        rotated = None if rng.random() < 0.5 else issued + rng.randrange(0, max((now - issued) // day, 1)) * day
        reviewed = None if rng.random() < 0.4 else now - rng.randrange(0, 200) * day
        used = None if rng.random() < 0.2 else now - rng.randrange(0, 200) * day
        status = "revoked" if rng.random() < 0.1 else "active"
        rows.append((f"tok-{i:07d}", f"owner-{owner:06d}", "synthetic load", ["github", "slack", "jira", "aws", "zendesk"][agent % 5],
                     f"agent-{agent:06d}", ["prod", "staging", "dev"][i % 3], "repo:read", issued, expires, 90 * day, rotated,
                     90 * day, reviewed, status, now - day if status == "revoked" else None, used, issued, issued))
    db.executemany(
        "INSERT INTO tokens (id, owner_id, purpose, system, agent_id, environment, scopes, issued_at, expires_at, rotate_every,"
        " last_rotated_at, review_every, last_reviewed_at, status, revoked_at, last_used_at, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    # Foreign use: about 1% of tokens used by another agent.
    usage = []
    for i in range(0, n, 100):
        usage.append((f"tok-{i:07d}", f"agent-{(i + 1) % agents:06d}", now - 5 * day))
    cols = [r[1] for r in db.execute("PRAGMA table_info(usage)")]
    if "token_id" in cols and "agent_id" in cols and "at" in cols:
        db.executemany("INSERT INTO usage (token_id, agent_id, at, recorded_at) VALUES (?,?,?,?)", [u + (u[2],) for u in usage])
    db.execute("COMMIT")
    db.execute("PRAGMA optimize")
    db.close()
    print(f"{store}: {n} tokens, {owners} owners, {agents} agents, {len(usage)} foreign uses")

main()
