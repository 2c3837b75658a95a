-- Console sign-in sessions (issue 14), server-side so that every instance
-- sharing the database honours them and a sign-out ends them everywhere.
-- Only the SHA-256 of the cookie's token is stored. operator is 1 for the
-- operator key, 0 for a tenant key; tenant_id is the tenant the pages show.

CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    operator BIGINT NOT NULL,
    tenant_id TEXT,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
