"""/api/v1/bank_connections."""
