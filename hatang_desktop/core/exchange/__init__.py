"""Exchange with the department: the Excel workbook (export, validated import, three-way merge)."""
