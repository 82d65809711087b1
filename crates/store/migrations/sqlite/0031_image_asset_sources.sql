-- One inventory row per (image, source): an image seen both in the Docker Engine and in a
-- configured registry keeps one row per place (each refresh replaces only its own source's
-- rows), and the store merges them into one asset with all its names.
CREATE TABLE image_assets_by_source (
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
    PRIMARY KEY (account_id, image_id, source)
);
INSERT INTO image_assets_by_source
    SELECT account_id, image_id, names, repo_digests, size, created, os, architecture, author, history, layers,
           container_cnt, running_cnt, source, seen_at
    FROM image_assets;
DROP TABLE image_assets;
ALTER TABLE image_assets_by_source RENAME TO image_assets;
