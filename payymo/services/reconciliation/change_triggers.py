"""Triggers appending ``reconcile_changes`` in the transaction of every change that matters.

Every write path is covered (ORM, Core, bulk ``INSERT … SELECT``, COPY): a credit inserted
or changed in a column the engine reads, an invoice likewise, a match block (a rejected
or reversed pair), payer memory (a payer newly known or forgotten), and the tenant's
settings (the next run is a full one). On PostgreSQL statement triggers read the
transition tables, so a bulk insert appends its changes in one statement; SQLite uses
row triggers. Migrations install them (``0023``).
"""

from __future__ import annotations

TRANSACTION_COLUMNS = (
    "amount",
    "amount_allocated",
    "match_status",
    "status",
    "currency",
    "account_id",
    "booking_date",
    "value_date",
    "counterparty_name",
    "counterparty_iban",
    "remittance_information",
    "end_to_end_id",
)
INVOICE_COLUMNS = (
    "number",
    "customer_name",
    "customer_email",
    "customer_reference",
    "amount_due",
    "amount_paid",
    "amount_charged",
    "currency",
    "issue_date",
    "due_date",
    "status",
)
_APPEND = "INSERT INTO reconcile_changes (tenant_id, kind, object_id)"
# A run writing its decisions says so (``changes.writing_decisions``): what its writes
# change is logged as its own (``changes.DECIDED``). PostgreSQL only.
RUN_WRITES = "payymo.run_writes"


_RUN_WRITING = f"coalesce(current_setting('{RUN_WRITES}', true) = 'on', false)"
# A run moving a credit between unmatched and suggested changes none of its look-up
# rows: only someone else's status change is logged (a full run's writes would otherwise
# log every credit it suggests for, a million rows for the next run to refresh).
_LOOKED_UP = tuple(c for c in TRANSACTION_COLUMNS if c != "match_status")


def _kind(kind: str, decided: str) -> str:
    return f"CASE WHEN {_RUN_WRITING} THEN '{decided}' ELSE '{kind}' END"


# A tenant's purge cascades into its blocks and payer memory after its row is gone: those
# deletes record nothing (there is no tenant left to reconcile).
_PG_LIVE = "WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = old_rows.tenant_id)"


# (trigger name, table, PostgreSQL body over new_rows/old_rows per operation)
def _pg_specs() -> list[tuple[str, str, str, str]]:
    def changed(columns) -> str:
        old = ", ".join(f"o.{c}" for c in columns)
        new = ", ".join(f"n.{c}" for c in columns)
        return f"({old}) IS DISTINCT FROM ({new})"

    joined = "new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id"
    return [
        (
            "reconcile_txn_insert",
            "transactions",
            "INSERT",
            f"{_APPEND} SELECT tenant_id, {_kind('transaction', 'decided_txn')}, id FROM new_rows"
            " WHERE amount > 0",
        ),
        (
            "reconcile_txn_update",
            "transactions",
            "UPDATE",
            f"{_APPEND} SELECT n.tenant_id, {_kind('transaction', 'decided_txn')}, n.id"
            f" FROM {joined}"
            f" WHERE (n.amount > 0 OR o.amount > 0) AND ({changed(_LOOKED_UP)}"
            f" OR (n.match_status IS DISTINCT FROM o.match_status AND NOT {_RUN_WRITING}))",
        ),
        (
            "reconcile_inv_insert",
            "invoices",
            "INSERT",
            f"{_APPEND} SELECT tenant_id, {_kind('invoice', 'decided_inv')}, id FROM new_rows",
        ),
        (
            "reconcile_inv_update",
            "invoices",
            "UPDATE",
            f"{_APPEND} SELECT n.tenant_id, {_kind('invoice', 'decided_inv')}, n.id FROM {joined}"
            f" WHERE {changed(INVOICE_COLUMNS)}",
        ),
        (
            "reconcile_block_insert",
            "match_blocks",
            "INSERT",
            f"{_APPEND} SELECT DISTINCT tenant_id, 'transaction', transaction_id FROM new_rows",
        ),
        (
            "reconcile_block_delete",
            "match_blocks",
            "DELETE",
            f"{_APPEND} SELECT DISTINCT tenant_id, 'transaction', transaction_id FROM old_rows"
            f" {_PG_LIVE}",
        ),
        (
            "reconcile_memory_insert",
            "payer_memory",
            "INSERT",
            f"{_APPEND} SELECT DISTINCT tenant_id, 'payer', kind || ':' || value FROM new_rows",
        ),
        (
            "reconcile_memory_update",
            "payer_memory",
            "UPDATE",
            f"{_APPEND} SELECT DISTINCT tenant_id, 'payer', kind || ':' || value FROM"
            " (SELECT tenant_id, kind, value FROM new_rows"
            " UNION SELECT tenant_id, kind, value FROM old_rows) AS rows",
        ),
        (
            "reconcile_memory_delete",
            "payer_memory",
            "DELETE",
            f"{_APPEND} SELECT DISTINCT tenant_id, 'payer', kind || ':' || value FROM old_rows"
            f" {_PG_LIVE}",
        ),
        (
            "reconcile_settings_update",
            "tenants",
            "UPDATE",
            f"{_APPEND} SELECT n.id, 'full', NULL FROM new_rows n JOIN old_rows o ON o.id = n.id"
            " WHERE o.settings::text IS DISTINCT FROM n.settings::text",
        ),
    ]


