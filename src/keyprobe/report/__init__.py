"""Reports people read: the Allure HTML (``keyprobe report``) and the permission-matrix page."""

from keyprobe.report.build import BuiltReport, ReportError, build_report
from keyprobe.report.matrix_html import MatrixError, render, write_matrix_html

__all__ = [
    "BuiltReport",
    "MatrixError",
    "ReportError",
    "build_report",
    "render",
    "write_matrix_html",
]
