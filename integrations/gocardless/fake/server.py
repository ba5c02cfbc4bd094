"""The fake's state, its HTTP surface (werkzeug) and the control API tests drive."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from integrations.gocardless.fake.bank import INSTITUTIONS, SANDBOX, BankAccount, sandbox_accounts

API = "/api/v2"
SCOPES = ("details", "balances", "transactions")
WALK = ("GC", "UA", "SA", "GA")
DAY = 86400

_ROUTES = Map(
    [
        Rule(f"{API}/token/new/", endpoint="token_new", methods=["POST"]),
        Rule(f"{API}/token/refresh/", endpoint="token_refresh", methods=["POST"]),
        Rule(f"{API}/institutions/", endpoint="institutions", methods=["GET"]),
        Rule(f"{API}/institutions/<iid>/", endpoint="institution", methods=["GET"]),
        Rule(f"{API}/agreements/enduser/", endpoint="agreement_new", methods=["POST"]),
        Rule(f"{API}/requisitions/", endpoint="requisition_new", methods=["POST"]),
        Rule(f"{API}/requisitions/<rid>/", endpoint="requisition", methods=["GET", "DELETE"]),
        Rule(f"{API}/accounts/<aid>/", endpoint="account", methods=["GET"]),
        Rule(
            f"{API}/accounts/<aid>/<any(details,balances,transactions):scope>/", endpoint="scoped"
        ),
        Rule("/psd2/start/<rid>/<iid>", endpoint="consent_start", methods=["GET"]),
        Rule("/psd2/step/<rid>/<int:step>", endpoint="consent_step", methods=["GET"]),
    ],
    strict_slashes=False,
)


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(payload, status=status, headers=headers, mimetype="application/json")


def _error(status: int, summary: str, detail: str, kind: str | None = None, headers=None):
    body = {"summary": summary, "detail": detail, "status_code": status}
    if kind:
        body["type"] = kind
    return _json(body, status, headers)


@dataclass
class _Fault:
    prefix: str
    remaining: int
    status: int
    body: bytes | None
    delay: float


class FakeGoCardless:
    """In-memory GoCardless: tokens, banks, agreements, requisitions, accounts, limits."""

    def __init__(
        self,
        *,
        secret_id: str = "fake-secret-id",
        secret_key: str = "fake-secret-key",
        daily_limit: int = 4,
        clock: Callable[[], float] = time.time,
        access_seconds: int = DAY,
        refresh_seconds: int = 30 * DAY,
    ):
        self.secret_id, self.secret_key = secret_id, secret_key
        self.daily_limit = daily_limit
        self._clock = clock
        self._offset = 0.0
        self.access_seconds, self.refresh_seconds = access_seconds, refresh_seconds
        self.lock = threading.RLock()
        self.access: dict[str, float] = {}
        self.refresh: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.banks: dict[str, list[BankAccount]] = {}
        self.agreements: dict[str, dict] = {}
        self.requisitions: dict[str, dict] = {}
        self.accounts: dict[str, tuple[str, BankAccount]] = {}
        self.suspended: set[str] = set()
        self.used: dict[tuple[str, str], list[float]] = {}
        self.faults: list[_Fault] = []
        self.reject_next_consent = False
        self.status_as_object = False

    # -- control API --------------------------------------------------------------------

    def now(self) -> float:
        """The fake's clock (real time plus whatever ``advance`` added)."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (token expiry, the daily budget)."""
        self._offset += seconds

    def bank(self, institution_id: str = SANDBOX) -> list[BankAccount]:
        """The accounts at a bank (created on first use)."""
        with self.lock:
            if institution_id not in self.banks:
                today = dt.datetime.fromtimestamp(self.now(), dt.UTC).date()
                if institution_id == SANDBOX:
                    self.banks[institution_id] = sandbox_accounts(today)
                else:
                    iban = f"GB{abs(hash(institution_id)) % 89 + 10:02d}FAKE{len(self.banks):014d}"
                    self.banks[institution_id] = [BankAccount(iban, "GBP", "Demo Ltd", "Current")]
            return self.banks[institution_id]

    def bank_account(self, iban: str) -> BankAccount:
        """The bank-side account with ``iban``."""
        for accounts in self.banks.values():
            for account in accounts:
                if account.iban == iban:
                    return account
        raise KeyError(iban)

    def add_account(self, institution_id: str, iban: str, currency: str = "EUR", name="Current"):
        """Open another account at a bank (visible to consents given after this)."""
        account = BankAccount(iban, currency, "Demo Ltd", name)
        self.bank(institution_id).append(account)
        return account

    def add_lines(self, iban: str, *, booked=(), pending=()) -> None:
        """Append booked and pending lines (GoCardless JSON) to an account."""
        account = self.bank_account(iban)
        with account.lock:
            account.booked.extend(booked)
            account.pending.extend(pending)
            account.changed()

    def book_pending(self, iban: str, index: int = 0, *, transaction_id: str | None = None):
        """A pending line disappears and comes back booked, under a new id."""
        account = self.bank_account(iban)
        with account.lock:
            item = dict(account.pending.pop(index))
            item["transactionId"] = transaction_id or f"BK-{uuid.uuid4().hex[:12]}"
            item.setdefault("bookingDate", item.get("valueDate"))
            account.booked.append(item)
            account.changed()
            return item

    def drop_pending(self, iban: str, index: int = 0) -> dict:
        """A pending line vanishes (the bank cancelled the hold)."""
        account = self.bank_account(iban)
        with account.lock:
            item = account.pending.pop(index)
            account.changed()
            return item

    def expire_agreement(self, requisition_id: str) -> None:
        """The end user's agreement runs out: account calls answer 401, status EX."""
        with self.lock:
            req = self.requisitions[requisition_id]
            self.agreements[req["agreement"]]["expired"] = True
            req["status"] = "EX"

    def suspend(self, requisition_id: str) -> None:
        """Access is suspended: account calls answer 409, status SU."""
        with self.lock:
            req = self.requisitions[requisition_id]
            req["status"] = "SU"
            self.suspended.update(req["accounts"])

    def fail_next(
        self, prefix: str, *, status: int = 503, body=None, times: int = 1, delay: float = 0.0
    ) -> None:
        """The next ``times`` calls under ``prefix`` (a path after /api/v2) fail.

        ``body`` may be bytes (sent as is: malformed JSON, HTML) or a dict; by default
        GoCardless's error JSON for ``status``. With ``delay`` the answer waits first.
        """
        raw = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
        self.faults.append(_Fault(API + prefix, times, status, raw, delay))

    def reset(self) -> None:
        """Forget faults, flags and clock moves (the banks and consents stay)."""
        with self.lock:
            self.faults.clear()
            self.reject_next_consent = False
            self.status_as_object = False
            self._offset = 0.0
            self.used.clear()

    def expire_tokens(self) -> None:
        """Every access token becomes invalid (the client must get a new one)."""
        with self.lock:
            self.access.clear()

    # -- HTTP -------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except _Refusal as refusal:
            response = refusal.response
        return response(environ, start_response)

    @property
    def app(self):
        """The WSGI application."""
        return self

    def _dispatch(self, request: Request) -> Response:
        self._count(request.path)
        fault = self._fault(request.path)
        if fault is not None:
            return fault
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except Exception:
            return _error(404, "Not found.", "Not found.")
        if not endpoint.startswith(("token", "consent")):
            self._authorise(request)
        return getattr(self, f"_{endpoint}")(request, **args)

    def _count(self, path: str) -> None:
        with self.lock:
            self.calls[path] = self.calls.get(path, 0) + 1

    def _fault(self, path: str) -> Response | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and path.startswith(fault.prefix):
                    fault.remaining -= 1
                    break
            else:
                return None
        if fault.delay:
            time.sleep(fault.delay)
        if fault.body is not None:
            return Response(fault.body, status=fault.status, mimetype="application/json")
        if fault.status == 200:
            return None
        return _error(
            fault.status, "Service unavailable", "Please try again later", "UnknownRequestError"
        )

    def _authorise(self, request: Request) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with self.lock:
            expiry = self.access.get(token)
        if expiry is None or expiry <= self.now():
            raise _Refusal(_error(401, "Invalid token", "Token is invalid or expired"))

    def _body(self, request: Request) -> dict:
        try:
            body = orjson.loads(request.get_data() or b"{}")
        except orjson.JSONDecodeError:
            raise _Refusal(_error(400, "Invalid JSON", "The body is not JSON.")) from None
        return body if isinstance(body, dict) else {}

    # tokens

    def _token_new(self, request):
        body = self._body(request)
        if (body.get("secret_id"), body.get("secret_key")) != (self.secret_id, self.secret_key):
            return _error(
                401, "Authentication failed", "No active account found with the given credentials"
            )
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.lock:
            self.access[access] = self.now() + self.access_seconds
            self.refresh[refresh] = self.now() + self.refresh_seconds
        return _json(
            {
                "access": access,
                "access_expires": self.access_seconds,
                "refresh": refresh,
                "refresh_expires": self.refresh_seconds,
            }
        )

    def _token_refresh(self, request):
        refresh = self._body(request).get("refresh")
        with self.lock:
            expiry = self.refresh.get(refresh)
            if expiry is None or expiry <= self.now():
                return _error(401, "Invalid token", "Token is invalid or expired")
            access = secrets.token_urlsafe(24)
            self.access[access] = self.now() + self.access_seconds
        return _json({"access": access, "access_expires": self.access_seconds})

    # institutions, agreements, requisitions

    def _institutions(self, request):
        country = request.args.get("country", "").upper()
        return _json([i for i in INSTITUTIONS if not country or country in i["countries"]])

    def _find_institution(self, iid: str) -> dict | None:
        return next((i for i in INSTITUTIONS if i["id"] == iid), None)

    def _institution(self, request, iid):
        found = self._find_institution(iid)
        if found is None:
            return _error(404, "Not found.", f"Institution {iid} not found.")
        return _json(found)

    def _agreement_new(self, request):
        body = self._body(request)
        bank = self._find_institution(str(body.get("institution_id")))
        if bank is None:
            return _error(
                400,
                "Unknown Institution ID",
                "Get Institution IDs from /institutions/?country={$COUNTRY_CODE}",
                "InvalidInstitutionIdError",
            )
        history = int(body.get("max_historical_days", 90))
        access = int(body.get("access_valid_for_days", 90))
        if history > int(bank["transaction_total_days"]) or access > int(
            bank["max_access_valid_for_days"]
        ):
            return _error(
                400,
                "Incorrect max_historical_days or access_valid_for_days",
                "The value exceeds the institution's limit",
            )
        agreement = {
            "id": str(uuid.uuid4()),
            "created": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(),
            "institution_id": bank["id"],
            "max_historical_days": history,
            "access_valid_for_days": access,
            "access_scope": body.get("access_scope") or list(SCOPES),
            "accepted": "",
        }
        with self.lock:
            self.agreements[agreement["id"]] = agreement
        return _json(agreement, 201)

    def _requisition_new(self, request):
        body = self._body(request)
        agreement = self.agreements.get(str(body.get("agreement")))
        if agreement is None or not body.get("redirect"):
            return _error(400, "Invalid request", "agreement and redirect are required")
        rid = str(uuid.uuid4())
        base = request.host_url.rstrip("/")
        req = {
            "id": rid,
            "created": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(),
            "redirect": body["redirect"],
            "status": "CR",
            "institution_id": agreement["institution_id"],
            "agreement": agreement["id"],
            "reference": body.get("reference") or rid,
            "accounts": [],
            "user_language": body.get("user_language", "EN"),
            "link": f"{base}/psd2/start/{rid}/{agreement['institution_id']}",
        }
        with self.lock:
            self.requisitions[rid] = req
        return _json(self._shown(req), 201)

    def _shown(self, req: dict) -> dict:
        shown = {k: v for k, v in req.items()}
        if self.status_as_object:
            shown["status"] = {"short": req["status"], "long": req["status"], "description": ""}
        return shown

    def _requisition(self, request, rid):
        with self.lock:
            req = self.requisitions.get(rid)
            if req is None:
                return _error(404, "Not found.", f"Requisition {rid} not found.")
            if request.method == "DELETE":
                del self.requisitions[rid]
                self.agreements.pop(req["agreement"], None)
                return _json({"summary": "Requisition deleted", "detail": "deleted"})
            return _json(self._shown(req))

    # the consent page: plain redirects, one status per hop

    def _consent_start(self, request, rid, iid):
        return Response(status=302, headers={"Location": f"/psd2/step/{rid}/0"})

    def _consent_step(self, request, rid, step):
        with self.lock:
            req = self.requisitions.get(rid)
            if req is None:
                return Response("Unknown consent", status=404)
            if step < len(WALK):
                req["status"] = WALK[step]
                return Response(status=302, headers={"Location": f"/psd2/step/{rid}/{step + 1}"})
            extra = {}
            if self.reject_next_consent:
                self.reject_next_consent = False
                req["status"] = "RJ"
                extra = {"error": "UserCancelledSession", "details": "User cancelled the session."}
            else:
                self._link(req)
        return Response(
            status=302,
            headers={"Location": _add_query(req["redirect"], {"ref": req["reference"], **extra})},
        )

    def _link(self, req: dict) -> None:
        req["status"] = "LN"
        self.agreements[req["agreement"]]["accepted"] = dt.datetime.fromtimestamp(
            self.now(), dt.UTC
        ).isoformat()
        req["accounts"] = []
        for account in self.bank(req["institution_id"]):
            aid = str(uuid.uuid4())  # a new consent sees the same IBANs under new ids
            self.accounts[aid] = (req["id"], account)
            req["accounts"].append(aid)

    # accounts

    def _owner(self, aid: str):
        with self.lock:
            found = self.accounts.get(aid)
        if found is None:
            raise _Refusal(_error(404, "Not found.", f"Account {aid} not found."))
        rid, account = found
        req = self.requisitions.get(rid)
        agreement = self.agreements.get(req["agreement"]) if req else None
        if agreement is None or agreement.get("expired"):
            aid_agreement = req["agreement"] if req else aid
            raise _Refusal(
                _error(
                    401,
                    f"End User Agreement (EUA) {aid_agreement} has expired",
                    "EUA was valid for 90 days and it expired. The end user must reconnect.",
                    "AccessExpiredError",
                )
            )
        if aid in self.suspended:
            raise _Refusal(
                _error(
                    409,
                    f"Account ID {aid} is suspended",
                    "Account has been suspended after repeated access errors.",
                    "AccountInactiveError",
                )
            )
        return account

    def _account(self, request, aid):
        account = self._owner(aid)
        rid, _ = self.accounts[aid]
        return _json(
            {
                "id": aid,
                "created": self.requisitions[rid]["created"],
                "last_accessed": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(),
                "iban": account.iban,
                "institution_id": self.requisitions[rid]["institution_id"],
                "status": "READY",
                "owner_name": account.owner,
            }
        )

    def _budget(self, aid: str, scope: str) -> tuple[int, int]:
        """(remaining, seconds to reset) of the account's scope budget."""
        now = self.now()
        with self.lock:
            used = [t for t in self.used.get((aid, scope), []) if t > now - DAY]
            self.used[(aid, scope)] = used
        reset = int(used[0] + DAY - now) + 1 if used else DAY
        return self.daily_limit - len(used), reset

    def _scoped(self, request, aid, scope):
        account = self._owner(aid)
        remaining, reset = self._budget(aid, scope)
        if remaining <= 0:
            return _error(
                429,
                "Rate limit exceeded",
                f"The rate limit for this resource is {self.daily_limit}/day. Please try again in {reset} seconds",
                "RateLimitError",
                self._headers(0, reset),
            )
        if scope == "details":
            body = {
                "account": {
                    "resourceId": aid,
                    "iban": account.iban,
                    "currency": account.currency,
                    "ownerName": account.owner,
                    "name": account.name,
                    "product": account.name,
                    "cashAccountType": "CACC",
                }
            }
        elif scope == "balances":
            day = dt.datetime.fromtimestamp(self.now(), dt.UTC).date().isoformat()
            body = {
                "balances": [
                    {
                        "balanceAmount": {"amount": account.balance, "currency": account.currency},
                        "balanceType": "closingBooked",
                        "referenceDate": day,
                    }
                ]
            }
        else:
            body = self._statement(request, account)
            if isinstance(body, Response):
                return body
        with self.lock:
            self.used.setdefault((aid, scope), []).append(self.now())
        return _json(body, 200, self._headers(remaining - 1, reset))

    def _headers(self, remaining: int, reset: int) -> dict:
        return {
            "HTTP_X_RATELIMIT_LIMIT": "100",
            "HTTP_X_RATELIMIT_REMAINING": "99",
            "HTTP_X_RATELIMIT_RESET": "60",
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": str(self.daily_limit),
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": str(max(remaining, 0)),
            "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": str(reset),
        }

    def _statement(self, request, account: BankAccount):
        since, until = request.args.get("date_from"), request.args.get("date_to")
        try:
            lo = dt.date.fromisoformat(since) if since else None
            hi = dt.date.fromisoformat(until) if until else None
        except ValueError:
            return _error(400, "Invalid date", "Dates are YYYY-MM-DD")
        if lo and hi and lo > hi:
            return _error(400, "Incorrect date range", "Starting date must be before end date")
        key = (since, until)
        with account.lock:
            cached = account.cache.get(key)
            if cached is None:
                booked = [
                    item
                    for item in account.booked
                    if (not since or (item.get("bookingDate") or "") >= since)
                    and (not until or (item.get("bookingDate") or "") <= until)
                ]
                cached = orjson.dumps(
                    {"transactions": {"booked": booked, "pending": list(account.pending)}}
                )
                account.cache[key] = cached
        return cached