def postgresql_functions() -> list[str]:
    """SQL creating (or replacing) the trigger functions."""
    return [
        f"CREATE OR REPLACE FUNCTION payymo_{name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {body}; RETURN NULL; END $$"
        for name, _table, _operation, body in _pg_specs()
    ]


def postgresql_install() -> list[str]:
    """SQL creating the functions and statement triggers."""
    out = postgresql_functions()
    for name, table, operation, _body in _pg_specs():
        referencing = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }[operation]
        out.append(
            f"CREATE TRIGGER {name} AFTER {operation} ON {table} REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION payymo_{name}()"
        )
    return out


def postgresql_remove() -> list[str]:
    """SQL dropping what ``postgresql_install`` created."""
    out = []
    for name, table, _operation, _body in _pg_specs():
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(f"DROP FUNCTION IF EXISTS payymo_{name}()")
    return out


_SQLITE_LIVE = "WHERE EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id)"


def _differs(columns) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def sqlite_install() -> list[str]:
    """SQL creating the row triggers on SQLite."""
    txn = ", ".join(TRANSACTION_COLUMNS)
    inv = ", ".join(INVOICE_COLUMNS)
    return [
        "CREATE TRIGGER reconcile_txn_insert AFTER INSERT ON transactions WHEN NEW.amount > 0"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'transaction', NEW.id); END",
        f"CREATE TRIGGER reconcile_txn_update AFTER UPDATE OF {txn} ON transactions"
        f" WHEN (NEW.amount > 0 OR OLD.amount > 0) AND ({_differs(TRANSACTION_COLUMNS)})"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'transaction', NEW.id); END",
        "CREATE TRIGGER reconcile_inv_insert AFTER INSERT ON invoices"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'invoice', NEW.id); END",
        f"CREATE TRIGGER reconcile_inv_update AFTER UPDATE OF {inv} ON invoices"
        f" WHEN {_differs(INVOICE_COLUMNS)}"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'invoice', NEW.id); END",
        "CREATE TRIGGER reconcile_block_insert AFTER INSERT ON match_blocks"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'transaction', NEW.transaction_id); END",
        "CREATE TRIGGER reconcile_block_delete AFTER DELETE ON match_blocks"
        f" BEGIN {_APPEND} SELECT OLD.tenant_id, 'transaction', OLD.transaction_id"
        f" {_SQLITE_LIVE}; END",
        "CREATE TRIGGER reconcile_memory_insert AFTER INSERT ON payer_memory"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'payer', NEW.kind || ':' || NEW.value); END",
        "CREATE TRIGGER reconcile_memory_update AFTER UPDATE ON payer_memory"
        f" BEGIN {_APPEND} VALUES (NEW.tenant_id, 'payer', NEW.kind || ':' || NEW.value),"
        " (OLD.tenant_id, 'payer', OLD.kind || ':' || OLD.value); END",
        "CREATE TRIGGER reconcile_memory_delete AFTER DELETE ON payer_memory"
        f" BEGIN {_APPEND} SELECT OLD.tenant_id, 'payer', OLD.kind || ':' || OLD.value"
        f" {_SQLITE_LIVE}; END",
        "CREATE TRIGGER reconcile_settings_update AFTER UPDATE OF settings ON tenants"
        " WHEN OLD.settings IS NOT NEW.settings"
        f" BEGIN {_APPEND} VALUES (NEW.id, 'full', NULL); END",
    ]


def sqlite_remove() -> list[str]:
    """SQL dropping the SQLite triggers."""
    return [f"DROP TRIGGER IF EXISTS {s.split()[2]}" for s in sqlite_install()]
