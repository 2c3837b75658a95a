-- Physical SIM card orders, the shipping addresses they go to, and the
-- subscriber lines each tenant owns. Provider data lives upstream; these
-- rows say whose it is and what was last seen, so lists are per tenant.
CREATE TABLE shipping_addresses (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    provider     TEXT NOT NULL,
    upstream_id  TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (provider, upstream_id)
);

CREATE TABLE sim_orders (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    provider         TEXT NOT NULL,
    -- NULL until the provider answered: the row is written before the call.
    upstream_id      TEXT,
    address_id       TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    -- submitting | failed | the provider's lifecycle (pending … delivered, canceled)
    status           TEXT NOT NULL,
    failure          TEXT,
    snapshot         TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, idempotency_key),
    UNIQUE (provider, upstream_id)
);
CREATE INDEX sim_orders_tenant ON sim_orders (tenant_id, created_at);
CREATE INDEX sim_orders_status ON sim_orders (status, updated_at);

CREATE TABLE lines (
    provider     TEXT NOT NULL,
    mpn          TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    iccid        TEXT,
    -- provisioning (written before the call) | active | ceased
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (provider, mpn)
);
CREATE INDEX lines_tenant ON lines (tenant_id, created_at);
