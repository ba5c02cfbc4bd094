"""system scope as a role: the tenant policy loses its payymo.system branch

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30 01:00:00.000000

The policy ``current_setting('payymo.system') = 'on' OR tenant_id = …`` made
PostgreSQL misjudge every tenant's row counts: it could not join the OR to the query's
own tenant condition and multiplied the two, so a tenant of 10,000 lines was expected
to hold 35, and a page of its list read and sorted all of them. The system scope now
switches to ``payymo_system``, a role that bypasses row-level security, and the policy
keeps only the tenant's equality. Creating that role needs a superuser: when this
migration runs as anyone else it says so and what to do, and the policies keep their
branch (which the app keeps setting), correct and as before.
"""

import logging

from alembic import op

from payymo.tenancy import policies

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    installed, why = policies.install_system_role(bind)
    if not installed:
        log.warning(
            "the system role could not be set up (%s); the tenant policy keeps its "
            "payymo.system branch, which spoils row estimates for small tenants: %s.",
            why,
            policies.HOW_TO,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in policies.restore_system_setting(bind):
        op.execute(statement)
    # The role stays: other databases of the cluster may use it.
