"""The fake Stripe's HTTP surface (werkzeug), its accounts, and the control API tests drive."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import operator
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import requests
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from integrations.stripe.fake.forms import decode
from integrations.stripe.fake.ledger import Ledger, StripeFailure, shown
from integrations.webhooks.signing import payymo_signature

# kind → URL segment
SEGMENTS = {
    "payment_intent": "payment_intents",
    "charge": "charges",
    "refund": "refunds",
    "dispute": "disputes",
    "payout": "payouts",
    "balance_transaction": "balance_transactions",
    "event": "events",
}
_KINDS = {segment: kind for kind, segment in SEGMENTS.items()}
_ID_KINDS = {
    "pi": "payment_intent",
    "ch": "charge",
    "re": "refund",
    "du": "dispute",
    "po": "payout",
    "txn": "balance_transaction",
}
# List filters each kind takes (query parameter → field).
_FILTERS = {
    "payment_intent": ("customer",),
    "charge": ("payment_intent", "customer"),
    "refund": ("charge", "payment_intent"),
    "dispute": ("charge", "payment_intent"),
    "payout": ("status",),
    "balance_transaction": ("payout", "type", "source", "currency"),
    "event": ("type",),
}
_ROUTES = Map(
    [
        Rule("/v1/balance", endpoint="balance", methods=["GET"]),
        Rule("/v1/payment_intents", endpoint="create_payment_intent", methods=["POST"]),
        Rule("/v1/payment_intents/<object_id>/confirm", endpoint="confirm", methods=["POST"]),
        Rule("/v1/refunds", endpoint="create_refund", methods=["POST"]),
        # The fake's own controls over HTTP (not Stripe's API): what tests and a person
        # trying the demo with curl do to the account, as time passing would in Stripe.
        Rule("/_fake/payouts", endpoint="fake_settle", methods=["POST"]),
        Rule("/_fake/payouts/<object_id>/fail", endpoint="fake_fail_payout", methods=["POST"]),
        Rule("/v1/<any(" + ",".join(SEGMENTS.values()) + "):segment>", endpoint="list"),
        Rule(
            "/v1/<any(" + ",".join(SEGMENTS.values()) + "):segment>/<object_id>",
            endpoint="retrieve",
        ),
    ],
    strict_slashes=False,
)
MAX_LIMIT = 100


@dataclass
class _Fault:
    status: int
    remaining: int


@dataclass
class Account:
    """One Stripe account: its key, its ledger, where its webhooks go."""

    key: str
    ledger: Ledger
    webhook_url: str | None = None
    webhook_secret: str | None = None
    sent: int = 0  # events already sent to the webhook URL
    idempotency: dict[str, tuple[dict, int, dict]] = field(default_factory=dict)


class FakeStripe:
    """Accounts keyed by API key, served over HTTP in Stripe's JSON."""

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.lock = threading.RLock()
        self.faults: list[_Fault] = []
        self.requests: list[tuple[str, str]] = []

    # -- control API ----------------------------------------------------------------------

    def new_account(self, key: str | None = None) -> Account:
        """A new account with a test secret key (``sk_test_…``)."""
        key = key or "sk_test_" + secrets.token_hex(16)
        account = Account(key, Ledger(account_id="acct_" + secrets.token_hex(8), clock=self.clock))
        with self.lock:
            self.accounts[key] = account
        return account

    def ledger(self, key: str) -> Ledger:
        """The ledger behind a key."""
        return self.accounts[key].ledger

    def fail_next(self, count: int = 1, status: int = 429) -> None:
        """The next ``count`` requests answer ``status`` (429: rate limited; 500: an outage)."""
        with self.lock:
            self.faults.append(_Fault(status, count))

    def send_webhooks_to(self, key: str, url: str, secret: str) -> None:
        """Send this account's events to ``url``, signed with ``secret``."""
        account = self.accounts[key]
        account.webhook_url, account.webhook_secret = url, secret

    def deliver(self, key: str, *, event_ids=None, reverse: bool = False) -> list[int]:
        """POST the events not yet sent (or exactly ``event_ids``), signed; answers statuses.

        An event counts as sent once it was POSTed; one that could not be (the receiver is
        down) is tried again at the next call, as Stripe retries.
        """
        account = self.accounts[key]
        with self.lock:
            if event_ids is None:
                chosen = account.ledger.events[account.sent :]
            else:
                chosen = [account.ledger.get("event", i) for i in event_ids]
        if reverse:
            chosen = list(reversed(chosen))
        statuses = []
        for event in chosen:
            statuses.append(self._post_event(account, event).status_code)
            if event_ids is None:
                account.sent += 1
        return statuses

    def _post_event(self, account: Account, event: dict) -> requests.Response:
        body = json.dumps(event).encode()
        return requests.post(
            account.webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(account.webhook_secret, body, int(self.clock())),
            },
            timeout=10,
        )

    # -- HTTP -----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except StripeFailure as failure:
            response = _json({"error": failure.body}, failure.status)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
            fault = next((f for f in self.faults if f.remaining > 0), None)
            if fault is not None:
                fault.remaining -= 1
                return _fault(fault.status)
        account = self._authorise(request)
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except Exception:
            raise StripeFailure(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({request.method}: {request.path}).",
            ) from None
        params = decode(request.get_data(as_text=True)) if request.method == "POST" else {}
        if request.method == "GET":
            params = decode(request.query_string.decode())
        with self.lock:
            if request.method == "POST" and request.headers.get("Idempotency-Key"):
                return self._idempotent(account, request, endpoint, args, params)
            body, status = getattr(self, f"_{endpoint}")(account.ledger, params, **args)
        return _json(body, status)

    def _idempotent(self, account, request, endpoint, args, params) -> Response:
        key = request.headers["Idempotency-Key"]
        seen = account.idempotency.get(key)
        fingerprint = {"path": request.path, "params": params}
        if seen is not None:
            if seen[0] != fingerprint:
                raise StripeFailure(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                )
            return _json(seen[2], seen[1], {"Idempotent-Replayed": "true"})
        try:
            body, status = getattr(self, f"_{endpoint}")(account.ledger, params, **args)
        except StripeFailure as failure:
            body, status = {"error": failure.body}, failure.status
        account.idempotency[key] = (fingerprint, status, body)
        return _json(body, status)

    def _authorise(self, request: Request) -> Account:
        header = request.headers.get("Authorization", "")
        # Stripe takes the key as a bearer token or as basic auth's user (curl -u sk_…:).
        basic = request.authorization.username if request.authorization else None
        key = basic if basic and header.startswith("Basic ") else header.removeprefix("Bearer ")
        key = key.strip()
        with self.lock:
            account = self.accounts.get(key)
        if account is None:
            shown_key = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
            raise StripeFailure(
                401, "invalid_request_error", f"Invalid API Key provided: {shown_key}"
            )
        return account

    # -- endpoints ------------------------------------------------------------------------

    def _balance(self, ledger: Ledger, params):
        totals: dict[tuple[str, str], int] = {}
        for line in ledger.all("balance_transaction"):
            state = "available" if line["payout"] else "pending"
            totals[(state, line["currency"])] = (
                totals.get((state, line["currency"]), 0) + line["net"]
            )
        listing = {
            state: [{"amount": a, "currency": c} for (s, c), a in totals.items() if s == state]
            for state in ("available", "pending")
        }
        return {"object": "balance", "livemode": False, **listing}, 200

    def _create_payment_intent(self, ledger: Ledger, params):
        return _expand(ledger, ledger.create_payment_intent(params), params), 200

    def _confirm(self, ledger: Ledger, params, object_id):
        return _expand(ledger, ledger.confirm_payment_intent(object_id, params), params), 200

    def _fake_settle(self, ledger: Ledger, params):
        """Pay out the balance now: ``automatic`` (default true), ``arrival_date`` (ISO)."""
        arrival = params.get("arrival_date")
        try:
            arrival = dt.date.fromisoformat(arrival) if arrival else None
        except ValueError:
            raise StripeFailure(
                400, "invalid_request_error", "arrival_date: YYYY-MM-DD", param="arrival_date"
            ) from None
        automatic = str(params.get("automatic", "true")).lower() != "false"
        payout = ledger.settle(arrival=arrival, automatic=automatic)
        if payout is None:
            raise StripeFailure(400, "invalid_request_error", "Nothing to pay out.")
        return shown(payout), 200

    def _fake_fail_payout(self, ledger: Ledger, params, object_id):
        """The bank returns a paid payout (``failure_code``, default account_closed)."""
        return shown(
            ledger.fail_payout(object_id, params.get("failure_code", "account_closed"))
        ), 200

    def _create_refund(self, ledger: Ledger, params):
        return ledger.create_refund(params), 200

    def _retrieve(self, ledger: Ledger, params, segment, object_id):
        return _expand(ledger, shown(ledger.get(_KINDS[segment], object_id)), params), 200

    def _list(self, ledger: Ledger, params, segment):
        kind = _KINDS[segment]
        items = ledger.all(kind)
        for name in _FILTERS[kind]:
            if name in params:
                items = [i for i in items if i.get(name) == params[name]]
        if kind == "balance_transaction" and "payout" in params:
            payout = ledger.get("payout", params["payout"])
            if not payout["automatic"]:
                raise StripeFailure(
                    400,
                    "invalid_request_error",
                    "Balance transaction history can only be filtered on automatic transfers, "
                    "not manual.",
                    param="payout",
                )
        items = _created_within(items, params.get("created"))
        limit = _limit(params.get("limit"))
        if params.get("starting_after"):
            ids = [i["id"] for i in items]
            if params["starting_after"] not in ids:
                raise StripeFailure(
                    400,
                    "invalid_request_error",
                    "Invalid starting_after id",
                    param="starting_after",
                )
            items = items[ids.index(params["starting_after"]) + 1 :]
        page = items[:limit]
        expand = [e.removeprefix("data.") for e in params.get("expand", [])]
        return {
            "object": "list",
            "data": [_expand(ledger, shown(i), {"expand": expand}) for i in page],
            "has_more": len(items) > limit,
            "url": f"/v1/{segment}",
        }, 200


