"""Read-model tables, in the event store's database, all rebuildable by replay.

Booleans are INTEGER 0/1 and JSON is TEXT so one DDL serves SQLite and PostgreSQL.
"""

from __future__ import annotations

TABLES: dict[str, str] = {
    "harvesters": """
        CREATE TABLE IF NOT EXISTS harvesters (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            url TEXT NOT NULL,
            options TEXT NOT NULL,
            policy TEXT NOT NULL,
            status TEXT NOT NULL,
            available INTEGER,
            availability_message TEXT,
            scheduling INTEGER NOT NULL,
            active_session TEXT,
            last_refresh TEXT,
            last_refresh_status TEXT,
            last_harvest TEXT,
            last_harvest_status TEXT,
            removed INTEGER NOT NULL,
            registered TEXT NOT NULL
        )""",
    "sessions": """
        CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY,
            harvester_id TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            total INTEGER NOT NULL,
            done INTEGER NOT NULL,
            harvested INTEGER NOT NULL,
            unchanged INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            new INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            stale INTEGER NOT NULL,
            pages INTEGER NOT NULL,
            listing TEXT,
            started TEXT NOT NULL,
            updated TEXT NOT NULL,
            ended TEXT,
            message TEXT NOT NULL,
            parameters TEXT NOT NULL
        )""",
    "session_work": """
        CREATE TABLE IF NOT EXISTS session_work (
            session_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            outcome TEXT,
            PRIMARY KEY (session_id, resource_id)
        )""",
    "listing_seen": """
        CREATE TABLE IF NOT EXISTS listing_seen (
            session_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            PRIMARY KEY (session_id, resource_id)
        )""",
    "harvestable_resources": """
        CREATE TABLE IF NOT EXISTS harvestable_resources (
            id TEXT PRIMARY KEY,
            harvester_id TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            title TEXT NOT NULL,
            resource_type TEXT NOT NULL,
            modified TEXT,
            should_be_harvested INTEGER NOT NULL,
            last_outcome TEXT,
            last_message TEXT,
            last_session TEXT,
            last_at TEXT,
            content_hash TEXT,
            harvested_modified TEXT,
            fingerprint TEXT,
            raw_hash TEXT,
            has_record INTEGER NOT NULL DEFAULT 0,
            stale INTEGER NOT NULL,
            removed INTEGER NOT NULL,
            discovered TEXT NOT NULL,
            version INTEGER
        )""",
    "records": """
        CREATE TABLE IF NOT EXISTS records (
            id TEXT PRIMARY KEY,
            harvester_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            keywords TEXT NOT NULL,
            bbox TEXT,
            crs TEXT,
            links TEXT NOT NULL,
            descriptor TEXT NOT NULL,
            remote_url TEXT NOT NULL,
            harvested_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            raw_hash TEXT,
            orphan INTEGER NOT NULL
        )""",
}

# session_work has no index on (session_id, outcome): SQLite would pick it for
# the outcome updates by resource id and scan every pending row of the session
# (quadratic in the size of a harvest); the primary key serves both.
INDEXES = [
    "CREATE INDEX IF NOT EXISTS sessions_harvester ON sessions (harvester_id, started)",
    "CREATE INDEX IF NOT EXISTS resources_harvester ON harvestable_resources (harvester_id, remote_id)",
    "CREATE INDEX IF NOT EXISTS records_harvester ON records (harvester_id, remote_id)",
]
