"""Run before the suite (`make test`): the real services the tests talk to must
answer, and MapServer must be installed. A missing service fails the run; it is
never skipped."""

from __future__ import annotations

import sys

import psycopg

from harvesting.domain.errors import HarvestingError
from harvesting.runners.broker import JobQueue
from tests.servers.mapserver import ensure_mapserver_installed

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"


def main() -> int:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        print(f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}: {e}", file=sys.stderr)
        return 1
    probe = JobQueue(BROKER_URL, "services-check")
    try:
        connection = probe.connect()
        probe.delete(connection)
        connection.release()
    except HarvestingError as e:
        print(f"RabbitMQ: {e}", file=sys.stderr)
        return 1
    try:
        path = ensure_mapserver_installed()
    except RuntimeError as e:
        print(f"MapServer is not available: {e}", file=sys.stderr)
        return 1
    print(f"services ok: PostgreSQL at 127.0.0.1:5432, RabbitMQ at 127.0.0.1:5672, MapServer at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