_BOUNDS = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _created_within(items: list[dict], created) -> list[dict]:
    """Stripe's ``created[gte]=…&created[lte]=…`` (or ``created=…``, exactly)."""
    if created is None:
        return items
    bounds = created if isinstance(created, dict) else {"eq": created}
    for name, value in bounds.items():
        if name not in _BOUNDS and name != "eq":
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"Received unknown parameter: created[{name}]",
                param=f"created[{name}]",
            )
        if not str(value).isdigit():
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"Invalid integer: {value}",
                param=f"created[{name}]" if name != "eq" else "created",
            )
        compare = _BOUNDS.get(name, operator.eq)
        items = [i for i in items if compare(i.get("created", 0), int(value))]
    return items


def sign(secret: str, body: bytes, stamp: int) -> str:
    """A ``Stripe-Signature`` header: the scheme our own webhooks use (Stripe's)."""
    return payymo_signature([secret], stamp, body)


def _expand(ledger: Ledger, obj: dict, params: dict) -> dict:
    wanted = params.get("expand") or []
    if not wanted:
        return obj
    out = dict(obj)
    for name in wanted:
        value = out.get(name)
        if isinstance(value, str) and value.split("_", 1)[0] in _ID_KINDS:
            out[name] = shown(ledger.get(_ID_KINDS[value.split("_", 1)[0]], value))
    return out


