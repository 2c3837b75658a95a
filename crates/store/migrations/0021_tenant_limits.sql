-- Per-tenant limits (issue 21 item 2).
--
-- tenant_limits holds the operator's overrides of one tenant's budgets as
-- JSON (each budget a rate, or null for the operator's default); a tenant
-- without a row has the defaults. In the database, so that every instance
-- applies the same overrides.
-- events gain how many times each was replayed: a replay increments it
-- only while it is below the cap, so instances together cannot pass it.

CREATE TABLE tenant_limits (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    limits TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE events ADD COLUMN replays BIGINT NOT NULL DEFAULT 0;
