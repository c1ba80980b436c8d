import json

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.settings import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(full_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MOCKROUND_DATA_DIR", str(full_settings.data_dir))
    get_settings.cache_clear()
    yield full_settings
    get_settings.cache_clear()


def test_scenarios_json(cli_env: Settings) -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0, result.output
    ids = {row["id"] for row in json.loads(result.output)}
    assert {"clickstream-analytics", "customer-360", "marketing-cdp-performance"} <= ids


def test_search_json_with_filters(cli_env: Settings) -> None:
    result = runner.invoke(app, ["search", "identity resolution across sources", "--kind",
                                 "rubric", "--scenario", "customer-360", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3
    assert all(r["kind"] == "rubric" and r["source"].endswith("customer-360.yaml") for r in rows)
    assert {"rank", "score", "id", "source", "section"} <= rows[0].keys()


def test_search_table_output(cli_env: Settings) -> None:
    result = runner.invoke(app, ["search", "schema registry"])
    assert result.exit_code == 0 and "score" in result.output


def test_ingest_unchanged_and_bad_path(cli_env: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 0 and "0 added" in result.output
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.md")])
    assert result.exit_code != 0 and "nope.md" in result.output
