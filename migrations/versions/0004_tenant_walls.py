"""tenant walls: composite (tenant_id, id) foreign keys and row-level security

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Every reference from one tenant-owned row to another becomes a composite foreign key
``(tenant_id, x_id) → x(tenant_id, id)`` (the ``(tenant_id, id)`` indexes become the
unique constraints those keys need), and on PostgreSQL every tenant-owned table gets
the ``tenant_isolation`` policy, enabled and forced (see ``payymo.tenancy.policies``).
"""

from alembic import op

from payymo.tenancy import policies

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "allocations",
    "api_keys",
    "audit_logs",
    "bank_accounts",
    "events",
    "idempotency_records",
    "invoices",
    "jobs",
    "match_blocks",
    "matches",
    "payer_memory",
    "suggestions",
    "transactions",
)
REFERENCED = ("api_keys", "bank_accounts", "invoices", "matches", "suggestions", "transactions")
# table → [(column, referred table, ondelete, old single-column foreign key or None)]
REFERENCES = {
    "api_keys": [("rolled_to_id", "api_keys", None, None)],
    "transactions": [
        ("account_id", "bank_accounts", "CASCADE", "fk_transactions_account_id_bank_accounts")
    ],
    "matches": [
        ("transaction_id", "transactions", "CASCADE", "fk_matches_transaction_id_transactions"),
        ("suggestion_id", "suggestions", None, None),
    ],
    "allocations": [
        ("match_id", "matches", "CASCADE", "fk_allocations_match_id_matches"),
        ("transaction_id", "transactions", "CASCADE", "fk_allocations_transaction_id_transactions"),
        ("invoice_id", "invoices", "CASCADE", "fk_allocations_invoice_id_invoices"),
    ],
    "suggestions": [
        ("transaction_id", "transactions", "CASCADE", "fk_suggestions_transaction_id_transactions"),
        ("match_id", "matches", None, None),
    ],
    "match_blocks": [
        (
            "transaction_id",
            "transactions",
            "CASCADE",
            "fk_match_blocks_transaction_id_transactions",
        ),
        ("invoice_id", "invoices", "CASCADE", "fk_match_blocks_invoice_id_invoices"),
    ],
}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for table in REFERENCED:
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(f"uq_{table}_tenant_id_id", ["tenant_id", "id"])
    for table, refs in REFERENCES.items():
        with op.batch_alter_table(table) as batch:
            for column, target, ondelete, old in refs:
                if old:
                    batch.drop_constraint(old, type_="foreignkey")
                batch.create_foreign_key(
                    f"fk_{table}_tenant_id_{target}",
                    target,
                    ["tenant_id", column],
                    ["tenant_id", "id"],
                    ondelete=ondelete,
                )
    for table in REFERENCED:
        op.drop_index(f"ix_{table}_tenant_id_id", table_name=table)
    if _postgresql():
        for table in TENANT_TABLES:
            for statement in policies.enable(table):
                op.execute(statement)


def downgrade() -> None:
    if _postgresql():
        for table in TENANT_TABLES:
            for statement in policies.disable(table):
                op.execute(statement)
    for table in REFERENCED:
        op.create_index(f"ix_{table}_tenant_id_id", table, ["tenant_id", "id"])
    for table, refs in REFERENCES.items():
        with op.batch_alter_table(table) as batch:
            for column, target, ondelete, old in refs:
                batch.drop_constraint(f"fk_{table}_tenant_id_{target}", type_="foreignkey")
                if old:
                    batch.create_foreign_key(old, target, [column], ["id"], ondelete=ondelete)
    for table in REFERENCED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_tenant_id_id", type_="unique")
