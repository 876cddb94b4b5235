-- The four tables of Trino's `db` resource-group manager, in the final shape of Trino's own
-- PostgreSQL migrations (trino-resource-groups-and-protocol.md A.4), so a real coordinator
-- configured with resource-groups.configuration-manager=db reads what the gateway writes.
CREATE TABLE IF NOT EXISTS resource_groups_global_properties (
  name VARCHAR(128) NOT NULL PRIMARY KEY,
  value VARCHAR(512) NULL,
  CHECK (name IN ('cpu_quota_period', 'physical_data_scan_quota_period'))
);

CREATE TABLE IF NOT EXISTS resource_groups (
  resource_group_id BIGSERIAL PRIMARY KEY,
  name VARCHAR(250) NOT NULL,
  soft_memory_limit VARCHAR(128) NULL,
  max_queued INT NOT NULL,
  soft_concurrency_limit INT NULL,
  hard_concurrency_limit INT NOT NULL,
  scheduling_policy VARCHAR(128) NULL,
  scheduling_weight INT NULL,
  jmx_export BOOLEAN NULL,
  soft_cpu_limit VARCHAR(128) NULL,
  hard_cpu_limit VARCHAR(128) NULL,
  hard_physical_data_scan_limit VARCHAR(128) NULL,
  parent BIGINT NULL REFERENCES resource_groups (resource_group_id) ON DELETE CASCADE,
  environment VARCHAR(128) NULL,
  node_group VARCHAR(250) NULL
);

CREATE TABLE IF NOT EXISTS selectors (
  id BIGSERIAL PRIMARY KEY,
  resource_group_id BIGINT NOT NULL REFERENCES resource_groups (resource_group_id) ON DELETE CASCADE,
  priority BIGINT NOT NULL,
  user_regex VARCHAR(512),
  user_group_regex VARCHAR(512),
  original_user_regex VARCHAR(512),
  authenticated_user_regex VARCHAR(512),
  source_regex VARCHAR(512),
  query_text_regex VARCHAR(1024),
  query_type VARCHAR(512),
  client_tags VARCHAR(512),
  selector_resource_estimate VARCHAR(1024)
);

-- environment and query_type stay nullable (NULL matches any), so the key is a surrogate id and
-- the natural key is a unique constraint, as in Trino's newest migration.
CREATE TABLE IF NOT EXISTS exact_match_source_selectors (
  id BIGSERIAL PRIMARY KEY,
  environment VARCHAR(128),
  source VARCHAR(512) NOT NULL,
  query_type VARCHAR(512),
  update_time TIMESTAMP NOT NULL,
  resource_group_id VARCHAR(256) NOT NULL,
  UNIQUE (source, environment, query_type, resource_group_id)
);
