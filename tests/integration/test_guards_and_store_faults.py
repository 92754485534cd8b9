"""Guards an operator can't switch off by accident, and faults of the store
itself (damaged log, corrupted file, full disk, PostgreSQL connections ended
or refused, schema changes racing a harvest): each ends in one clear line and
loses nothing."""

from __future__ import annotations

import copy
import json
import math
import os
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harvesting.domain.harvester import Harvester
from harvesting.runners.config import Settings
from harvesting.runners.runtime import Runtime
from tests.conftest import HARVEST, POSTGRES_ADMIN_URL, ROOT, Cli, read_data
from tests.servers.hostile import Exchange, HostileServer

TEMPLATE = json.loads(read_data("geonode/captured-geonode-4.4.5/resources_page1_size5.json"))["resources"][0]


class GeoNodeSite:
    """A GeoNode API v2 (listing plus dataset details) whose entries a test edits."""

    def __init__(self, server: HostileServer, count: int, delay_s: float = 0.0) -> None:
        self.entries = [self.entry(i) for i in range(count)]
        self.delay_s = delay_s
        server.route("/api/v2/datasets/", self._detail)
        server.route("/api/v2/resources", self._listing)
        server.route("/api/v2", lambda ex: ex.json({"resources": ex.base + "/api/v2/resources"}))
        self.url = server.url

    @staticmethod
    def entry(i: int, title: str | None = None) -> dict[str, Any]:
        e = copy.deepcopy(TEMPLATE)
        e.update(
            pk=str(5000 + i),
            uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"guards/{i}")),
            title=title or f"dataset {i:03d}",
            last_updated="2026-01-01T00:00:00Z",
            resource_type="dataset",
        )
        return e

    def _listing(self, ex: Exchange) -> None:
        wanted = ex.query.get("filter{uuid}")
        if wanted is not None:  # how a resumed harvest finds a resource it did not list itself
            ex.json({"links": {"next": None}, "resources": [e for e in self.entries if e["uuid"] == wanted]})
            return
        page, size = int(ex.query.get("page", "1")), int(ex.query.get("page_size", "10"))
        chunk = self.entries[(page - 1) * size : page * size]
        more = page * size < len(self.entries)
        nxt = f"{ex.base}/api/v2/resources?page={page + 1}&page_size={size}" if more else None
        ex.json({"links": {"next": nxt}, "total": len(self.entries), "page": page, "resources": chunk})

    def _detail(self, ex: Exchange) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        pk = ex.path.rstrip("/").rsplit("/", 1)[-1]
        found = [e for e in self.entries if e["pk"] == pk]
        ex.json({"dataset": found[0]}) if found else ex.json({"detail": "Not found."}, 404)


def add_geonode(cli: Cli, name: str, url: str, *extra: str) -> None:
    cli("harvester", "add", name, "--type", "geonode", "--url", url, "--option", "page_size=10", *extra)


def store_path(cli: Cli) -> Path:
    return Path(cli.env["HARVEST_DATA_DIR"]) / "harvesting.sqlite3"


@pytest.fixture
def site(hostile: HostileServer) -> GeoNodeSite:
    return GeoNodeSite(hostile, 20)


# --- item 6: terminal escapes ----------------------------------------------------------

HOSTILE_TITLES = ["\x1b]0;owned\x07set title", "\x1b[2Jclear screen", "report\u202egpj.exe", "[bold red]markup[/]"]


@pytest.mark.fault("6")
def test_remote_titles_cannot_drive_the_terminal(sqlite_cli: Cli, hostile: HostileServer) -> None:
    """Titles with a title-set escape, clear-screen, U+202E or rich markup are shown escaped in tables; --json keeps
    them as they are."""
    site = GeoNodeSite(hostile, 0)
    site.entries = [GeoNodeSite.entry(i, title) for i, title in enumerate(HOSTILE_TITLES)]
    add_geonode(sqlite_cli, "gn", site.url)
    sqlite_cli("run", "gn")
    for command in (("resources", "gn"), ("records",)):
        out = sqlite_cli(*command).stdout
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
        assert "\\x1b]0;owned\\x07set title" in out
        assert "report\\u202egpj.exe" in out
        assert "[bold red]markup[/]" in out
    titles = sorted(r["title"] for r in sqlite_cli.json("records"))
    assert titles == sorted(HOSTILE_TITLES)


