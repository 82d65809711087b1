-- What a key may do (model::KeyRole): 'full' (every TCSS action) or 'agent' (only the node
-- report action of `shipshape agent`).
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'full';
