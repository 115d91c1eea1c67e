"""The department's server: PostgreSQL + PostGIS (issue 19)."""
