-- Schema version 5: figures the department enters per commune (or for the province) and year,
-- for the plan indicators that are not surveyed on the map: broadband subscriptions per 100
-- inhabitants and i-Speed download speeds. Carries the sync identity like a surveyed record so
-- it can travel in workbooks and its edits are logged; tombstoned, never deleted.
CREATE TABLE indicator_figures (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    unit_code   TEXT NOT NULL REFERENCES admin_units(code),
    year        INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    indicator   TEXT NOT NULL CHECK (indicator IN ('mobile_bb_subs_per_100', 'fixed_bb_subs_per_100',
                                                   'mobile_ispeed_mbps', 'fixed_ispeed_mbps')),
    value       REAL NOT NULL CHECK (value >= 0),
    note        TEXT
);
CREATE UNIQUE INDEX ux_indicator_figures ON indicator_figures(unit_code, year, indicator) WHERE deleted = 0;
