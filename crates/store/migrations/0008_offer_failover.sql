-- Orders of an offer (issue 9): the offer ordered, its candidates in the
-- order routing chose, and the attempts at earlier candidates that bought
-- nothing. JSON text keeps this portable between SQLite and PostgreSQL;
-- the log is only ever rewritten under the order's fence.

ALTER TABLE orders ADD COLUMN offer_id TEXT;
ALTER TABLE orders ADD COLUMN candidates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]';
