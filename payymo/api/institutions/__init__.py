"""/api/v1/institutions."""
