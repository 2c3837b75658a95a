-- Webhook endpoint secrets encrypted at rest, and a rotation's overlap.
--
-- `secret` now holds the base64 ciphertext of the `whsec_` secret, sealed
-- (XChaCha20-Poly1305) under the operator's key named by `secret_key_id`
-- with the random nonce `secret_nonce`. A row whose `secret_key_id` is
-- NULL was written before this migration and still holds plain text: the
-- key lives in configuration, not here, so simgate seals such rows itself
-- at its next start (and refuses to start without a key to seal them).
ALTER TABLE webhook_endpoints ADD COLUMN secret_key_id TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN secret_nonce TEXT;
-- The secret a rotation replaced, sealed the same way: deliveries are
-- signed with it too until `previous_secret_expires_at` (Unix ms).
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_key_id TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_nonce TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_expires_at BIGINT;
