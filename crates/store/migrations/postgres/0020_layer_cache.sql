-- Per-layer index cache of the scan pipeline: key = sha256(diff-id, analyzer versions, walker
-- limits, rule digests), value = the serialised LayerIndex (zstd JSON). Content-addressed
-- derived data, like advisories: no account column (an account can only hit an entry by
-- presenting the same layer).
CREATE TABLE layer_cache (
    cache_key  TEXT PRIMARY KEY NOT NULL,
    diff_id    TEXT NOT NULL,
    data       BYTEA NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL
);
CREATE INDEX layer_cache_used_at ON layer_cache (used_at);
