-- The audit trail keeps a digest of each request's parameters (hex SHA-256 of the body, the
-- client's TC3 HashedRequestPayload), never the parameters: they may hold registry passwords.
-- Entries written before this migration have none.
ALTER TABLE audit_log ADD COLUMN params_sha256 TEXT NOT NULL DEFAULT '';
