-- Fenced claims: every submission of an order, SIM order or line is an
-- attempt with a number (`fence`), and the row only moves by compare-and-set
-- on it. Reconcilers take rows under a lease (`lease_owner` until
-- `lease_until`, Unix milliseconds) that expires, so a killed reconciler's
-- work is taken over. Only ADD COLUMN with a constant default and plain
-- CREATE TABLE / INDEX: both SQLite and PostgreSQL accept them as written.
ALTER TABLE orders ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN lease_owner TEXT;
ALTER TABLE orders ADD COLUMN lease_until BIGINT;

ALTER TABLE sim_orders ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN lease_owner TEXT;
ALTER TABLE sim_orders ADD COLUMN lease_until BIGINT;

ALTER TABLE lines ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN lease_owner TEXT;
ALTER TABLE lines ADD COLUMN lease_until BIGINT;

-- Every upstream purchase simgate learnt of, keyed by the provider's
-- reference, so that one purchase belongs to exactly one local row.
-- `linked` = 1: it is that row's purchase; 0: an extra purchase made by a
-- superseded attempt of that row, kept so an operator can refund it.
CREATE TABLE upstream_purchases (
    provider       TEXT NOT NULL,
    upstream_ref   TEXT NOT NULL,
    local_kind     TEXT NOT NULL,
    local_id       TEXT NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    linked         BIGINT NOT NULL,
    detail         TEXT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    PRIMARY KEY (provider, upstream_ref)
);
CREATE INDEX upstream_purchases_local ON upstream_purchases (local_kind, local_id);

INSERT INTO upstream_purchases (provider, upstream_ref, local_kind, local_id, tenant_id, linked, detail, recorded_at)
    SELECT provider, upstream_ref, 'order', id, tenant_id, 1, '', updated_at
    FROM orders WHERE upstream_ref IS NOT NULL;
INSERT INTO upstream_purchases (provider, upstream_ref, local_kind, local_id, tenant_id, linked, detail, recorded_at)
    SELECT provider, upstream_id, 'sim_order', id, tenant_id, 1, '', updated_at
    FROM sim_orders WHERE upstream_id IS NOT NULL;

CREATE INDEX orders_lease ON orders (lease_until);
