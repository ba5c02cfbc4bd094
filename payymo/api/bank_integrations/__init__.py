"""/api/v1/integrations/{provider}: a tenant's own bank-data provider credentials."""
