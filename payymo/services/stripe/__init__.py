"""Stripe for a tenant: the linked account, payments for invoices, payouts and their lines,
and the webhook events Stripe sends. The HTTP side is ``integrations.stripe``."""
