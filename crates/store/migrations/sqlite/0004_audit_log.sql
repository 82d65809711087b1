-- The audit trail (api::audit): every request of a mutating action and every authentication
-- failure. account_id is NULL when authentication failed (no account is known), so no foreign key.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    account_id  BIGINT,
    request_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    secret_id   TEXT NOT NULL,
    client      TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE INDEX audit_log_at ON audit_log (at);
