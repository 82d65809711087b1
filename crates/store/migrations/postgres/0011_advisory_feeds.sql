-- Advisory feeds fetched by `db update` (one row per feed: OSV per ecosystem, Alpine secdb, Debian
-- tracker): where from, the validators of the last download (conditional requests), and the outcome
-- of the last attempt. The data itself lives in advisories/advisory_keys under source `feed:<name>`.
CREATE TABLE advisory_feeds (
    name          TEXT PRIMARY KEY NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    checked_at    BIGINT NOT NULL,
    updated_at    BIGINT,
    records       BIGINT NOT NULL,
    error         TEXT
);
-- Small named values of the advisory data: `key_scheme` = the vuln crate's key scheme the
-- advisory_keys rows were built with (rebuilt from advisories.data when it changes).
CREATE TABLE advisory_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
