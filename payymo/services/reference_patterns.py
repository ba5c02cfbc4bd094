"""Trying a tenant's reference pattern on a sample text, read as a reconcile run reads it."""

from __future__ import annotations

from payymo.matching.patterns import compile_pattern, run_pattern
from payymo.matching.references import extract_references, reference_forms


def try_pattern(*, pattern: str, text: str) -> dict:
    """What ``pattern`` captures in ``text``, and the normalised forms a run looks up.

    ``references`` is the run's list (normalised, empty ones dropped, each once);
    ``captures`` shows each distinct capture beside its normalised and prefix-less forms.
    """
    captures = []
    for captured in dict.fromkeys(run_pattern(compile_pattern(pattern), text)):
        normalized, without_prefix = reference_forms(captured)
        captures.append(
            {
                "captured": captured,
                "normalized": normalized,
                "without_prefix": without_prefix or None,
            }
        )
    return {"references": extract_references(text, pattern), "captures": captures}
