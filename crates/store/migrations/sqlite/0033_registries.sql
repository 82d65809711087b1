-- Image registries of an account and their images per (repository, tag); the registry scan
-- schedule; image scan tasks split into families (local images, registry images) so a registry
-- scan and a local one can run side by side on the one queue.

-- origin 'api': added with AddAssetImageRegistryRegistryDetail; 'file': mirrored from the
-- server's registries file (one row per account and host, read-only over the API; its password
-- stays in the file or the environment). The password of an 'api' row is sealed like API
-- secrets (AAD = 'registry-password:' || registry_id).
CREATE TABLE registries (
    registry_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          BIGINT NOT NULL REFERENCES accounts(app_id),
    origin              TEXT NOT NULL,
    file_host           TEXT,
    name                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    host                TEXT NOT NULL,
    plain_http          BIGINT NOT NULL,
    insecure            BIGINT NOT NULL,
    username            TEXT NOT NULL,
    password_nonce      BLOB,
    password_sealed     BLOB,
    registry_type       TEXT NOT NULL,
    net_type            TEXT NOT NULL,
    registry_version    TEXT NOT NULL,
    registry_region     TEXT NOT NULL,
    speed_limit         BIGINT NOT NULL,
    conn_detect_config  TEXT NOT NULL,
    need_scan           BIGINT NOT NULL,
    sync_mode           BIGINT NOT NULL,
    webhook_url         TEXT NOT NULL,
    webhook_token       TEXT NOT NULL,
    instance_id         TEXT NOT NULL,
    repositories        TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    conn_status         TEXT NOT NULL,
    conn_message        TEXT NOT NULL,
    conn_checked_at     BIGINT,
    sync_requested      BIGINT NOT NULL,
    sync_status         TEXT NOT NULL,
    sync_error          TEXT NOT NULL,
    synced_at           BIGINT,
    sync_success_at     BIGINT
);
CREATE UNIQUE INDEX registries_name ON registries (account_id, name);
CREATE UNIQUE INDEX registries_file_host ON registries (account_id, file_host);
CREATE INDEX registries_sync ON registries (sync_requested);

-- One row per tag a registry holds; id is the TCSS list entry Id (stable while the tag exists).
-- Results stay per image id (image_scan_results / image_findings).
CREATE TABLE registry_images (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    BIGINT NOT NULL REFERENCES accounts(app_id),
    registry_id   BIGINT NOT NULL REFERENCES registries(registry_id),
    repository    TEXT NOT NULL,
    tag           TEXT NOT NULL,
    image_id      TEXT NOT NULL,
    digest        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    created       TEXT NOT NULL,
    os            TEXT NOT NULL,
    architecture  TEXT NOT NULL,
    first_seen    BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX registry_images_tag ON registry_images (account_id, registry_id, repository, tag);
CREATE INDEX registry_images_image ON registry_images (account_id, image_id);

-- UpdateImageRegistryTimingScanTask: the setting as JSON (validated by the service), and the
-- scheduler's memory (last fired slot, outcome of the last scheduled run).
CREATE TABLE registry_scan_settings (
    account_id      BIGINT PRIMARY KEY NOT NULL REFERENCES accounts(app_id),
    setting         TEXT NOT NULL,
    enable          BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_slot       BIGINT,
    last_scan_time  TEXT,
    scan_result     TEXT
);

-- Task families: 'local' (CreateAssetImageScanTask) and 'registry' (the registry scan actions);
-- at most one unfinished task per account and family.
ALTER TABLE image_scan_tasks ADD COLUMN family TEXT NOT NULL DEFAULT 'local';
DROP INDEX image_scan_tasks_one_active;
CREATE UNIQUE INDEX image_scan_tasks_one_active ON image_scan_tasks (account_id, family) WHERE status <> 'END';
