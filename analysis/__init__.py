"""Turning event logs into metrics, tables, plots and files. Never simulates."""

from .summary import (
    OUTCOME_COLUMNS,
    SUMMARY_COLUMNS,
    run_summaries,
    summarise,
    summarise_by_cohort,
)

__all__ = ["OUTCOME_COLUMNS", "SUMMARY_COLUMNS", "run_summaries", "summarise",
           "summarise_by_cohort"]
