-- Schema version 1. Frozen: never edit after release; add a new migration instead.
-- Every surveyed table carries the sync identity: uuid, version, updated_at, updated_by,
-- source, deleted (a tombstone: nothing is hard-deleted, so deletions travel in workbooks).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE operators (
    code   TEXT PRIMARY KEY CHECK (code GLOB '[A-Z]*' AND length(code) <= 10),
    name   TEXT NOT NULL,
    brand  TEXT NOT NULL,
    mncs   TEXT NOT NULL DEFAULT '',
    colour TEXT NOT NULL DEFAULT '#7f7f7f'
);

-- One row per user action (one transaction); the change log points at it so undo can
-- take back a whole action and audit can say who did it, when, from which device or workbook.
CREATE TABLE operations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    user        TEXT NOT NULL,
    source      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE change_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id INTEGER REFERENCES operations(id),
    table_name   TEXT NOT NULL,
    record_uuid  TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete', 'restore')),
    field        TEXT,
    old_value,
    new_value,
    user         TEXT NOT NULL,
    time         TEXT NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX ix_change_log_record ON change_log(record_uuid);
CREATE INDEX ix_change_log_operation ON change_log(operation_id);
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;

CREATE TABLE admin_units (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    level       TEXT NOT NULL CHECK (level IN ('province', 'commune', 'village')),
    unit_type   TEXT NOT NULL,
    parent_code TEXT REFERENCES admin_units(code),
    centre_lat  REAL CHECK (centre_lat BETWEEN -90 AND 90),
    centre_lon  REAL CHECK (centre_lon BETWEEN -180 AND 180),
    boundary    BLOB,
    min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
    boundary_synthetic INTEGER NOT NULL DEFAULT 0 CHECK (boundary_synthetic IN (0, 1)),
    area_type   TEXT CHECK (area_type IN ('urban', 'rural', 'mountain')),
    population  INTEGER CHECK (population >= 0),
    households  INTEGER CHECK (households >= 0),
    has_power   INTEGER CHECK (has_power IN (0, 1)),
    mobile_broadband_surveyed INTEGER CHECK (mobile_broadband_surveyed IN (0, 1)),
    ftth_surveyed INTEGER CHECK (ftth_surveyed IN (0, 1)),
    CHECK ((centre_lat IS NULL) = (centre_lon IS NULL)),
    CHECK ((level = 'province') = (parent_code IS NULL))
);
CREATE INDEX ix_admin_units_parent ON admin_units(parent_code);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    operator_code TEXT NOT NULL REFERENCES operators(code),
    site_code   TEXT NOT NULL CHECK (length(trim(site_code)) > 0),
    name        TEXT,
    address     TEXT,
    commune_code TEXT REFERENCES admin_units(code),
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    tower_type  TEXT CHECK (tower_type IN ('ground_tower', 'guyed_mast', 'rooftop_pole', 'camouflaged', 'small_cell')),
    height_m    REAL CHECK (height_m > 0 AND height_m <= 300),
    building_height_m REAL CHECK (building_height_m > 0 AND building_height_m <= 500),
    owner       TEXT,
    permit_no   TEXT,
    permit_date DATE,
    in_passive_plan INTEGER NOT NULL DEFAULT 0 CHECK (in_passive_plan IN (0, 1)),
    in_industrial_zone INTEGER NOT NULL DEFAULT 0 CHECK (in_industrial_zone IN (0, 1)),
    status      TEXT NOT NULL DEFAULT 'operating' CHECK (status IN ('operating', 'planned', 'dismantled')),
    note        TEXT
);
-- Unique among live records only: a tombstoned site must not block re-entering its code.
CREATE UNIQUE INDEX ux_sites_operator_code ON sites(operator_code, site_code) WHERE deleted = 0;
CREATE INDEX ix_sites_commune ON sites(commune_code);

CREATE TABLE site_tenants (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    site_uuid   TEXT NOT NULL REFERENCES sites(uuid),
    operator_code TEXT NOT NULL REFERENCES operators(code),
    tenant_site_code TEXT,
    has_2g INTEGER NOT NULL DEFAULT 0 CHECK (has_2g IN (0, 1)),
    has_3g INTEGER NOT NULL DEFAULT 0 CHECK (has_3g IN (0, 1)),
    has_4g INTEGER NOT NULL DEFAULT 0 CHECK (has_4g IN (0, 1)),
    has_5g INTEGER NOT NULL DEFAULT 0 CHECK (has_5g IN (0, 1))
);
CREATE UNIQUE INDEX ux_site_tenants_site_operator ON site_tenants(site_uuid, operator_code) WHERE deleted = 0;

