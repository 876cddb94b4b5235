-- A database first set up by an older Trino Gateway (its V1 created the resource-group tables until
-- v19) or an older Trino keeps the old shape, since V2 skips tables that exist. Bring those up to
-- the columns the newest Trino coordinator reads; on tables V2 created, every statement is a no-op.
ALTER TABLE resource_groups ALTER COLUMN soft_memory_limit DROP NOT NULL;
ALTER TABLE resource_groups ADD COLUMN IF NOT EXISTS hard_physical_data_scan_limit VARCHAR(128) NULL;
ALTER TABLE resource_groups ADD COLUMN IF NOT EXISTS environment VARCHAR(128) NULL;
ALTER TABLE resource_groups ADD COLUMN IF NOT EXISTS node_group VARCHAR(250) NULL;

ALTER TABLE selectors ADD COLUMN IF NOT EXISTS user_group_regex VARCHAR(512);
ALTER TABLE selectors ADD COLUMN IF NOT EXISTS original_user_regex VARCHAR(512);
ALTER TABLE selectors ADD COLUMN IF NOT EXISTS authenticated_user_regex VARCHAR(512);
ALTER TABLE selectors ADD COLUMN IF NOT EXISTS query_text_regex VARCHAR(1024);
ALTER TABLE selectors ADD COLUMN IF NOT EXISTS id BIGSERIAL;

ALTER TABLE resource_groups_global_properties
  DROP CONSTRAINT IF EXISTS resource_groups_global_properties_name_check;
ALTER TABLE resource_groups_global_properties
  ADD CONSTRAINT resource_groups_global_properties_name_check
  CHECK (name IN ('cpu_quota_period', 'physical_data_scan_quota_period'));
