-- Schema version 3: recording in the field (GPS metadata, photos).
-- A position taken from the GPS keeps how good it was, on the record itself, so the change log,
-- undo and the department all see it with the position: horizontal accuracy (1-sigma metres,
-- from the receiver's GST sentence or estimated from HDOP), HDOP, satellites used, the fix's UTC
-- time, the source (serial port or NMEA log) and how many fixes were averaged. All NULL when the
-- position was set by hand.
ALTER TABLE sites ADD COLUMN gnss_accuracy_m REAL CHECK (gnss_accuracy_m >= 0);
ALTER TABLE sites ADD COLUMN gnss_hdop REAL CHECK (gnss_hdop >= 0);
ALTER TABLE sites ADD COLUMN gnss_satellites INTEGER CHECK (gnss_satellites >= 0);
ALTER TABLE sites ADD COLUMN gnss_fix_time TEXT;
ALTER TABLE sites ADD COLUMN gnss_source TEXT;
ALTER TABLE sites ADD COLUMN gnss_fix_count INTEGER CHECK (gnss_fix_count >= 1);
ALTER TABLE poles ADD COLUMN gnss_accuracy_m REAL CHECK (gnss_accuracy_m >= 0);
ALTER TABLE poles ADD COLUMN gnss_hdop REAL CHECK (gnss_hdop >= 0);
ALTER TABLE poles ADD COLUMN gnss_satellites INTEGER CHECK (gnss_satellites >= 0);
ALTER TABLE poles ADD COLUMN gnss_fix_time TEXT;
ALTER TABLE poles ADD COLUMN gnss_source TEXT;
ALTER TABLE poles ADD COLUMN gnss_fix_count INTEGER CHECK (gnss_fix_count >= 1);
ALTER TABLE findings ADD COLUMN gnss_accuracy_m REAL CHECK (gnss_accuracy_m >= 0);
ALTER TABLE findings ADD COLUMN gnss_hdop REAL CHECK (gnss_hdop >= 0);
ALTER TABLE findings ADD COLUMN gnss_satellites INTEGER CHECK (gnss_satellites >= 0);
ALTER TABLE findings ADD COLUMN gnss_fix_time TEXT;
ALTER TABLE findings ADD COLUMN gnss_source TEXT;
ALTER TABLE findings ADD COLUMN gnss_fix_count INTEGER CHECK (gnss_fix_count >= 1);

-- Photos: the name of the file the user picked (the copy is named by the photo's UUID) and the
-- stored copy's pixel size, so a list can be shown without opening every file.
ALTER TABLE photos ADD COLUMN original_name TEXT;
ALTER TABLE photos ADD COLUMN width INTEGER CHECK (width > 0);
ALTER TABLE photos ADD COLUMN height INTEGER CHECK (height > 0);
CREATE INDEX ix_photos_sha256 ON photos(sha256);
