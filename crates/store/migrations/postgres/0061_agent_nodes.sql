-- Nodes reported by agents beside the server's own: who reported a host (the agent key's SecretId,
-- empty for the server's own collection) and after how many seconds without a report it shows
-- offline (0: the default of the asset actions). Containers are keyed by host too: two nodes may
-- report the same container id (two agents on one engine, or copied VMs).
ALTER TABLE node_hosts ADD COLUMN reported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE node_hosts ADD COLUMN offline_after BIGINT NOT NULL DEFAULT 0;

ALTER TABLE node_containers DROP CONSTRAINT node_containers_pkey;
ALTER TABLE node_containers ADD PRIMARY KEY (account_id, host_id, container_id);
DROP INDEX node_containers_host;
CREATE INDEX node_containers_id ON node_containers (account_id, container_id);
