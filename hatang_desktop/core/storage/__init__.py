"""SQLite storage: opening and checking files, migrations, the R*Tree index, the change log."""
