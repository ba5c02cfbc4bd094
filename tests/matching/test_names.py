"""Names: normalisation, similarity and the customer key."""

from __future__ import annotations

import pytest

from payymo.matching.names import customer_key, name_similarity, normalize_name


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("ACME Ltd.", "acme"),
        ("Acme Limited", "acme"),
        ("Müller GmbH", "muller"),
        ("Jansen B.V.", "jansen"),
        ("Dupont S.A.", "dupont"),
        ("The Widget Company", "widget"),
        ("Ltd", "ltd"),  # a name made only of a legal form keeps it
        (None, ""),
    ],
)
def test_normalize_name_drops_case_accents_punctuation_and_legal_forms(raw, normal):
    assert normalize_name(raw) == normal


def test_similarity_ignores_legal_forms_and_case():
    assert name_similarity("ACME WIDGETS LTD", "Acme Widgets GmbH") == 100
    assert name_similarity("Acme Widgts", "Acme Widgets Ltd") >= 90
    assert name_similarity("Nordic Timber", "Blue Wave Foods") < 50
    assert name_similarity(None, "Acme") == 0


def test_customer_key_prefers_reference_then_name_then_email():
    assert customer_key(reference=" cust-7 ", name="Acme", email="a@x.io") == "ref:CUST-7"
    assert customer_key(reference=None, name="ACME Ltd", email="a@x.io") == "name:acme"
    assert customer_key(reference="", name=None, email=" A@X.io ") == "email:a@x.io"
    assert customer_key(reference=None, name=None, email=None) == ""
