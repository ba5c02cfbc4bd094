"""/api/v1/partner/branding: the look of the partner's portal."""
