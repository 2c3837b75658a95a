-- Money across currencies and per-tenant pricing.
--
-- fx_rates holds the operator's rates as exact decimal text (never floats):
-- one unit of base is worth rate units of quote. fx_version counts changes,
-- so every instance can tell cheaply that its cached table is stale.
-- tenant_pricing holds each tenant's validated pricing rules as JSON.

CREATE TABLE fx_rates (
    base TEXT NOT NULL,
    quote TEXT NOT NULL,
    rate TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (base, quote)
);

CREATE TABLE fx_version (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);

INSERT INTO fx_version (id, version) VALUES (1, 0);

CREATE TABLE tenant_pricing (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    rules TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
