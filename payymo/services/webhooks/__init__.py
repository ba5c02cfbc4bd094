"""Tenant webhooks: endpoints (subscriptions), and the delivery of every event to them.

``endpoints`` manages subscriptions and their secrets; ``dispatch`` turns committed
events into deliveries, claims the due ones and records each attempt; ``schedule`` is
the retry schedule. The HTTP side (signing, SSRF checks, the pooled sender) is
``integrations.webhooks``; the loop that drives it all is ``tasks.webhooks``.
"""
