#!/usr/bin/env python3
"""Writes a large, realistic nhi store for timing reports and `check` (seeded, so every run is the same).

The schema comes from nhi itself (`nhi owner add` creates the store and runs its migrations); owners, agents,
tokens and a little usage are then bulk-inserted with the sqlite3 module. The bulk rows have no audit entries
(the audit log records commands, and these rows were not made by commands); everything else is as nhi writes it.

    python3 scripts/gen-inventory.py --tokens 100000 --db /tmp/nhi-100k.db --nhi .build/release/nhi

This is the one data generator of the benchmarks (`make bench`). --import-csv also writes the same inventory as an
import file in nhi's export shape (through `nhi export`), so `nhi import` and sqlite3's `.import` load the same data.
"""
import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys

DAY = 86400


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--db", required=True)
    ap.add_argument("--nhi", default=".build/release/nhi", help="the nhi binary that creates the schema")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", default="2026-06-01", help="the 'now' the mix of states is built around")
    ap.add_argument("--systems", type=int, default=0,
                    help="register this many systems (the ten usual names and svc-NNN), about 3%% of them left unregistered")
    ap.add_argument("--import-csv", help="also write the inventory to this file in nhi's export (= import) CSV shape")
    args = ap.parse_args()

    if os.path.exists(args.db):
        sys.exit(f"{args.db} exists; give a new path")
    rnd = random.Random(args.seed)
    now = int(dt.datetime.fromisoformat(args.as_of).replace(tzinfo=dt.timezone.utc).timestamp())
    env = dict(os.environ, NHI_NOW=dt.datetime.fromtimestamp(now - 500 * DAY, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               NHI_ACTOR="gen-inventory")
    subprocess.run([args.nhi, "--db", args.db, "owner", "add", "owner00000", "--name", "Owner 0",
                    "--email", "owner00000@example.com", "--team", "team-0"], check=True, env=env, stdout=subprocess.DEVNULL)

    n_owners = max(2, args.tokens // 40)
    n_agents = max(2, args.tokens // 8)
    systems = ["github", "gitlab", "slack", "zendesk", "snowflake", "confluence", "jira", "aws", "openai", "notion"]
    # Without --systems the data are what they always were (same names, same random sequence).
    systems += [f"svc-{i:03d}" for i in range(len(systems), args.systems)]
    envs = ["prod", "prod", "prod", "staging", "dev", "ci", None]
    scopes = ["repo:read", "repo:write", "issues:write", "tickets:read", "chat:write", "files:read", "admin"]

    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    created = now - 500 * DAY
    with db:
        owners = []
        for i in range(1, n_owners):
            departed = rnd.random() < 0.02
            owners.append((f"owner{i:05d}", f"Owner {i}", f"owner{i:05d}@example.com", f"team-{i % 60}",
                           "departed" if departed else "active", now - rnd.randint(1, 200) * DAY if departed else None,
                           created, created))
        db.executemany("INSERT INTO owners (id, name, email, team, status, departed_at, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", owners)
        owner_ids = ["owner00000"] + [o[0] for o in owners]
        if args.systems:
            # Their own random sequence, so the owners, agents and tokens stay the same as without systems.
            srnd = random.Random(args.seed + 1)
            rows = []
            for name in systems:
                if srnd.random() < 0.03:
                    continue
                gateway = srnd.random() < 0.1
                rows.append((name, "gateway" if gateway else "service",
                             srnd.choice(["access-broker", "token-exchanger", "policy-enforcement-point"]) if gateway else None,
                             srnd.choice(owner_ids), srnd.choice(owner_ids), srnd.choice(owner_ids), None, None, created, created))
            db.executemany("INSERT INTO systems (id, kind, gateway_role, policy_owner, platform_owner, audit_owner, managed_by, "
                           "boundary, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

        agents = []
        for i in range(n_agents):
            decommissioned = rnd.random() < 0.01
            agents.append((f"agent-{i:06d}", rnd.choice(systems), rnd.choice(owner_ids),
                           "decommissioned" if decommissioned else "active",
                           now - rnd.randint(1, 200) * DAY if decommissioned else None, created, created))
        db.executemany("INSERT INTO agents (id, system, owner_id, status, decommissioned_at, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", agents)

        tokens, usage = [], []
        for i in range(args.tokens):
            agent = rnd.choice(agents)
            system = agent[1]
            owner = agent[2] if rnd.random() < 0.95 else rnd.choice(owner_ids)
            # A kept inventory with some rot: about 5% expired, 8% never expire, 15% overdue for rotation or
            # review, 10% unused for months; the rest healthy.
            issued = now - rnd.randint(1, 400) * DAY - rnd.randint(0, DAY)
            roll = rnd.random()
            if roll < 0.08:
                expires = None
            elif roll < 0.13:
                expires = max(issued + DAY, now - rnd.randint(1, 120) * DAY)
            else:
                expires = now + rnd.randint(1, 365) * DAY
            rotate = rnd.choice([30, 90, 90, 180]) * DAY
            review = rnd.choice([90, 90, 180]) * DAY
            def last(every, overdue_share):
                """When it was last done: within its interval, or (overdue_share of the time) before it."""
                if rnd.random() < overdue_share:
                    at = now - every - rnd.randint(1, 120) * DAY
                else:
                    at = now - rnd.randint(0, every // DAY - 1) * DAY
                return at if at > issued else None
            rotated = last(rotate, 0.15)
            reviewed = last(review, 0.15)
            used = now - rnd.randint(0, 200) * DAY if rnd.random() < 0.1 else now - rnd.randint(0, 30) * DAY
            used = used if used > issued else None
            revoked = rnd.random() < 0.12
            fingerprint = "sha256:" + "%064x" % rnd.getrandbits(256) if rnd.random() < 0.3 else None
            labels = json.dumps({"cost-center": f"cc-{i % 97}"}, separators=(",", ":")) if rnd.random() < 0.4 else "{}"
            tid = f"tok-{i:07d}-{system}"
            tokens.append((tid, owner, f"{system} automation {i % 500}", system, agent[0], rnd.choice(envs),
                           ",".join(rnd.sample(scopes, rnd.randint(0, 3))), issued, expires, rotate, rotated, review,
                           reviewed, fingerprint, labels, "revoked" if revoked else "active",
                           now - rnd.randint(1, 100) * DAY if revoked else None, "rotated out" if revoked else None,
                           used, issued, issued))
            if used is not None and rnd.random() < 0.05:
                other = agent[0] if rnd.random() < 0.9 else rnd.choice(agents)[0]
                usage.append((tid, other, used, "search", used))
        db.executemany("""INSERT INTO tokens (id, owner_id, purpose, system, agent_id, environment, scopes, issued_at,
                          expires_at, rotate_every, last_rotated_at, review_every, last_reviewed_at, fingerprint, labels,
                          status, revoked_at, revoke_reason, last_used_at, created_at, updated_at)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", tokens)
        db.executemany("INSERT INTO usage (token_id, agent_id, at, tool, recorded_at) VALUES (?, ?, ?, ?, ?)", usage)
    # What `PRAGMA optimize` would do after bulk writes: fresh statistics for the query planner.
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if args.import_csv:
        with open(args.import_csv, "wb") as out:
            subprocess.run([args.nhi, "--db", args.db, "export", "--format", "csv"], check=True, env=env, stdout=out)
    print(f"wrote {args.db}: {n_owners} owners, {n_agents} agents, {args.tokens} tokens, {len(usage)} usage records "
          f"(states built around {args.as_of})")


if __name__ == "__main__":
    main()
