-- Tenant accounts and their append-only ledger (issue 22).
--
-- accounts holds one row per tenant that has ever been configured or
-- funded: a tenant without a row is prepaid, in USD, at zero, so it cannot
-- buy until the operator funds it. balance_micros and held_micros are a
-- projection of ledger_entries, updated in the same transaction as each
-- entry: balance = SUM(amount_micros), held = SUM(held_micros) over the
-- account's entries. Available = balance - held, which may not go below
-- minus the credit limit (zero for prepaid accounts).
--
-- Every movement is one entry, unique per (tenant, reference, kind), so a
-- retried write cannot post twice:
--   credit      +x to the balance (funding)
--   adjustment  ±x to the balance (operator correction)
--   hold        +h to held (an order accepted, before any upstream call)
--   release     -h to held (the order failed or moved to another price)
--   capture     -h to the balance and -h to held (the order completed)
--   refund      +x to the balance (a refunded sale)
-- low_alerted is set when balance.low was sent for the current crossing
-- of the tenant's threshold, and cleared when available is back above it.

CREATE TABLE accounts (
    tenant_id             TEXT PRIMARY KEY REFERENCES tenants (id),
    mode                  TEXT NOT NULL,
    currency              TEXT NOT NULL,
    credit_limit_micros   BIGINT NOT NULL,
    balance_micros        BIGINT NOT NULL,
    held_micros           BIGINT NOT NULL,
    low_threshold_micros  BIGINT,
    low_alerted           BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    kind            TEXT NOT NULL,
    amount_micros   BIGINT NOT NULL,
    held_micros     BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reference       TEXT NOT NULL,
    order_id        TEXT,
    fx_rate         TEXT,
    note            TEXT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_reference ON ledger_entries (tenant_id, reference, kind);
CREATE INDEX ledger_entries_tenant_time ON ledger_entries (tenant_id, created_at, id);
CREATE INDEX ledger_entries_order ON ledger_entries (order_id);

-- The order's hold: how much (in the account's currency) is held or was
-- captured, its state, and its sequence number (a failed order's retry or a
-- failover holds anew, under the next number). Orders placed before this
-- migration have no hold (hold_state NULL) and move no money.
ALTER TABLE orders ADD COLUMN hold_micros BIGINT;
ALTER TABLE orders ADD COLUMN hold_currency TEXT;
ALTER TABLE orders ADD COLUMN hold_state TEXT;
ALTER TABLE orders ADD COLUMN hold_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN hold_fx_rate TEXT;
-- How much of the captured amount was refunded to the tenant.
ALTER TABLE orders ADD COLUMN refunded_micros BIGINT NOT NULL DEFAULT 0;
-- hold_state 'refunded' once every unit's refund is recorded: an order the
-- provider reported refunded that is still 'captured' is one whose refund a
-- crash left unrecorded, found through this index.
CREATE INDEX orders_hold ON orders (hold_state, status);

-- Refunds of sales: one row per refunded eSIM of an order (the whole order
-- for a quantity of one), whatever asked for it.
CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    order_id           TEXT NOT NULL REFERENCES orders (id),
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    iccid              TEXT,
    units              BIGINT NOT NULL,
    provider_refunded  BIGINT NOT NULL,
    amount_micros      BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    reason             TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);
