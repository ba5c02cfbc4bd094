"""/api/v1/reconciliation: summary, suggestions to decide, matches to make and reverse."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.errors import error_response
from payymo.api.reconciliation.schemas import (
    ManualMatchIn,
    MatchList,
    MatchListArgs,
    MatchOut,
    PatternTestIn,
    PatternTestOut,
    SuggestionList,
    SuggestionListArgs,
    SuggestionOut,
    SummaryOut,
)
from payymo.models import Match, Suggestion
from payymo.services import matches, reference_patterns, suggestions
from payymo.services.reconciliation import summary as reconciliation_summary
from payymo.tenancy import get_or_404

blp = Blueprint(
    "reconciliation",
    __name__,
    url_prefix="/reconciliation",
    description="Matching money in to invoices: review, correct, reverse",
)


def _actor() -> str:
    """Who is acting: the API key's id (its secret's prefix is for display only)."""
    return g.api_key.id


@blp.route("")
class Summary(MethodView):
    @blp.response(200, SummaryOut)
    def get(self):
        """Credits by match status and currency, match counts, auto-match rates, open invoices."""
        return reconciliation_summary.summary(session=db.session)


@blp.route("/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestionListArgs, location="query")
    @blp.response(200, SuggestionList)
    def get(self, args):
        """List suggestions, newest first."""
        page = page_args(args)
        return suggestions.list_suggestions(session=db.session, filters=args, page=page)


@blp.route("/suggestions/<string:suggestion_id>")
class SuggestionById(MethodView):
    @blp.response(200, SuggestionOut)
    def get(self, suggestion_id):
        """Retrieve a suggestion."""
        return suggestions.get_suggestion(session=db.session, suggestion_id=suggestion_id)


@blp.route("/suggestions/<string:suggestion_id>/accept")
class SuggestionAccept(MethodView):
    @blp.response(200, SuggestionOut)
    @blp.alt_response(409, description="Not open, or no longer fits (then it is expired)")
    def post(self, suggestion_id):
        """Apply an open suggestion as a match, re-checked now; teaches payer memory."""
        suggestion = get_or_404(db.session, Suggestion, suggestion_id)
        try:
            return suggestions.accept_suggestion(
                session=db.session, suggestion=suggestion, actor=_actor()
            )
        except suggestions.SuggestionExpired as exc:
            # The expiry is part of the answer: answered here (not raised, which rolls
            # back) and flagged so the lifecycle commits it with the 409 and its audit row.
            g.commit_on_error = True
            return error_response(exc)


@blp.route("/suggestions/<string:suggestion_id>/reject")
class SuggestionReject(MethodView):
    @blp.response(200, SuggestionOut)
    def post(self, suggestion_id):
        """Reject an open suggestion; its transaction-invoice pairs are never suggested again."""
        suggestion = get_or_404(db.session, Suggestion, suggestion_id)
        return suggestions.reject_suggestion(
            session=db.session, suggestion=suggestion, actor=_actor()
        )


def _create_match(body: dict) -> Match:
    return matches.create_manual_match(
        session=db.session,
        transaction_id=body["transaction_id"],
        lines=body["allocations"],
        actor=_actor(),
    )


def _reverse_match(match_id: str) -> Match:
    match = get_or_404(db.session, Match, match_id)
    return matches.reverse(session=db.session, match=match, actor=_actor())


_CREATE = "POST /api/v1/reconciliation/matches"
_CREATE_ALIAS = "POST /api/v1/reconciliation/match"
_REVERSE = "DELETE /api/v1/reconciliation/matches/{match_id}"
_REVERSE_ALIAS = "DELETE /api/v1/reconciliation/match/{match_id}"
_ALIAS_NOTE = "Alias of `{}`, kept for clients written against the published endpoint list: the same operation (body, scopes, events, answers)."


@blp.route("/matches")
class Matches(MethodView):
    @blp.arguments(MatchListArgs, location="query")
    @blp.response(200, MatchList)
    def get(self, args):
        """List matches, newest first."""
        page = page_args(args)
        return matches.list_matches(session=db.session, filters=args, page=page)

    @blp.arguments(ManualMatchIn)
    @blp.response(201, MatchOut)
    @blp.alt_response(404, description="The transaction or an invoice does not exist")
    @blp.doc(**{"x-aliases": [_CREATE_ALIAS]})
    def post(self, body):
        """Match a credit to invoices by hand (up to 50 allocation lines)."""
        return _create_match(body)


@blp.route("/match")
class MatchAlias(MethodView):
    @blp.arguments(ManualMatchIn)
    @blp.response(201, MatchOut)
    @blp.alt_response(404, description="The transaction or an invoice does not exist")
    @blp.doc(description=_ALIAS_NOTE.format(_CREATE), **{"x-alias-of": _CREATE})
    def post(self, body):
        """Match a credit to invoices by hand (alias of POST /reconciliation/matches)."""
        return _create_match(body)


@blp.route("/matches/<string:match_id>")
class MatchById(MethodView):
    @blp.response(200, MatchOut)
    def get(self, match_id):
        """Retrieve a match."""
        return get_or_404(db.session, Match, match_id)

    @blp.response(200, MatchOut)
    @blp.doc(**{"x-aliases": [_REVERSE_ALIAS]})
    def delete(self, match_id):
        """Reverse a match: history kept, invoices recomputed, pairs not matched again."""
        return _reverse_match(match_id)


@blp.route("/match/<string:match_id>")
class MatchAliasById(MethodView):
    @blp.response(200, MatchOut)
    @blp.doc(description=_ALIAS_NOTE.format(_REVERSE), **{"x-alias-of": _REVERSE})
    def delete(self, match_id):
        """Reverse a match (alias of DELETE /reconciliation/matches/{match_id})."""
        return _reverse_match(match_id)


@blp.route("/test_pattern")
class PatternTest(MethodView):
    @blp.arguments(PatternTestIn)
    @blp.response(200, PatternTestOut)
    def post(self, body):
        """Show what a pattern captures in a sample remittance text and the references looked up."""
        return reference_patterns.try_pattern(pattern=body["pattern"], text=body["text"])