# --- item 7: NaN switches off the mass-delete guard ------------------------------------------


@pytest.mark.fault("7")
@pytest.mark.parametrize(
    "option", ["--max-stale-share=nan", "--max-stale-share=inf", "--max-total-drift=nan", "--max-stale-share=-0.1"]
)
def test_non_finite_or_out_of_range_guards_are_refused(sqlite_cli: Cli, site: GeoNodeSite, option: str) -> None:
    """`--max-stale-share nan` (and inf, and the drift guard) is refused at add; nothing is registered."""
    result = sqlite_cli("harvester", "add", "gn", "--type", "geonode", "--url", site.url, option, check=False)
    assert result.returncode != 0
    assert "from 0 to 1" in result.stderr and "Traceback" not in result.stderr
    assert sqlite_cli.json("harvester", "list") == []


@pytest.mark.fault("7")
def test_a_nan_guard_recorded_before_the_fix_still_refuses_a_mass_sweep(
    sqlite_cli: Cli, hostile: HostileServer
) -> None:
    """A policy with NaN already in the log (recorded before the check existed) keeps the default guard: losing 95%
    sweeps nothing, and show --json prints valid JSON."""
    site = GeoNodeSite(hostile, 20)
    store = Path(sqlite_cli.env["HARVEST_DATA_DIR"])
    rt = Runtime(Settings(data_dir=store, database_url=None, parallel=4, batch_size=100))
    try:
        legacy = Harvester(
            name="gn",
            remote_type="geonode",
            url=site.url,
            options={"page_size": "10"},
            policy={"delete_orphans": True, "select_new": True, "max_stale_share": math.nan, "max_total_drift": 0.01},
        )
        rt.app.save(legacy)
    finally:
        rt.close()
    assert sqlite_cli.json("run", "gn")["harvester"]["records"] == 20
    site.entries = site.entries[:1]
    result = sqlite_cli("refresh", "gn", "--wait", "--json", check=False)
    assert result.returncode == 1
    assert "sweep refused: 19 of 20" in result.json()["message"]
    assert len(sqlite_cli.json("records")) == 20
    shown = sqlite_cli("harvester", "show", "gn", "--json").stdout
    assert "NaN" not in shown
    assert json.loads(shown)["policy"]["max_stale_share"] is None


# --- item 9: replay of a damaged log ---------------------------------------------------


