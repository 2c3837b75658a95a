-- One schema for SQLite and PostgreSQL: only types and syntax both accept.
-- Times are Unix milliseconds (BIGINT); money is millionths of the unit
-- (BIGINT) beside its ISO 4217 code; booleans are 0/1 BIGINTs.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    key_prefix  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE products (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    sku            TEXT NOT NULL,
    name           TEXT NOT NULL,
    data_mb        BIGINT,
    validity_days  BIGINT NOT NULL,
    price_micros   BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    countries      TEXT NOT NULL,
    active         BIGINT NOT NULL,
    synced_at      BIGINT NOT NULL
);
CREATE INDEX products_provider ON products (provider, active);
CREATE INDEX products_price ON products (price_micros);

CREATE TABLE product_countries (
    product_id  TEXT NOT NULL REFERENCES products (id),
    country     TEXT NOT NULL,
    PRIMARY KEY (product_id, country)
);
CREATE INDEX product_countries_country ON product_countries (country);

CREATE TABLE catalogue_syncs (
    provider    TEXT PRIMARY KEY,
    synced_at   BIGINT NOT NULL,
    products    BIGINT NOT NULL
);

CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    idempotency_key  TEXT,
    request_hash     TEXT NOT NULL,
    provider         TEXT NOT NULL,
    product_id       TEXT NOT NULL,
    sku              TEXT NOT NULL,
    kind             TEXT NOT NULL,
    target_iccid     TEXT,
    quantity         BIGINT NOT NULL,
    unit_price_micros BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL,
    upstream_ref     TEXT,
    provider_status  TEXT,
    error_code       TEXT,
    error_message    TEXT,
    retryable        BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    submitted_at     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE UNIQUE INDEX orders_upstream_ref ON orders (provider, upstream_ref);
CREATE INDEX orders_status ON orders (status, submitted_at);

CREATE TABLE esims (
    iccid                       TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants (id),
    provider                    TEXT NOT NULL,
    order_id                    TEXT NOT NULL REFERENCES orders (id),
    smdp_address                TEXT NOT NULL,
    matching_id                 TEXT NOT NULL,
    smdp_oid                    TEXT,
    confirmation_code_required  BIGINT NOT NULL,
    confirmation_code           TEXT,
    created_at                  BIGINT NOT NULL
);

CREATE TABLE order_esims (
    order_id  TEXT NOT NULL REFERENCES orders (id),
    iccid     TEXT NOT NULL REFERENCES esims (iccid),
    PRIMARY KEY (order_id, iccid)
);
