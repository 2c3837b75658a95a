-- When each pending delivery is due: its creation, or its next retry. A
-- pending delivery long past due has no job left in the queue (the enqueue
-- after the commit failed, or the process died between the two), and the
-- sweeper queues it again. Rows from before this column count as due when
-- last touched.
ALTER TABLE event_deliveries ADD COLUMN due_at BIGINT NOT NULL DEFAULT 0;
UPDATE event_deliveries SET due_at = updated_at;
CREATE INDEX event_deliveries_due ON event_deliveries (status, due_at);
