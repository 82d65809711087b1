-- Accounts (TCSS AppId) and their API keys. The secret key is stored encrypted (XChaCha20-Poly1305,
-- key in DATA_DIR/master.key, AAD = secret_id); TC3 needs the plain secret to verify, so no hash.
CREATE TABLE accounts (
    app_id      BIGINT PRIMARY KEY NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    secret_id         TEXT PRIMARY KEY NOT NULL,
    account_id        BIGINT NOT NULL REFERENCES accounts(app_id),
    secret_nonce      BYTEA NOT NULL,
    secret_ciphertext BYTEA NOT NULL,
    enabled           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    disabled_at       BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id);
