"""Stripe: a thin adapter over the official ``stripe`` library, and a fake Stripe server."""
