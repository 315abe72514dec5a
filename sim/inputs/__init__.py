"""Scenario, network and sweep files: schema, loading, checks, list and CSV import."""
