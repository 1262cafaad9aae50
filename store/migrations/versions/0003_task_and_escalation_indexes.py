"""indexes for closing a step and for the dashboard's escalations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_deadline", ["deadline_id"], unique=False)
    with op.batch_alter_table("task_escalation", schema=None) as batch_op:
        batch_op.create_index("ix_task_escalation_fired", ["fired_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_task_escalation_fired")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_deadline")
