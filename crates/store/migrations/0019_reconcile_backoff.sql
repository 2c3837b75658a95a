-- Reconcile backoff: every row a reconciler leases gets a time before which
-- it is not leased again (`next_attempt_at`, Unix ms), and the delay that
-- set it (`retry_delay_ms`), which doubles each time the row is taken and
-- comes back unmoved, up to a cap. Passes lease the rows due first, so rows
-- that cannot progress (a provider removed from configuration, behind an
-- open circuit, a webhook that never comes) cannot fill every batch and
-- starve newer rows. A row that moves starts again from zero.
ALTER TABLE orders ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN retry_delay_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN retry_delay_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN retry_delay_ms BIGINT NOT NULL DEFAULT 0;

CREATE INDEX orders_next_attempt ON orders (status, next_attempt_at);
CREATE INDEX sim_orders_next_attempt ON sim_orders (next_attempt_at);
CREATE INDEX lines_next_attempt ON lines (next_attempt_at);
