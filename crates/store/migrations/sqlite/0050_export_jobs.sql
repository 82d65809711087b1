-- Export jobs (the TCSS `...Export` actions): one row per workbook written under
-- DATA_DIR/exports (file_name), kept until expires_at, then the row and the file are pruned.
CREATE TABLE export_jobs (
    job_id      TEXT PRIMARY KEY NOT NULL,
    account_id  BIGINT NOT NULL REFERENCES accounts(app_id),
    job_name    TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    failure     TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    row_count   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX export_jobs_account ON export_jobs (account_id, created_at);

-- Download links: a 256-bit random token per link, only its SHA-256 kept (like Harbor tokens),
-- bound to the account and job, valid until expires_at.
CREATE TABLE export_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    account_id  BIGINT NOT NULL REFERENCES accounts(app_id),
    job_id      TEXT NOT NULL REFERENCES export_jobs(job_id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX export_tokens_job ON export_tokens (job_id);
