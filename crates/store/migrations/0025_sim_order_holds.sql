-- SIM card orders hold their cost on the tenant's account, as eSIM orders
-- do: the provider's preview cost (in the account's currency), held with
-- the row before the provider is called, captured when the provider takes
-- the order, released when it certainly did not. Ledger entries reference
-- `<sim order id>#<n>` and carry the SIM order's id as their order_id. SIM
-- orders placed before this migration have no hold and move no money.
ALTER TABLE sim_orders ADD COLUMN hold_micros BIGINT;
ALTER TABLE sim_orders ADD COLUMN hold_currency TEXT;
ALTER TABLE sim_orders ADD COLUMN hold_state TEXT;
ALTER TABLE sim_orders ADD COLUMN hold_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN hold_fx_rate TEXT;
