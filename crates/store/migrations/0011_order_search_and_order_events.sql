-- The console's order search and order history read the store directly
-- (issue 14) instead of scanning recent rows in the service.
--
-- A tenant's orders, newest first: the order list and the search's pages
-- read them in this order, so they need no sort of all the tenant's orders.
CREATE INDEX orders_tenant_newest ON orders (tenant_id, id);

-- The order an event is about (NULL for eSIM usage and SIM order events),
-- so one order's events are an indexed read, not a search of the payloads.
ALTER TABLE events ADD COLUMN order_id TEXT;
CREATE INDEX events_order ON events (tenant_id, order_id);

-- Events recorded before this column: an order event's dedupe key is
-- `<event_type>:<order id>:<attempt>`, and order ids are `ord_` and 32 hex
-- digits (36 characters). Only keys naming an existing order are taken.
UPDATE events SET order_id = SUBSTR(dedupe_key, LENGTH(event_type) + 2, 36)
WHERE event_type LIKE 'order.%'
  AND SUBSTR(dedupe_key, LENGTH(event_type) + 2, 36) IN (SELECT id FROM orders);
