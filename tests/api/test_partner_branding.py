"""A partner's branding: read, replace, validated; partner keys only."""

from __future__ import annotations

import pytest

BRANDING = {
    "name": "Ledgerly Pay",
    "logo_url": "https://cdn.ledgerly.example/logo.svg",
    "primary_color": "#1A73E8",
    "support_email": "help@ledgerly.example",
    "custom_domain": "pay.ledgerly.example",
}


def test_branding_defaults_to_the_partners_name_and_is_replaced_whole(make_partner):
    partner = make_partner("Ledgerly")
    assert partner.api.get("partner/branding").json == {
        "object": "partner_branding",
        "name": "Ledgerly",
        "logo_url": None,
        "primary_color": None,
        "support_email": None,
        "custom_domain": None,
    }
    saved = partner.api.request("PUT", "partner/branding", json=BRANDING)
    assert saved.status_code == 200, saved.json
    assert saved.json == {"object": "partner_branding", **BRANDING}
    assert partner.api.get("partner/branding").json == saved.json
    cleared = partner.api.request("PUT", "partner/branding", json={"name": "Ledgerly"})
    assert cleared.json["logo_url"] is None and cleared.json["primary_color"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logo_url", "http://cdn.ledgerly.example/logo.svg"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "https://user:pw@cdn.ledgerly.example/logo.svg"),
        ("primary_color", "blue"),
        ("primary_color", "#12345"),
        ("support_email", "not-an-address"),
        ("custom_domain", "https://pay.ledgerly.example/"),
        ("name", ""),
    ],
)
def test_bad_branding_is_refused_naming_the_field(make_partner, field, value):
    partner = make_partner("Ledgerly")
    refused = partner.api.request("PUT", "partner/branding", json={**BRANDING, field: value})
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["param"] == field
    assert partner.api.get("partner/branding").json["logo_url"] is None  # nothing stored


def test_each_partner_sees_only_its_own_branding_and_tenants_none(make_partner, api):
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    alpha.api.request("PUT", "partner/branding", json=BRANDING)
    assert beta.api.get("partner/branding").json["name"] == "Beta"
    assert api.get("partner/branding").status_code == 403
