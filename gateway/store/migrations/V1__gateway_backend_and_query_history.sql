-- Trino Gateway's own tables, in the shape its Flyway migrations V1 to V4 leave them
-- (trino-gateway.md section 6), so a Trino Gateway and this gateway can share one database.
CREATE TABLE IF NOT EXISTS gateway_backend (
  name VARCHAR(256) PRIMARY KEY,
  routing_group VARCHAR(256),
  backend_url VARCHAR(256),
  external_url VARCHAR(256),
  active BOOLEAN
);

CREATE TABLE IF NOT EXISTS query_history (
  query_id VARCHAR(256) PRIMARY KEY,
  query_text TEXT,
  created BIGINT,
  backend_url VARCHAR(256),
  user_name VARCHAR(256),
  source VARCHAR(256),
  routing_group VARCHAR(255),
  external_url VARCHAR(255)
);

-- A database that Trino Gateway's V1 created lacks the later columns.
ALTER TABLE query_history ADD COLUMN IF NOT EXISTS routing_group VARCHAR(255);
ALTER TABLE query_history ADD COLUMN IF NOT EXISTS external_url VARCHAR(255);
ALTER TABLE query_history ALTER COLUMN query_text TYPE TEXT;

CREATE INDEX IF NOT EXISTS query_history_created_idx ON query_history (created);
