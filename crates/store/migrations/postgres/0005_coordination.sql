-- Coordination between processes sharing one database (API replicas, workers).

-- The per-(account, action) request rate limit across API replicas: one row per key holding the
-- current one-second window (unix seconds) and the requests counted in it.
CREATE TABLE api_rate_windows (
    account_id   BIGINT NOT NULL,
    action       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (account_id, action)
);

-- Periodic jobs that exactly one process runs per slot (the image scan scheduler's slots, the
-- inventory refresh period): the last slot claimed per job name, and by whom.
CREATE TABLE job_slots (
    name       TEXT PRIMARY KEY NOT NULL,
    slot       BIGINT NOT NULL,
    holder     TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
