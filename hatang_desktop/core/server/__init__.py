"""The department's server: the same schema and core on PostgreSQL 15 + PostGIS 3 (issue 19)."""
