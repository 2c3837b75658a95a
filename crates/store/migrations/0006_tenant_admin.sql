-- Tenant administration: a tenant can be disabled (its keys stop working at
-- once), and tenant names are unique and non-blank so that an operator can
-- tell tenants apart. Names that break either rule before this migration are
-- made unique by appending the tenant id, never dropped.

ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;

UPDATE tenants SET name = id WHERE TRIM(name) = '';

UPDATE tenants SET name = name || ' (' || id || ')'
WHERE id NOT IN (SELECT MIN(id) FROM tenants GROUP BY name);

CREATE UNIQUE INDEX tenants_name_unique ON tenants (name);
