-- When a node agent last reported its compliance checks (unix seconds, 0: never): a compliance
-- task created since then is answered to the agent's next poll (PollNodeWork), so its checks run
-- at once rather than at its next --compliance-every.
ALTER TABLE node_hosts ADD COLUMN compliance_at BIGINT NOT NULL DEFAULT 0;
