-- TC3 signatures already accepted for an action that changes state (api::replay), kept until the
-- signature's ±300 s window (plus a margin) is over. Not account data: the digest (SHA-256 of the
-- SecretId and the signature) already names the key. Shared by every process on this database.
CREATE TABLE seen_signatures (
    digest      BYTEA PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX seen_signatures_expiry ON seen_signatures(expires_at);