class _Refusal(Exception):
    def __init__(self, response: Response):
        self.response = response


def _add_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


@dataclass
class LocalFake:
    """A fake served on loopback in a daemon thread."""

    fake: FakeGoCardless
    base_url: str
    credentials: dict
    _server: object

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass  # tests and the embedded default would otherwise print every call


def serve_in_thread(fake: FakeGoCardless | None = None, *, host="127.0.0.1", port=0) -> LocalFake:
    """Serve ``fake`` (a new one by default) on ``host:port`` (0: any free port)."""
    fake = fake or FakeGoCardless()
    server = make_server(host, port, fake, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, name="fake-gocardless", daemon=True).start()
    base = f"http://{host}:{server.server_port}{API}"
    credentials = {"secret_id": fake.secret_id, "secret_key": fake.secret_key}
    return LocalFake(fake, base, credentials, server)


def main(argv: list[str] | None = None) -> None:
    """Serve a fake until interrupted, printing where and with which credentials."""
    parser = argparse.ArgumentParser(prog="fake-gocardless")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--daily-limit", type=int, default=4)
    args = parser.parse_args(argv)
    fake = FakeGoCardless(daily_limit=args.daily_limit)
    server = make_server(args.host, args.port, fake, threaded=True)
    print(
        orjson.dumps(
            {
                "base_url": f"http://{args.host}:{server.server_port}{API}",
                "secret_id": fake.secret_id,
                "secret_key": fake.secret_key,
            }
        ).decode(),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
