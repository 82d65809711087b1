-- Advisory data (shared reference data: no account column). One row per (source, id):
-- the same advisory imported from two paths is two rows, matching reports it once.
-- `data` is the JSON of vuln::Advisory; `content_hash` lets a re-import touch only what changed.
CREATE TABLE advisory_sources (
    name            TEXT PRIMARY KEY NOT NULL,
    fingerprint     TEXT NOT NULL,
    imported_at     BIGINT NOT NULL,
    advisory_count  BIGINT NOT NULL,
    newest_modified TEXT
);
CREATE TABLE advisories (
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    modified     TEXT,
    withdrawn    BIGINT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (source, id)
);
-- The lookup index of matching: (ecosystem key, normalised package name) → advisory.
CREATE TABLE advisory_keys (
    ecosystem TEXT NOT NULL,
    name      TEXT NOT NULL,
    source    TEXT NOT NULL,
    id        TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, source, id)
);
CREATE INDEX advisory_keys_by_advisory ON advisory_keys (source, id);
