"""Turning event logs into metrics, tables, plots and files. Never simulates."""

from .summary import SUMMARY_COLUMNS, summarise

__all__ = ["SUMMARY_COLUMNS", "summarise"]
