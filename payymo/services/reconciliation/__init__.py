"""Reconciliation: what a run loads, the engine beside it, what it writes, and the summary."""
