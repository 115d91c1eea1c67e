-- Schema version 2: what the Excel sync needs.
-- The change log records the record's version after each change, so the state a record had at
-- any version (the base of a three-way merge) can be rebuilt from the current one.
ALTER TABLE change_log ADD COLUMN version INTEGER;
-- Older inserts were version 1; older updates stay unknown (NULL): the merge treats a base it
-- cannot rebuild as unknown and raises conflicts rather than guess. The append-only guard is
-- lifted for this one backfill, inside the migration's transaction.
DROP TRIGGER change_log_no_update;
UPDATE change_log SET version = 1 WHERE action = 'insert';
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;

-- A field changed on both sides since the last exchange, to different values: kept for the user
-- to decide, never silently overwritten.
CREATE TABLE conflicts (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    table_name   TEXT NOT NULL,
    record_uuid  TEXT NOT NULL,
    field        TEXT NOT NULL,
    base_value,
    local_value,
    theirs_value,
    workbook     TEXT NOT NULL,
    workbook_database_id TEXT,
    theirs_version INTEGER,
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution   TEXT CHECK (resolution IN ('local', 'theirs', 'edited')),
    resolved_by  TEXT,
    resolved_at  TEXT,
    CHECK ((status = 'open') = (resolution IS NULL))
);
CREATE INDEX ix_conflicts_record ON conflicts(record_uuid);
CREATE INDEX ix_change_log_source ON change_log(source);
