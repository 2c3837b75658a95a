-- Verified provider webhooks, stored raw before they are applied, so that
-- nothing a provider sent is lost and a redelivery is recognised.
CREATE TABLE inbound_webhooks (
    id            TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    dedupe_key    TEXT NOT NULL,
    body          TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    outcome       TEXT,
    processed_at  BIGINT,
    UNIQUE (provider, dedupe_key)
);
