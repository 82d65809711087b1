-- Image inventory, image scan tasks (a durable queue: one row per image of a task) and the
-- latest scan results per image. Booleans are 0/1 BIGINTs, lists JSON text, times unix seconds.

-- Images an account sees (the server's Docker Engine). image_id = config digest.
CREATE TABLE image_assets (
    account_id    BIGINT NOT NULL REFERENCES accounts(app_id),
    image_id      TEXT NOT NULL,
    names         TEXT NOT NULL,
    repo_digests  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    created       TEXT NOT NULL,
    os            TEXT NOT NULL,
    architecture  TEXT NOT NULL,
    author        TEXT NOT NULL,
    history       TEXT NOT NULL,
    layers        TEXT NOT NULL,
    container_cnt BIGINT NOT NULL,
    running_cnt   BIGINT NOT NULL,
    source        TEXT NOT NULL,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (account_id, image_id)
);

CREATE TABLE image_scan_tasks (
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    task_id      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    status       TEXT NOT NULL,
    sub_status   TEXT NOT NULL,
    scan_vul     BIGINT NOT NULL,
    scan_virus   BIGINT NOT NULL,
    scan_risk    BIGINT NOT NULL,
    scheduled    BIGINT NOT NULL,
    deadline     BIGINT,
    started_at   BIGINT,
    finished_at  BIGINT,
    image_total  BIGINT NOT NULL,
    PRIMARY KEY (task_id)
);
CREATE INDEX image_scan_tasks_account ON image_scan_tasks (account_id, seq);
-- At most one unfinished task per account: CreateAssetImageScanTask's ErrAlreadyScanning.
CREATE UNIQUE INDEX image_scan_tasks_one_active ON image_scan_tasks (account_id) WHERE status <> 'END';

-- The queue: state pending → running (claimed, heartbeat) → done | failed | cancelled.
CREATE TABLE image_scan_queue (
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    task_id      TEXT NOT NULL REFERENCES image_scan_tasks(task_id),
    image_id     TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    state        TEXT NOT NULL,
    worker       TEXT,
    heartbeat_at BIGINT,
    attempts     BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    bytes_done   BIGINT NOT NULL,
    risk_count   BIGINT NOT NULL,
    error        TEXT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    PRIMARY KEY (task_id, image_id)
);
CREATE INDEX image_scan_queue_claim ON image_scan_queue (state, seq);

-- Latest result per image and scanner kind; replaced atomically when a scan of it finishes.
CREATE TABLE image_scan_results (
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    image_id     TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    scanned_at   BIGINT NOT NULL,
    summary      TEXT NOT NULL,
    PRIMARY KEY (account_id, image_id)
);

CREATE TABLE image_findings (
    account_id BIGINT NOT NULL REFERENCES accounts(app_id),
    image_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (account_id, image_id, kind, seq)
);

-- The scheduler's memory: the last slot it fired per account.
CREATE TABLE image_scan_schedule (
    account_id BIGINT PRIMARY KEY NOT NULL REFERENCES accounts(app_id),
    last_slot  BIGINT NOT NULL
);
