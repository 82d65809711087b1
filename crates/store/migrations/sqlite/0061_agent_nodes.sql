-- Nodes reported by agents beside the server's own: who reported a host (the agent key's SecretId,
-- empty for the server's own collection) and after how many seconds without a report it shows
-- offline (0: the default of the asset actions). Containers are keyed by host too: two nodes may
-- report the same container id (two agents on one engine, or copied VMs).
ALTER TABLE node_hosts ADD COLUMN reported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE node_hosts ADD COLUMN offline_after BIGINT NOT NULL DEFAULT 0;

CREATE TABLE node_containers_by_host (
    account_id   BIGINT NOT NULL REFERENCES accounts(app_id),
    container_id TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    data         TEXT NOT NULL,
    seen_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, host_id, container_id)
);
INSERT INTO node_containers_by_host SELECT account_id, container_id, host_id, data, seen_at FROM node_containers;
DROP TABLE node_containers;
ALTER TABLE node_containers_by_host RENAME TO node_containers;
CREATE INDEX node_containers_id ON node_containers (account_id, container_id);