def _damage_one_event(cli: Cli) -> int:
    """Overwrites the stored state of an event in the middle of the log."""
    if cli.backend == "sqlite":
        with sqlite3.connect(store_path(cli)) as conn:
            ids = [r[0] for r in conn.execute("SELECT rowid FROM stored_events ORDER BY rowid")]
            target = ids[len(ids) // 2]
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b"\xff\x00not json", target))
        return int(target)
    with psycopg.connect(cli.env["HARVEST_DATABASE_URL"], autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT notification_id FROM harvesting_events ORDER BY notification_id")]
        target = ids[len(ids) // 2]
        conn.execute("UPDATE harvesting_events SET state = %s WHERE notification_id = %s", (b"\xff\x00", target))
    return int(target)


@pytest.mark.fault("9")
def test_replay_of_a_damaged_log_leaves_the_read_models_as_they_were(cli: Cli, site: GeoNodeSite) -> None:
    """A replay that meets an unreadable event rolls back, names its position, and every query answers as before."""
    add_geonode(cli, "gn", site.url)
    cli("run", "gn")
    before = {q: cli.json(*q) for q in (("records",), ("sessions",), ("harvester", "list"), ("resources", "gn"))}
    position = _damage_one_event(cli)
    result = cli("replay", check=False)
    assert result.returncode == 1
    assert f"replay stopped at event position {position}" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    for query, answer in before.items():
        assert cli.json(*query) == answer


# --- item 10: schema changes never race a harvest (PostgreSQL) ----------------------------------


@pytest.fixture
def ddl_log(postgres_database: str) -> Iterator[str]:
    """Every DDL statement run in the test database is logged by an event trigger."""
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE ddl_log (tag TEXT, at TIMESTAMPTZ DEFAULT now())")
        conn.execute(
            "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS"
            " $$ BEGIN INSERT INTO ddl_log (tag) VALUES (tg_tag); END $$"
        )
        conn.execute("CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION log_ddl()")
    yield postgres_database


def _ddl_count(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM ddl_log").fetchone()
    return int(row[0]) if row else 0


@pytest.mark.fault("10")
@pytest.mark.postgres
def test_read_commands_run_no_ddl_and_never_deadlock_with_a_harvest(
    tmp_path: Path, ddl_log: str, hostile: HostileServer
) -> None:
    """20 read commands in parallel with a running harvest on PostgreSQL: none fails, the harvest finishes, and not
    one DDL statement runs after the store exists."""
    site = GeoNodeSite(hostile, 60, delay_s=0.05)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update(HARVEST_DATA_DIR=str(tmp_path / "store"), HARVEST_DATABASE_URL=ddl_log, PYTHONPATH=str(ROOT))
    cli = Cli(env, "postgresql")
    add_geonode(cli, "gn", site.url)
    created = _ddl_count(ddl_log)
    assert created > 0  # the store's tables were made once, by the first write
    harvest = cli.popen("run", "gn")
    reads = [
        ("harvester", "list"), ("sessions",), ("records",), ("resources", "gn"), ("harvester", "show", "gn"),
    ] * 4  # fmt: skip
    results: list[subprocess.CompletedProcess[str]] = []

    def read(args: tuple[str, ...]) -> None:
        results.append(subprocess.run([*HARVEST, *args, "--json"], env=env, capture_output=True, text=True, cwd=ROOT))

    threads = [threading.Thread(target=read, args=(args,)) for args in reads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _, err = harvest.communicate(timeout=180)
    assert harvest.returncode == 0, err
    assert [r.stderr for r in results if r.returncode != 0] == []
    assert not any("deadlock" in r.stderr for r in results)
    assert _ddl_count(ddl_log) == created
    assert len(cli.json("records")) == 60


# --- item 12: store faults in one line ----------------------------------------------------------


@pytest.mark.fault("12")
def test_a_corrupted_sqlite_page_gives_one_line(sqlite_cli: Cli, site: GeoNodeSite) -> None:
    """A damaged page in the records table: commands that touch it say so in one line, no traceback; the others
    still work."""
    add_geonode(sqlite_cli, "gn", site.url)
    sqlite_cli("run", "gn")
    path = store_path(sqlite_cli)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'records' AND pagetype = 'leaf'")]
    with path.open("r+b") as f:
        f.seek(page_size * (pages[-1] - 1))
        f.write(b"\xff" * page_size)
    assert sqlite_cli("harvester", "list").returncode == 0
    for args in (("records",), ("records", "--json")):
        result = sqlite_cli(*args, check=False)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: store error: the SQLite store file is damaged"), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, so that a full disk is real (the suite runs as root here)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.fault("12")
def test_a_full_disk_gives_one_line_and_loses_nothing(tiny_disk: Path, site: GeoNodeSite) -> None:
    """With the store's disk full, every command ends in one line naming the full disk; once space is freed, the
    store is whole."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update(HARVEST_DATA_DIR=str(tiny_disk / "store"), PYTHONPATH=str(ROOT))
    cli = Cli(env, "sqlite")
    add_geonode(cli, "gn", site.url)
    cli("run", "gn")
    records = cli.json("records")
    filler = tiny_disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    for args in (
        ("harvester", "list"),
        ("records",),
        ("refresh", "gn", "--wait"),
        ("harvester", "add", "x", "--type", "wms", "--url", "http://h/"),
    ):
        result = cli(*args, check=False)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr
        assert "disk" in result.stderr and "full" in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    filler.unlink()
    assert cli.json("records") == records
    assert cli.json("run", "gn")["sessions"][1]["unchanged"] == 20


def _backends(url: str, *, but_not: int | None = None) -> list[int]:
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
        locks = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
            (name,),
        ).fetchall()
    keep = {r[0] for r in locks} if but_not is None else set()
    return [r[0] for r in rows if r[0] not in keep]


@pytest.mark.fault("12")
@pytest.mark.postgres
def test_terminated_postgres_connections_are_replaced_and_the_harvest_goes_on(
    tmp_path: Path, postgres_database: str, hostile: HostileServer
) -> None:
    """PostgreSQL ends every pooled connection again and again during a harvest: the harvest still finishes all-ok
    with every record."""
    site = GeoNodeSite(hostile, 60, delay_s=0.05)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    env.update(HARVEST_DATA_DIR=str(tmp_path), HARVEST_DATABASE_URL=postgres_database, PYTHONPATH=str(ROOT))
    cli = Cli(env, "postgresql")
    add_geonode(cli, "gn", site.url)
    proc = cli.popen("run", "gn", "--json")
    time.sleep(1.0)
    for _ in range(15):
        time.sleep(0.3)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for pid in _backends(postgres_database):  # the lock holder's connection is item 11's test
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    out, err = proc.communicate(timeout=180)
    assert "Traceback" not in err
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["sessions"][1]["status"] == "finished-all-ok"
    assert summary["harvester"]["records"] == 60


@pytest.mark.fault("12")
@pytest.mark.postgres
def test_revoked_postgres_access_gives_one_line(tmp_path: Path, postgres_database: str, hostile: HostileServer) -> None:
    """Table privileges revoked in the middle of a harvest: the command stops with one line, and once they are
    granted again `run` finishes the same harvest with every record."""
    site = GeoNodeSite(hostile, 60, delay_s=0.05)
    role = f"harvest_{uuid.uuid4().hex[:8]}"
    name = postgres_database.rsplit("/", 1)[-1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT ALL ON DATABASE "{name}" TO "{role}"')
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVEST_")}
    url = f"postgresql://{role}@127.0.0.1:5432/{name}"
    env.update(HARVEST_DATA_DIR=str(tmp_path), HARVEST_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    cli = Cli(env, "postgresql")
    try:
        add_geonode(cli, "gn", site.url)
        cli("refresh", "gn", "--wait")
        proc = cli.popen("harvest", "gn", "--wait")
        time.sleep(1.5)
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 1
        assert "Traceback" not in err and err.count("\n") == 1 and "permission denied" in err, err
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        summary = cli.json("run", "gn")
        assert summary["harvester"]["records"] == 60
        assert all(s["status"] == "finished-all-ok" for s in summary["sessions"])
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
            conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM "{role}"')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


# --- item 13: loose input checks --------------------------------------------------------


@pytest.mark.fault("13")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999/", "out of range"),
        ("http://127.0.0.1:abc/", "could not be cast"),
        (" http://127.0.0.1/", "starts or ends with spaces"),
        ("http://127.0.0.1/\n", "starts or ends with spaces"),
        ("http://127.0.0.1/a b", "contains spaces"),
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://alice:s3cret@127.0.0.1/", "named credentials"),
    ],
)
def test_bad_urls_are_refused_and_nothing_is_stored(sqlite_cli: Cli, url: str, message: str) -> None:
    """Ports out of range or not numbers, stray spaces, broken IPv6 and user info in URLs are refused at add; no
    store is created and no password is kept."""
    result = sqlite_cli("harvester", "add", "x", "--type", "wms", "--url", url, check=False)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr
    assert not Path(sqlite_cli.env["HARVEST_DATA_DIR"]).exists()


@pytest.mark.fault("13")
def test_database_url_errors_never_print_the_password(sqlite_cli: Cli) -> None:
    """A wrong HARVEST_DATABASE_URL is reported with its password masked."""
    for url in (
        "postgresql://postgres:Sup3rSecretPw@127.0.0.1:5432/no_such_database_here",
        "postgresql://postgres:Sup3rSecretPw@127.0.0.1:99999/x",
        "mysql://postgres:Sup3rSecretPw@127.0.0.1/x",
    ):
        result = sqlite_cli("harvester", "list", check=False, HARVEST_DATABASE_URL=url)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "Sup3rSecretPw" not in result.stderr, result.stderr
        assert "***" in result.stderr or "does not exist" in result.stderr


@pytest.mark.fault("13")
def test_a_parse_error_on_the_harvest_path_is_not_called_no_answer(sqlite_cli: Cli, hostile: HostileServer) -> None:
    """A GeoNode that answers its API root with an HTML page fails the harvest with what was found, not with "does
    not answer"."""
    site = GeoNodeSite(hostile, 3)
    add_geonode(sqlite_cli, "gn", site.url)
    sqlite_cli("refresh", "gn", "--wait")
    hostile.route("/api/v2", lambda ex: ex.text("<html>maintenance</html>", content_type="text/html"))
    hostile.route("/api/v2/resources", site._listing)
    result = sqlite_cli("harvest", "gn", "--wait", "--json", check=False)
    assert result.returncode == 1
    message = result.json()["message"]
    assert "does not answer" not in message
    assert "parse-error" in message and "text/html" in message, message
    assert "maintenance" not in message  # the remote's body is never quoted


@pytest.mark.fault("13")
def test_the_scheduler_waits_for_a_read_command_holding_the_lock(sqlite_cli: Cli, site: GeoNodeSite) -> None:
    """The scheduler started while another command holds the store's lock stands by, then drives the store when the
    lock is free."""
    import fcntl

    add_geonode(sqlite_cli, "gn", site.url, "--refresh-every", "1h")
    lock = Path(sqlite_cli.env["HARVEST_DATA_DIR"]) / "engine.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    scheduler = sqlite_cli.popen("scheduler", "--tick", "1")
    try:
        time.sleep(2)
        assert scheduler.poll() is None, scheduler.communicate()
        assert sqlite_cli.json("sessions") == []
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sessions = sqlite_cli.json("sessions")
        if sessions and sessions[0]["status"] == "finished-all-ok":
            break
        time.sleep(0.5)
    scheduler.terminate()
    _, err = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0, err
    assert "Traceback" not in err
    assert sessions and sessions[0]["type"] == "refresh" and sessions[0]["status"] == "finished-all-ok"


def test_a_store_of_the_previous_schema_is_refolded_on_first_open(sqlite_cli: Cli, site: GeoNodeSite) -> None:
    """Schema 2 added columns to harvestable_resources: a store of schema 1
    (simulated by taking them away again) has its read models rebuilt from
    the events by the first command, even one that only reads."""
    add_geonode(sqlite_cli, "gn", site.url)
    sqlite_cli("run", "gn")
    records = sqlite_cli.json("records")
    with sqlite3.connect(store_path(sqlite_cli)) as conn:
        for column in ("version", "has_record", "raw_hash", "fingerprint", "harvested_modified"):
            conn.execute(f"ALTER TABLE harvestable_resources DROP COLUMN {column}")
        conn.execute("UPDATE harvest_schema SET version = 1")

    assert sqlite_cli.json("records") == records
    with sqlite3.connect(store_path(sqlite_cli)) as conn:
        assert conn.execute("SELECT MAX(version) FROM harvest_schema").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM harvestable_resources WHERE version IS NULL").fetchone()[0] == 0
    again = sqlite_cli.json("harvest", "gn", "--wait")
    assert again["unchanged"] == len(records) and again["failed"] == 0
