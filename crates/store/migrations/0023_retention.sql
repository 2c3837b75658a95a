-- Retention (issue 21 item 6). An applied inbound webhook's body is
-- replaced by a redacted one (no activation codes, matching ids or LPA
-- strings; a SHA-256 of the original): redacted_at says when, NULL while
-- the body is the one received. The indexes let the purge job find the
-- oldest rows of each table without scanning it.
ALTER TABLE inbound_webhooks ADD COLUMN redacted_at BIGINT;
CREATE INDEX inbound_webhooks_received ON inbound_webhooks (received_at);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX event_deliveries_updated ON event_deliveries (updated_at);