CREATE TABLE poles (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    code        TEXT NOT NULL CHECK (length(trim(code)) > 0),
    owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('power', 'operator', 'lighting', 'other')),
    owner_operator_code TEXT REFERENCES operators(code),
    material    TEXT CHECK (material IN ('concrete', 'steel', 'wood', 'other')),
    height_m    REAL CHECK (height_m > 0 AND height_m <= 60),
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    road        TEXT,
    commune_code TEXT REFERENCES admin_units(code),
    carries_power INTEGER NOT NULL DEFAULT 0 CHECK (carries_power IN (0, 1)),
    note        TEXT,
    CHECK (owner_kind = 'operator' OR owner_operator_code IS NULL)
);
CREATE INDEX ix_poles_commune ON poles(commune_code);
CREATE INDEX ix_poles_code ON poles(code);

CREATE TABLE pole_attachments (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    pole_uuid   TEXT NOT NULL REFERENCES poles(uuid),
    operator_code TEXT NOT NULL REFERENCES operators(code),
    cable_count INTEGER NOT NULL DEFAULT 1 CHECK (cable_count BETWEEN 0 AND 200),
    cable_type  TEXT NOT NULL DEFAULT 'fibre' CHECK (cable_type IN ('fibre', 'copper', 'coaxial', 'other')),
    lowest_height_m REAL CHECK (lowest_height_m >= 0 AND lowest_height_m <= 40),
    situation   TEXT CHECK (situation IN ('along_road', 'crossing_road', 'alley', 'crossing_water')),
    tagged      INTEGER NOT NULL DEFAULT 1 CHECK (tagged IN (0, 1)),
    condition   TEXT NOT NULL DEFAULT 'ok' CHECK (condition IN ('ok', 'tangled', 'sagging', 'abandoned')),
    in_insulating_tube INTEGER CHECK (in_insulating_tube IN (0, 1)),
    has_height_sign INTEGER CHECK (has_height_sign IN (0, 1)),
    wound_on_pole INTEGER NOT NULL DEFAULT 0 CHECK (wound_on_pole IN (0, 1)),
    spare_cable_m REAL CHECK (spare_cable_m >= 0),
    box_count   INTEGER NOT NULL DEFAULT 0 CHECK (box_count BETWEEN 0 AND 20),
    note        TEXT
);
CREATE UNIQUE INDEX ux_pole_attachments_pole_operator ON pole_attachments(pole_uuid, operator_code) WHERE deleted = 0;

CREATE TABLE fibre_routes (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    code        TEXT NOT NULL CHECK (length(trim(code)) > 0),
    operator_code TEXT NOT NULL REFERENCES operators(code),
    co_operators TEXT NOT NULL DEFAULT '',
    method      TEXT NOT NULL CHECK (method IN ('aerial', 'duct', 'buried')),
    level       TEXT NOT NULL DEFAULT 'access' CHECK (level IN ('backbone', 'access')),
    core_count  INTEGER CHECK (core_count BETWEEN 1 AND 1728),
    geom        BLOB NOT NULL,
    min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL,
    length_m    REAL NOT NULL CHECK (length_m >= 0),
    commune_code TEXT REFERENCES admin_units(code),
    note        TEXT,
    CHECK (min_lon <= max_lon AND min_lat <= max_lat)
);
CREATE UNIQUE INDEX ux_fibre_routes_operator_code ON fibre_routes(operator_code, code) WHERE deleted = 0;

CREATE TABLE fibre_route_poles (
    route_uuid TEXT NOT NULL REFERENCES fibre_routes(uuid),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    pole_uuid  TEXT NOT NULL REFERENCES poles(uuid),
    PRIMARY KEY (route_uuid, seq)
);
CREATE INDEX ix_fibre_route_poles_pole ON fibre_route_poles(pole_uuid);

CREATE TABLE zones (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    code        TEXT NOT NULL CHECK (length(trim(code)) > 0),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('industrial_park', 'industrial_cluster', 'economic_zone', 'undergrounding')),
    geom        BLOB NOT NULL,
    min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL,
    area_m2     REAL NOT NULL CHECK (area_m2 >= 0),
    commune_code TEXT REFERENCES admin_units(code),
    note        TEXT,
    CHECK (min_lon <= max_lon AND min_lat <= max_lat)
);
CREATE UNIQUE INDEX ux_zones_code ON zones(code) WHERE deleted = 0;

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    rule_id     TEXT,
    target_table TEXT CHECK (target_table IN ('sites', 'site_tenants', 'poles', 'pole_attachments', 'fibre_routes', 'zones')),
    target_uuid TEXT,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'violation')),
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'resolved', 'dismissed')),
    inspector   TEXT,
    found_on    DATE NOT NULL,
    note        TEXT,
    lat         REAL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL CHECK (lon BETWEEN -180 AND 180),
    commune_code TEXT REFERENCES admin_units(code),
    CHECK ((target_table IS NULL) = (target_uuid IS NULL)),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX ix_findings_target ON findings(target_uuid);

CREATE TABLE photos (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    owner_table TEXT NOT NULL CHECK (owner_table IN ('sites', 'poles', 'fibre_routes', 'findings', 'zones')),
    owner_uuid  TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    taken_at    TEXT,
    lat         REAL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL CHECK (lon BETWEEN -180 AND 180),
    caption     TEXT,
    data        BLOB
);
CREATE INDEX ix_photos_owner ON photos(owner_uuid);
