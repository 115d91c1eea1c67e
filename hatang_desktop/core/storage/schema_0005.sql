-- Schema version 5: reference points that are not yet survey records (issue 17).
-- An OpenStreetMap mast or a line of someone's coordinate list is imported as a site "to verify"
-- (status 'to_verify'; the status CHECK is widened in migrations.py, which cannot be done by
-- ALTER TABLE): its operator may be unknown, its code is made from the source's id. Where it
-- came from is kept, so importing the same source again finds it, even after an inspector has
-- verified it (changed its operator, code and status): the source's own id ("osm:node/123",
-- "danh_sach.csv#17") and its tags or attributes as a JSON object.
ALTER TABLE sites ADD COLUMN source_ref TEXT;
ALTER TABLE sites ADD COLUMN source_tags TEXT;
CREATE INDEX ix_sites_source_ref ON sites(source_ref) WHERE source_ref IS NOT NULL;
-- The operator nobody has checked yet (core/operators.py UNKNOWN): only a site to verify may
-- carry it (CHECK added with the status value).
INSERT INTO operators(code, name, brand, mncs, colour)
VALUES ('UNKNOWN', 'Doanh nghiệp chưa xác định', 'Chưa xác định', '', '#9e9e9e');
