"""Backends of `xlsx_writer.write_workbook`: one plan (`_plan`), three writers (`direct`, the
default; `rust`; `openpyxl_backend`).

The public interface lives in `hatang_desktop.core.exchange.xlsx_writer`; import from there.
"""
