"""Benchmark: a 100,000-line camt.053 statement imported on PostgreSQL, against JSON import.

One tenant, two manual accounts. A generated camt.053.001.02 file of 100,000 entries
(credits and debits, names, IBANs, remittance, end-to-end ids, the bank's references)
is imported into one account as ``payymo import`` does (``statements.importer``: read,
convert, dedupe, one set-based write, one commit); the same lines go into the other
account through ``POST /transactions/import`` in batches of 1,000 (the JSON path a
client takes), through the real app as a non-owner role (row-level security applies).
Then the same file again: every line is a duplicate. Figures are lines per second; the
ratio is the statement's rate over the JSON path's, measured in the same run.

Goals (issue 17): the statement import >= 0.5x the JSON path and >= 20,000 lines/s.

Usage: .venv/bin/python benchmarks/statements.py [--lines 100000]
Needs PostgreSQL (BENCH_ADMIN_URL, BENCH_STATEMENTS_URL; local defaults). Jobs are
queued in Redis db 12 (BENCH_REDIS_URL), not run: only the imports are timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "payymo_bench_statements"
DB_URL = os.environ.get(
    "BENCH_STATEMENTS_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
RATIO_GOAL = 0.5
RATE_GOAL = 20_000.0
JSON_BATCH = 1_000
FIRST_DAY = dt.date(2026, 1, 1)

_ENTRY = """<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="EUR">{amount}</Amt>
<CdtDbtInd>{side}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
<ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>
<RltdPties><{party}><Nm>{name}</Nm></{party}><{party}Acct><Id><IBAN>{iban}</IBAN></Id></{party}Acct></RltdPties>
<RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"""


def lines(count: int, tag: str) -> list[dict]:
    """The statement's lines as the JSON import takes them (amounts in cents)."""
    out = []
    for n in range(count):
        credit = n % 4 != 0
        cents = 100 + (n * 104729) % 250000
        out.append(
            {
                "id": f"{tag}-{n:07d}",
                "booking_date": str(FIRST_DAY + dt.timedelta(days=n % 300)),
                "value_date": str(FIRST_DAY + dt.timedelta(days=n % 300)),
                "amount": cents if credit else -cents,
                "currency": "EUR",
                "counterparty_name": f"Customer {n % 5000} GmbH",
                "counterparty_iban": "DE89370400440532013000",
                "remittance_information": f"Invoice INV-{n:07d} order {n * 7 % 100000}",
                "end_to_end_id": f"E2E{tag}{n}",
            }
        )
    return out


def camt(rows: list[dict], tag: str) -> bytes:
    """A camt.053.001.02 document holding ``rows``, with its opening and closing balance."""
    entries = []
    for n, row in enumerate(rows):
        amount = Decimal(abs(row["amount"])).scaleb(-2)
        credit = row["amount"] > 0
        entries.append(
            _ENTRY.format(
                n=n,
                amount=f"{amount:.2f}",
                side="CRDT" if credit else "DBIT",
                day=row["booking_date"],
                ref=row["id"],
                e2e=row["end_to_end_id"],
                party="Dbtr" if credit else "Cdtr",
                name=escape(row["counterparty_name"]),
                iban=row["counterparty_iban"],
                remittance=escape(row["remittance_information"]),
            )
        )
    total = Decimal(sum(row["amount"] for row in rows)).scaleb(-2)
    opening = Decimal("1000.00")
    closing = opening + total

    def balance(code: str, amount: Decimal, day: str) -> str:
        side = "CRDT" if amount >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(amount):.2f}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
            f"<Dt><Dt>{day}</Dt></Dt></Bal>"
        )

    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{tag}</MsgId><CreDtTm>2026-11-29T10:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{tag}-1</Id><CreDtTm>2026-11-29T10:00:00</CreDtTm>"
        "<Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + balance("OPBD", opening, str(FIRST_DAY))
        + balance("CLBD", closing, "2026-11-28")
    )
    return (head + "".join(entries) + "</Stmt></BkToCstmrStmt></Document>").encode()


def setup() -> dict:
    """A fresh database, a tenant with a key and two manual EUR accounts."""
    import roles
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine, text

    from payymo import db, migrate, runtime
    from payymo.config import Settings
    from payymo.services import api_keys, bank_accounts, tenants
    from payymo.tenancy import tenant_scope

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(DB_URL)
    runtime.configure(
        Settings(
            env="development",
            database_url=roles.app_url(DB_URL),
            redis_url=REDIS_URL,
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-bench-")),
        )
    )
    runtime.redis_connection().flushdb()
    session = db.session
    tenant = tenants.create_tenant(session=session, name="Statements Ltd")
    session.commit()
    with tenant_scope(tenant.id):
        _key, secret = api_keys.create_key(session=session, scopes=["admin"])
        accounts = [
            bank_accounts.create_bank_account(
                session=session, data={"name": name, "currency": "EUR"}
            ).id
            for name in ("Statement", "JSON")
        ]
        session.commit()
    session.remove()
    return {"tenant": tenant.id, "key": secret, "statement": accounts[0], "json": accounts[1]}


def import_file(env: dict, data: bytes) -> tuple[float, dict]:
    """Seconds to import the file as ``payymo import`` does, and its counts."""
    from collections import Counter

    from payymo import db
    from payymo.services.statements.importer import import_statement
    from payymo.tenancy import tenant_scope

    session = db.session
    started = time.perf_counter()
    with tenant_scope(env["tenant"]):
        done = import_statement(session=session, account_id=env["statement"], data=data)
        session.commit()
    seconds = time.perf_counter() - started
    session.remove()
    return seconds, dict(Counter(result.status for result in done.results))


def import_json(env: dict, rows: list[dict]) -> float:
    """Seconds to import the lines through ``POST /transactions/import``, 1,000 a call."""
    from payymo import create_app, runtime

    client = create_app(runtime.settings()).test_client()
    headers = {"X-API-Key": env["key"]}
    started = time.perf_counter()
    for start in range(0, len(rows), JSON_BATCH):
        body = {"account_id": env["json"], "transactions": rows[start : start + JSON_BATCH]}
        response = client.post("/api/v1/transactions/import", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    env = setup()
    tag = secrets.token_hex(3)
    rows = lines(args.lines, tag)
    data = camt(rows, tag)
    print(f"camt.053 file: {args.lines:,} entries, {len(data) / 1e6:.1f} MB")
    json_seconds = import_json(env, rows)
    first, counts = import_file(env, data)
    assert counts == {"created": args.lines}, counts
    again, counts = import_file(env, data)
    assert counts == {"duplicate": args.lines}, counts
    json_rate = args.lines / json_seconds
    rate = args.lines / first
    ratio = rate / json_rate
    print(f"  JSON import, 1,000 a call       {json_seconds:7.2f} s  {json_rate:>9,.0f} lines/s")
    print(f"  statement file, first import    {first:7.2f} s  {rate:>9,.0f} lines/s")
    print(f"  statement file, again (dupes)   {again:7.2f} s  {args.lines / again:>9,.0f} lines/s")
    missed = 0
    for label, ok, figure in (
        (f"statement / JSON rate: goal >= {RATIO_GOAL}x", ratio >= RATIO_GOAL, f"{ratio:.2f}x"),
        (f"statement rate: goal >= {RATE_GOAL:,.0f} lines/s", rate >= RATE_GOAL, f"{rate:,.0f}"),
    ):
        missed += not ok
        print(f"  {label:<44} {figure:>10}  {'met' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
