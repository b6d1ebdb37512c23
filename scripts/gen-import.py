#!/usr/bin/env python3
"""Writes a seeded inventory for import benchmarks (Python standard library only).

  scripts/gen-import.py OUT.csv [--tokens 1000000] [--seed 42] [--sqlite-csv TOKENS.csv]

OUT.csv is in nhi's export shape (one header, kind first; owners, then agents, then tokens), for `nhi import`.
--sqlite-csv also writes the same tokens in the store's column form (Unix seconds, durations in seconds,
empty = NULL) for `sqlite3 .import` into the same schema, so both loaders get identical data.
"""
import argparse
import csv
import hashlib
import json
import random
from datetime import datetime, timezone

COLUMNS = ["kind", "id", "name", "email", "team", "status", "departed_at", "created_at", "updated_at", "system",
           "owner", "decommissioned_at", "purpose", "agent", "environment", "scopes", "issued_at", "expires_at",
           "rotate_every", "last_rotated_at", "review_every", "last_reviewed_at", "fingerprint", "labels",
           "revoked_at", "revoke_reason", "last_used_at"]
STORE_COLUMNS = ["id", "owner_id", "purpose", "system", "agent_id", "environment", "scopes", "issued_at", "expires_at",
                 "rotate_every", "last_rotated_at", "review_every", "last_reviewed_at", "fingerprint", "labels", "status",
                 "revoked_at", "revoke_reason", "last_used_at", "created_at", "updated_at"]
SYSTEMS = ["github", "gitlab", "slack", "jira", "zendesk", "aws", "notion", "linear"]
ENVIRONMENTS = ["prod", "staging", "dev", None]
SCOPES = ["repo:read", "repo:write", "issues:write", "chat:write", "tickets:read", "s3:get", "admin:read"]
PURPOSES = ["triage issues", "sync tickets, nightly", "post release notes", "read \"metrics\" dashboards",
            "=SUM(A1:A2) looks like a formula", "deploy previews", "answer support questions"]
DAY = 86400


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--owners", type=int, default=200)
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sqlite-csv")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = 1735689600  # 2025-01-01

    def neutralise(cell):
        # As nhi export does: a cell starting with = + - @ (after any quotes) gets one leading quote.
        stripped = cell.lstrip("'")
        return "'" + cell if stripped[:1] in ("=", "+", "-", "@") else cell

    with open(args.out, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        blank = {c: "" for c in COLUMNS}
        owners = [f"owner-{i:04d}" for i in range(args.owners)]
        for i, o in enumerate(owners):
            row = dict(blank, kind="owner", id=o, name=f"Owner {i}", email=f"{o}@example.com", team=f"team-{i % 17}",
                       status="active", created_at=iso(base), updated_at=iso(base))
            out.writerow([row[c] for c in COLUMNS])
        agents = []
        for i in range(args.agents):
            a = (f"agent-{i:05d}", rng.choice(SYSTEMS), rng.choice(owners))
            agents.append(a)
            row = dict(blank, kind="agent", id=a[0], system=a[1], owner=a[2], status="active",
                       created_at=iso(base), updated_at=iso(base))
            out.writerow([row[c] for c in COLUMNS])
        raw = open(args.sqlite_csv, "w", newline="", encoding="utf-8") if args.sqlite_csv else None
        raw_out = csv.writer(raw, lineterminator="\n") if raw else None
        if raw_out:
            raw_out.writerow(STORE_COLUMNS)
        for i in range(args.tokens):
            agent, system, owner = rng.choice(agents)
            issued = base + rng.randrange(365 * DAY)
            expires = None if rng.random() < 0.05 else issued + rng.randrange(30, 400) * DAY
            rotate = rng.choice([30, 60, 90]) * DAY
            review = rng.choice([90, 180]) * DAY
            env = rng.choice(ENVIRONMENTS)
            scopes = rng.sample(SCOPES, rng.randrange(0, 4))
            fingerprint = "sha256:" + hashlib.sha256(f"{args.seed}-{i}".encode()).hexdigest() if rng.random() < 0.5 else None
            labels = {"ticket": f"SEC-{rng.randrange(10000)}"} if rng.random() < 0.3 else {}
            revoked = rng.random() < 0.05
            revoked_at = issued + DAY if revoked else None
            last_rotated = issued + rng.randrange(30) * DAY if rng.random() < 0.3 else None
            last_used = issued + rng.randrange(60) * DAY if rng.random() < 0.6 else None
            purpose = rng.choice(PURPOSES)
            labels_text = json.dumps(labels, separators=(",", ":"), sort_keys=True)
            row = dict(blank, kind="token", id=f"tok-{i:07d}", owner=owner, purpose=neutralise(purpose), system=system,
                       agent=agent, environment=env or "", scopes=",".join(scopes), issued_at=iso(issued),
                       expires_at=iso(expires) if expires else "never", rotate_every=f"{rotate // DAY}d",
                       last_rotated_at=iso(last_rotated) if last_rotated else "", review_every=f"{review // DAY}d",
                       fingerprint=fingerprint or "", labels=labels_text, status="revoked" if revoked else "active",
                       revoked_at=iso(revoked_at) if revoked else "", revoke_reason="retired" if revoked else "",
                       last_used_at=iso(last_used) if last_used else "", created_at=iso(issued), updated_at=iso(issued))
            out.writerow([row[c] for c in COLUMNS])
            if raw_out:
                raw_out.writerow([f"tok-{i:07d}", owner, purpose, system, agent, env or "", ",".join(scopes), issued,
                                  expires or "", rotate, last_rotated or "", review, "", fingerprint or "", labels_text,
                                  "revoked" if revoked else "active", revoked_at or "", "retired" if revoked else "",
                                  last_used or "", issued, issued])
        if raw:
            raw.close()


if __name__ == "__main__":
    main()
