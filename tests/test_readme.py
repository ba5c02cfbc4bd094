"""README describes what exists: every scope a key can carry, no feature not yet built."""

from __future__ import annotations

from pathlib import Path

from payymo import auth

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    start = README.index(heading)
    end = README.find("\n### ", start + len(heading))
    return README[start:end]


def test_the_authentication_paragraph_lists_every_scope():
    text = _section("**Authentication.**")
    scopes = (*auth.SCOPES, *auth.PARTNER_SCOPES)
    missing = [scope for scope in scopes if f"`{scope}`" not in text]
    assert not missing, f"README's Authentication paragraph lacks {missing}"


def test_the_authentication_paragraph_names_every_guarded_resource():
    table = _section("**Authentication.**")
    # Blueprints whose path is not their name.
    paths = {
        "bank_integrations": "/integrations/{provider}",
        "event_redelivery": "/events/{id}/redeliver",
        "stripe_integration": "/integrations/stripe",
        "partner_tenants": "/partner/tenants",
        "partner_branding": "/partner/branding",
        "partner_webhook_endpoints": "/partner/webhook_endpoints",
    }
    for blueprint in auth.BLUEPRINT_SCOPES:
        resource = paths.get(blueprint) or "/" + blueprint.removeprefix("reconciliation_").replace(
            "run", "reconciliation"
        )
        assert resource in table, f"{blueprint}: {resource} missing from the scope table"
