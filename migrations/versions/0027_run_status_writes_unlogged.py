"""reconcile change log: a run's own status-only writes are not logged

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29 19:00:00.000000

Full runs now mark their writes as their own, as incremental runs do
(``services.reconciliation.changes``). A run moving a credit between unmatched and
suggested changes none of its look-up rows, so the transactions trigger no longer logs
that when the run writes it (someone else's status change is still logged): after a
full run of a million credits the next run would otherwise refresh the look-up rows of
every credit given a suggestion. Downgrading keeps the functions: logging less of a
run's own writes is what the earlier code expects of them too.
"""

from alembic import op

from payymo.services.reconciliation import change_triggers

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in change_triggers.postgresql_functions():
            op.execute(statement)


def downgrade() -> None:
    pass
