"""/api/v1/partner: what a partner key does for itself (its tenants, its branding)."""
