"""Rule violations a user can cause; the CLI turns each into one line on stderr."""

from __future__ import annotations

from uuid import UUID


class HarvestingError(Exception):
    """Base of every expected, user-facing failure."""


class NotFoundError(HarvestingError):
    pass


class HarvesterRemovedError(HarvestingError):
    pass


class HarvesterBusyError(HarvestingError):
    def __init__(self, message: str, session_id: UUID, session_type: str) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.session_type = session_type


class SessionClosedError(HarvestingError):
    pass


class InvalidConfigurationError(HarvestingError):
    pass
