"""`harvest demo` is what `make demo` runs on a fresh machine."""

from __future__ import annotations

from tests.conftest import Cli


def test_demo_harvests_both_remotes(sqlite_cli: Cli) -> None:
    result = sqlite_cli("demo")
    assert result.returncode == 0
    assert result.stdout.count("finished-all-ok") >= 4
    assert "geonode-demo: 13 records" in result.stdout
    assert "wms-demo: 6 records" in result.stdout
    again = sqlite_cli("demo")  # runs again from scratch
    assert "geonode-demo: 13 records" in again.stdout
