-- One inventory row per (image, source): an image seen both in the Docker Engine and in a
-- configured registry keeps one row per place (each refresh replaces only its own source's
-- rows), and the store merges them into one asset with all its names.
ALTER TABLE image_assets DROP CONSTRAINT image_assets_pkey;
ALTER TABLE image_assets ADD PRIMARY KEY (account_id, image_id, source);