def _limit(value) -> int:
    if value is None:
        return 10
    if not str(value).isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise StripeFailure(
            400,
            "invalid_request_error",
            f"Invalid integer: {value}. This value must be between 1 and 100.",
            param="limit",
        )
    return int(value)


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Request-Id"] = "req_" + secrets.token_hex(7)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _fault(status: int) -> Response:
    if status == 429:
        error = {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
        }
    else:
        error = {"type": "api_error", "message": "An unknown error occurred on Stripe's end."}
    return _json({"error": error}, status)


@dataclass
class LocalFake:
    """A fake served on loopback in a daemon thread."""

    fake: FakeStripe
    base_url: str
    _server: object

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def serve_in_thread(fake: FakeStripe | None = None, *, host="127.0.0.1", port=0) -> LocalFake:
    """Serve ``fake`` (a new one by default) on ``host:port`` (0: any free port).

    A port in use raises OSError: the socket is bound here, because werkzeug's own bind
    prints a message and exits the process instead.
    """
    fake = fake or FakeStripe()
    with socket.create_server((host, port)) as listening:
        server = make_server(
            host, port, fake, threaded=True, request_handler=_Quiet, fd=listening.fileno()
        )
    threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True).start()
    return LocalFake(fake, f"http://{host}:{server.server_address[1]}", server)


def main(argv: list[str] | None = None) -> None:
    """Serve a fake until interrupted; prints its base URL and a test key as JSON."""
    parser = argparse.ArgumentParser(prog="fake-stripe")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args(argv)
    fake = FakeStripe()
    account = fake.new_account()
    server = make_server(args.host, args.port, fake, threaded=True, request_handler=_Quiet)
    base = f"http://{args.host}:{server.server_port}"
    print(json.dumps({"api_base": base, "api_key": account.key}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
