-- The node an agent-reported compliance asset is on (its host id); empty for the assets the
-- server discovers itself. Each side's discovery marks absent only its own assets.
ALTER TABLE compliance_assets ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
