-- The scheduled image scan settings of an account (CreateAssetImageScanSetting /
-- DescribeAssetImageScanSetting). Booleans are 0/1 BIGINTs and lists JSON text so that one
-- sqlx::Any code path reads both backends.
CREATE TABLE image_scan_settings (
    account_id        BIGINT PRIMARY KEY NOT NULL REFERENCES accounts(app_id),
    enable            BIGINT NOT NULL,
    scan_time         TEXT NOT NULL,
    scan_period       BIGINT NOT NULL,
    scan_virus        BIGINT NOT NULL,
    scan_risk         BIGINT NOT NULL,
    scan_vul          BIGINT NOT NULL,
    all_images        BIGINT NOT NULL,
    images            TEXT NOT NULL,
    container_running BIGINT NOT NULL,
    scan_scope        BIGINT NOT NULL,
    scan_end_time     TEXT,
    exclude_images    TEXT NOT NULL,
    cluster_ids       TEXT NOT NULL,
    last_scan_time    TEXT,
    scan_result       TEXT,
    updated_at        BIGINT NOT NULL
);
