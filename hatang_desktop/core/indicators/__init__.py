"""Plan indicators: what the department reports against its digital-infrastructure plans.

- `catalogue`: the indicators, their units and definitions;
- `plans`, `coverage_model`: targets and the coverage model, data in `resources/`;
- `data`: reading a database (read-only, any schema) into arrays;
- `compute`: every indicator per commune, vectorised (STRtree joins, geodesic distances);
- `evaluate`: against the targets for a province or a commune (`build_report`);
- `figures`: the department's own figures per commune and year (schema 5).
"""

from .evaluate import IndicatorReport, Row, build_report, text_report

__all__ = ["IndicatorReport", "Row", "build_report", "text_report"]
