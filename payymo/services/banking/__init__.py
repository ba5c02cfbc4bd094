"""Bank connections: consents at a bank-data provider, and syncing what they grant."""
