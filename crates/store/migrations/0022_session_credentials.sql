-- Which credential each console session was opened with (issue 21 item 1):
-- the SHA-256 of the tenant's API key (as api_keys.key_hash holds it), or
-- the fingerprint of the operator key. A session is accepted only while
-- that credential still signs in: the tenant enabled and the key still
-- its own, or the running instance's operator key the same. Sessions from
-- before this column carry '' and match no credential: they end, and
-- their holders sign in again.
ALTER TABLE console_sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';
