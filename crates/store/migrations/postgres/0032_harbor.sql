-- Harbor Pluggable Scanner API: bearer tokens bound to an account, and the durable queue of
-- Harbor scan requests. Results land in image_scan_results / image_findings like any scan, and
-- the image joins image_assets with source 'harbor:HOST'.

-- Tokens are 256-bit random strings: a SHA-256 of them is enough to look them up and reveals
-- nothing (unlike API keys, nothing needs the plain token back).
CREATE TABLE harbor_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    token_id    TEXT NOT NULL UNIQUE,
    account_id  BIGINT NOT NULL REFERENCES accounts(app_id),
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT
);

-- state: pending -> running (claimed, heartbeat) -> done | failed. The registry credential
-- Harbor sends is sealed like API secrets (AAD = 'harbor-scan:' || scan_id) and erased when
-- the scan ends.
CREATE TABLE harbor_scans (
    scan_id        TEXT PRIMARY KEY NOT NULL,
    account_id     BIGINT NOT NULL REFERENCES accounts(app_id),
    seq            BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    request        TEXT NOT NULL,
    auth_nonce     BYTEA,
    auth_sealed    BYTEA,
    state          TEXT NOT NULL,
    worker         TEXT,
    heartbeat_at   BIGINT,
    attempts       BIGINT NOT NULL,
    image_id       TEXT NOT NULL,
    error          TEXT NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX harbor_scans_claim ON harbor_scans (state, seq);
