"""Rollups: exact per-tenant counts and sums that stats and summaries read instead of rows."""
