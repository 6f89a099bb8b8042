-- Token refresh: a version that changes with every credentials write, so a refresh can tell whether someone else
-- already rotated the tokens it was about to rotate (single-flight across processes with SELECT ... FOR UPDATE).
ALTER TABLE accounts ADD COLUMN credentials_version integer NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN refresh_failures integer NOT NULL DEFAULT 0;
CREATE INDEX accounts_expiring ON accounts (expires_at) WHERE deleted_at IS NULL AND status = 'active';
