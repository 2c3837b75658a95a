-- Routing per tenant and frozen sell prices (issue 9).
--
-- tenant_routing holds each tenant's validated routing policy as JSON; a
-- tenant without a row routes by the default policy (cheapest).
-- orders gain the tenant's sell price of one unit, its currency and the
-- margin (price less the cost converted to that currency), frozen with the
-- cost of the candidate being bought. Orders placed before this migration
-- have none (NULL).

CREATE TABLE tenant_routing (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE orders ADD COLUMN price_micros BIGINT;
ALTER TABLE orders ADD COLUMN price_currency TEXT;
ALTER TABLE orders ADD COLUMN margin_micros BIGINT;
