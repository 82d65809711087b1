-- When the rule was last saved: the first periodic run is the first slot after it.
ALTER TABLE compliance_period_tasks ADD COLUMN saved_at BIGINT NOT NULL DEFAULT 0;
