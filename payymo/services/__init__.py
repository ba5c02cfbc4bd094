"""Domain functions: keyword-only arguments, no Flask, never commit."""
