-- Events for resellers, and their delivery to each tenant's endpoints.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    enabled          BIGINT NOT NULL,
    disabled_reason  TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    event_type  TEXT NOT NULL,
    -- One event per fact: the same order completing twice is one event.
    dedupe_key  TEXT NOT NULL UNIQUE,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);

CREATE TABLE event_deliveries (
    id             TEXT PRIMARY KEY,
    event_id       TEXT NOT NULL REFERENCES events (id),
    endpoint_id    TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status         TEXT NOT NULL,
    attempts       BIGINT NOT NULL,
    last_response  BIGINT,
    last_error     TEXT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);
