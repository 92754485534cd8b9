"""The distributed runtime's job queue on RabbitMQ, through kombu.

RabbitMQ's own features do the work where they exist:
- a durable quorum queue, persistent messages and publisher confirms: a job
  the broker acknowledged survives a broker restart;
- manual acks, given by the consumer only after the job's outcome is committed;
- a delivery limit and a dead-letter queue: a job that kills its worker again
  and again stops being redelivered and is set aside, to become a failed outcome.

The event store stays the truth and the queue only a transport: planned work
with no outcome is published again, so a lost or doubled message is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from amqp.exceptions import AMQPError
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.exceptions import KombuError
from kombu.message import Message
from kombu.messaging import Consumer, Producer

from harvesting.domain.errors import HarvestingError
from harvesting.runners.config import masked

# Deliveries of one job before RabbitMQ dead-letters it (a quorum queue counts them).
DELIVERY_LIMIT = 5
CONNECT_TIMEOUT_S = 5.0


class BrokerUnavailable(HarvestingError):
    """The broker does not answer, or refuses us: one line, never a traceback."""


@dataclass(frozen=True)
class QueueNames:
    prefix: str

    @property
    def jobs(self) -> str:
        return f"{self.prefix}.jobs"

    @property
    def dead(self) -> str:
        return f"{self.prefix}.jobs.dead"


class JobQueue:
    def __init__(self, url: str, prefix: str, *, delivery_limit: int = DELIVERY_LIMIT) -> None:
        self.url = url
        self.names = QueueNames(prefix)
        self._dead_exchange = Exchange(self.names.dead, type="fanout", durable=True)
        self._exchange = Exchange(self.names.jobs, type="direct", durable=True)
        self.jobs = Queue(
            self.names.jobs,
            self._exchange,
            routing_key=self.names.jobs,
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": delivery_limit,
                "x-dead-letter-exchange": self.names.dead,
            },
        )
        self.dead = Queue(self.names.dead, self._dead_exchange, durable=True)

    def connect(self) -> Connection:
        """A connection that has answered, with the queues declared; a clear
        BrokerUnavailable otherwise, within CONNECT_TIMEOUT_S."""
        connection = Connection(
            self.url,
            connect_timeout=CONNECT_TIMEOUT_S,
            transport_options={"confirm_publish": True},
        )
        try:
            connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
            channel = connection.default_channel
            for queue in (self.dead, self.jobs):
                queue(channel).declare()
        except (TimeoutError, OSError, KombuError, AMQPError) as e:
            connection.release()
            raise BrokerUnavailable(
                f"the broker at {masked(self.url)} does not answer or refuses us: {type(e).__name__}: {e}"
            ) from None
        return connection

    def publish(self, connection: Connection, jobs: Iterable[Mapping[str, Any]]) -> int:
        """Publishes each job as a persistent message; returns when the broker
        has confirmed them all (publisher confirms)."""
        producer = Producer(connection.default_channel, exchange=self._exchange, routing_key=self.names.jobs)
        count = 0
        for job in jobs:
            producer.publish(dict(job), serializer="json", delivery_mode=2)
            count += 1
        return count

    def consumer(
        self, connection: Connection, handle: Callable[[dict[str, Any], Message], None], prefetch: int
    ) -> Consumer:
        """A consumer of jobs with at most `prefetch` unacknowledged at a time;
        `handle` acks each message once its outcome is committed."""
        channel = connection.channel()
        consumer = Consumer(channel, queues=[self.jobs], callbacks=[handle], accept=["json"], auto_declare=False)
        consumer.qos(prefetch_count=prefetch)
        return consumer

    def dead_consumer(self, connection: Connection, handle: Callable[[dict[str, Any], Message], None]) -> Consumer:
        channel = connection.channel()
        return Consumer(channel, queues=[self.dead], callbacks=[handle], accept=["json"], auto_declare=False)

    def delete(self, connection: Connection) -> None:
        """Removes the queues and exchanges (tests, and a prefix given up)."""
        channel = connection.default_channel
        for queue in (self.jobs, self.dead):
            queue(channel).delete()
        for exchange in (self._exchange, self._dead_exchange):
            exchange(channel).delete()
