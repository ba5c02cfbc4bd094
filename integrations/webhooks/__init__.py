"""Outbound webhooks: signing, safe target resolution and a pooled HTTP sender.

Knows nothing of the database or Flask: the dispatcher hands it a URL, a body and the
live secrets, and gets back what happened.
"""
