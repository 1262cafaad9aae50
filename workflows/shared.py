"""Names shared by the worker, the API and the tests; free of side effects."""

from datetime import timedelta

from temporalio.common import RetryPolicy

TASK_QUEUE = "wuye"

# Read-model writes are quick and idempotent: retry them for as long as the
# database is away, backing off to once a minute.
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["BusinessRuleError"],
)
DATABASE_TIMEOUT = timedelta(seconds=30)

MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
)
MAIL_TIMEOUT = timedelta(minutes=1)
