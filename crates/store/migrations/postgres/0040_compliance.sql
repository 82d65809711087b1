-- Compliance: discovered assets (stable integer CustomerAssetId), the latest result per (asset, item),
-- durable check tasks (a queue like image scans), whitelist (ignore) entries and periodic task rules.
-- Booleans are 0/1 BIGINTs, lists JSON text, times unix seconds.

CREATE TABLE compliance_assets (
    asset_id     BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    asset_type   TEXT NOT NULL,
    asset_key    TEXT NOT NULL,
    name         TEXT NOT NULL,
    info         TEXT NOT NULL,
    present      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    seen_at      BIGINT NOT NULL,
    UNIQUE (account_id, asset_type, asset_key)
);

-- status: CHECK_RUNNING, CHECK_FINISHED, CHECK_FAILED or NOT_APPLICABLE (kept to say why, never listed as a result).
CREATE TABLE compliance_results (
    account_id  BIGINT NOT NULL REFERENCES accounts(app_id),
    asset_id    BIGINT NOT NULL,
    item_id     BIGINT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    checked_at  BIGINT NOT NULL,
    task_id     BIGINT NOT NULL,
    PRIMARY KEY (account_id, asset_id, item_id)
);

-- state: pending → running (claimed, heartbeat) → done.
CREATE TABLE compliance_tasks (
    task_id      BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    kind         TEXT NOT NULL,
    asset_types  TEXT NOT NULL,
    targets      TEXT NOT NULL,
    state        TEXT NOT NULL,
    worker       TEXT,
    heartbeat_at BIGINT,
    attempts     BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    done_cnt     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    error        TEXT NOT NULL
);
CREATE INDEX compliance_tasks_claim ON compliance_tasks (state, task_id);
CREATE INDEX compliance_tasks_account ON compliance_tasks (account_id, task_id);

-- asset_id 0: the item is ignored on every asset.
CREATE TABLE compliance_whitelist (
    whitelist_id BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    item_id      BIGINT NOT NULL,
    asset_id     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (account_id, item_id, asset_id)
);

-- One periodic task per (account, asset type); absent = defaults (see compliance.rs).
CREATE TABLE compliance_period_tasks (
    account_id        BIGINT NOT NULL REFERENCES accounts(app_id),
    asset_type        TEXT NOT NULL,
    frequency         BIGINT NOT NULL,
    execution_time    TEXT NOT NULL,
    enable            BIGINT NOT NULL,
    disabled_standards TEXT NOT NULL,
    last_trigger      BIGINT NOT NULL,
    PRIMARY KEY (account_id, asset_type)
);
