"""The job queue on the machine's real RabbitMQ (each test under its own
prefix): durable quorum queue with confirms, manual acks, redelivery of what
a dropped consumer held, and dead-lettering after the delivery limit. Fails,
not skips, when RabbitMQ does not answer."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.message import Message

from harvesting.domain.errors import InvalidConfigurationError
from harvesting.runners.broker import BrokerUnavailable, JobQueue
from harvesting.runners.config import load_settings

BROKER = os.environ.get("HARVEST_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def queue() -> Iterator[JobQueue]:
    jobs = JobQueue(BROKER, f"test-{uuid.uuid4().hex[:10]}", delivery_limit=2)
    yield jobs
    connection = jobs.connect()
    try:
        jobs.delete(connection)
    finally:
        connection.release()


def drain(connection: Connection, consumer: Any, expected: int, timeout_s: float = 5.0) -> None:
    with consumer:
        received = 0
        while received < expected:
            try:
                connection.drain_events(timeout=timeout_s)
            except TimeoutError:
                return
            received += 1


def test_published_jobs_arrive_once_acked_and_the_queue_is_durable_quorum(queue: JobQueue) -> None:
    connection = queue.connect()
    try:
        assert queue.publish(connection, [{"n": i} for i in range(3)]) == 3
        got: list[dict[str, Any]] = []

        def handle(body: dict[str, Any], message: Message) -> None:
            got.append(body)
            message.ack()

        drain(connection, queue.consumer(connection, handle, prefetch=10), 3)
        assert sorted(b["n"] for b in got) == [0, 1, 2]
        _, remaining, _ = queue.jobs(connection.default_channel).queue_declare(passive=True)
        assert remaining == 0
    finally:
        connection.release()


def test_jobs_a_dropped_consumer_held_unacked_are_delivered_again(queue: JobQueue) -> None:
    first = queue.connect()
    queue.publish(first, [{"n": 1}])
    held: list[Message] = []
    drain(first, queue.consumer(first, lambda body, message: held.append(message), prefetch=1), 1)
    assert len(held) == 1
    first.release()  # the worker's link drops with the job unacked

    second = queue.connect()
    try:
        again: list[tuple[dict[str, Any], bool]] = []

        def handle(body: dict[str, Any], message: Message) -> None:
            again.append((body, bool(message.delivery_info.get("redelivered"))))
            message.ack()

        drain(second, queue.consumer(second, handle, prefetch=1), 1)
        assert again == [({"n": 1}, True)]
    finally:
        second.release()


def test_a_job_delivered_past_the_limit_is_dead_lettered(queue: JobQueue) -> None:
    connection = queue.connect()
    try:
        queue.publish(connection, [{"poison": True}])
        deliveries = 0

        def crash(body: dict[str, Any], message: Message) -> None:
            nonlocal deliveries
            deliveries += 1
            message.requeue()  # what a worker dying on it amounts to

        drain(connection, queue.consumer(connection, crash, prefetch=1), 10, timeout_s=2.0)
        assert deliveries == 3  # the first delivery and two redeliveries (delivery limit 2)
        dead: list[dict[str, Any]] = []

        def keep(body: dict[str, Any], message: Message) -> None:
            dead.append(body)
            message.ack()

        drain(connection, queue.dead_consumer(connection, keep), 1)
        assert dead == [{"poison": True}]
    finally:
        connection.release()


def test_an_unreachable_broker_is_one_clear_error_not_a_hang() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jobs = JobQueue(f"amqp://guest:guest@127.0.0.1:{port}//", "nobody")
    with pytest.raises(BrokerUnavailable) as caught:
        jobs.connect()
    assert "does not answer" in str(caught.value) and "guest:***" in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HARVEST_BROKER_URL": "http://h:5672/"}, "must look like amqp://"),
        ({"HARVEST_BROKER_URL": "amqp://h:port/"}, "is not valid"),
        ({"HARVEST_BROKER_URL": "amqp://u:secret@h/", "HARVEST_DATABASE_URL": ""}, "needs HARVEST_DATABASE_URL"),
        ({"HARVEST_BROKER_PREFIX": "a b"}, "HARVEST_BROKER_PREFIX"),
    ],
)
def test_bad_broker_settings_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("HARVEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InvalidConfigurationError) as caught:
        load_settings()
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_broker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("HARVEST_BROKER_URL", BROKER)
    monkeypatch.setenv("HARVEST_BROKER_PREFIX", "site-a")
    settings = load_settings()
    assert settings.distributed and settings.broker_prefix == "site-a"
    monkeypatch.delenv("HARVEST_BROKER_URL")
    monkeypatch.delenv("HARVEST_BROKER_PREFIX")
    assert not load_settings().distributed and load_settings().broker_prefix == "harvesting"
