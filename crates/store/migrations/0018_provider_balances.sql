-- Provider balances: the last balance read from each provider that documents
-- one, shared by every instance, and the state of its low-balance alert.
CREATE TABLE provider_balances (
    provider       TEXT PRIMARY KEY,
    amount_micros  BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    -- When the provider was asked (Unix ms): a read older than the stored
    -- one never replaces it.
    read_at        BIGINT NOT NULL,
    read_id        TEXT NOT NULL,
    -- The read that first went below the operator's threshold, while the
    -- balance stays below it: the provider.balance.low event is keyed by it,
    -- so it is sent once per crossing, on every instance and across restarts.
    low_read_id    TEXT
);

-- The owner of the operator's webhook endpoints and events. No API key ever
-- belongs to it, and it is disabled, so no request is ever this tenant; the
-- tenant list leaves it out.
INSERT INTO tenants (id, name, created_at, disabled_at)
    VALUES ('operator', 'simgate operator (reserved)', 0, 0);

-- The purchase ledger read per provider, for the spend since a balance read.
CREATE INDEX upstream_purchases_provider ON upstream_purchases (provider, recorded_at);
