"""The reconciliation engine: pure functions over plain data (no database, no Flask)."""
