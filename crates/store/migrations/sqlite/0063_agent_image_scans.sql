-- Image scans done by a node agent (an image only on that node). The queue row of such an image
-- waits in state 'node' with worker 'node:<node id>' (heartbeat_at: the agent's last poll) until
-- its agent uploads the image's index; the upload is kept here and the row goes back to 'pending'
-- for a server worker to match against the advisories and finish.
CREATE TABLE node_image_scans (
    account_id  BIGINT NOT NULL REFERENCES accounts(app_id),
    task_id     TEXT NOT NULL,
    image_id    TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    data        TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, image_id)
);
