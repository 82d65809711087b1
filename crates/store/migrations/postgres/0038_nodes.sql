-- What each node reports (model::node as JSON): its host and its containers, replaced per host
-- at each collection; and the asset refresh tasks of CreateRefreshTask. seen_at: unix seconds.
CREATE TABLE node_hosts (
    account_id BIGINT NOT NULL REFERENCES accounts(app_id),
    host_id    TEXT NOT NULL,
    data       TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, host_id)
);

CREATE TABLE node_containers (
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    container_id TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    data         TEXT NOT NULL,
    seen_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, container_id)
);
CREATE INDEX node_containers_host ON node_containers (account_id, host_id);

-- status: Task_New -> Task_Running -> Task_Finish | Task_Error (TCSS's words).
CREATE TABLE asset_refresh_tasks (
    task_id      BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    status       TEXT NOT NULL,
    error        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX asset_refresh_tasks_claim ON asset_refresh_tasks (status, task_id);
