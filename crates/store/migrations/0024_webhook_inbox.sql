-- The inbound webhook inbox: a verified webhook is stored, then applied. A
-- row whose outcome is still NULL was not applied yet (the process died in
-- between, or the attempt failed, or it named an order not known yet): it
-- is applied again at `next_attempt_at` (Unix ms), `attempts` counting the
-- failed tries, until it is applied or given up. A provider's redelivery of
-- a row still unapplied is applied too, not answered "duplicate".
ALTER TABLE inbound_webhooks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbound_webhooks ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX inbound_webhooks_due ON inbound_webhooks (next_attempt_at);
