import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.settings import Settings, get_settings

runner = CliRunner()
PERSONA = Path(__file__).resolve().parents[1] / "evals" / "personas" / "clickstream-analytics" / "strong.yaml"


@pytest.fixture
def cli_env(full_settings: Settings, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    monkeypatch.setenv("MOCKROUND_DATA_DIR", str(full_settings.data_dir))
    monkeypatch.setenv("MOCKROUND_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield full_settings
    get_settings.cache_clear()


def test_scripted_interview_json(cli_env: Settings) -> None:
    result = runner.invoke(app, ["interview", "--case", "clickstream-analytics", "--script", str(PERSONA), "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    out = json.loads(result.output)
    assert out["state"]["finished"] and out["scorecard"]["hire_call"]
    assert [p for p in out["state"]["reached"]] == ["clarify", "high_level", "deep_dive", "cross_cutting", "summary"]


def test_interactive_interview_reads_stdin(cli_env: Settings) -> None:
    keys = "How many events per day?\n\n/hint\n/end\n"
    result = runner.invoke(app, ["interview", "--case", "customer-360", "--minutes", "20"], input=keys)
    assert result.exit_code == 0, result.output[-2000:]
    assert "Scorecard" in result.output


def test_grade_one_answer(cli_env: Settings, tmp_path: Path) -> None:
    answer = tmp_path / "a.txt"
    answer.write_text("I'd key Kafka by session id because ordering within a session matters, and keep a raw "
                      "copy in object storage so we can replay after bugs.")
    result = runner.invoke(app, ["grade", "--case", "clickstream-analytics", "--phase", "high_level",
                                 "--answer-file", str(answer), "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    out = json.loads(result.output)
    assert any(v["met"] for v in out["verdicts"]) and out["scorecard"]["hire_call"]
    bad = runner.invoke(app, ["grade", "--case", "nope", "--answer-file", str(answer)])
    assert bad.exit_code != 0 and "unknown case" in bad.output


def test_unknown_case_fails_cleanly(cli_env: Settings) -> None:
    result = runner.invoke(app, ["interview", "--case", "nope", "--script", str(PERSONA)])
    assert result.exit_code == 2 and "unknown case" in result.output


def test_replay_and_regrade_a_stored_session(cli_env: Settings) -> None:
    from service.interview.factory import runtime
    from service.interview.sessions import SessionService
    from service.store.db import make_engine, migrate, session_factory
    from service.store.repo import Repo

    settings = get_settings()
    engine = make_engine(settings.db_url)
    migrate(engine)
    kb, _ = runtime(settings)
    service = SessionService(kb, Repo(session_factory(engine)))
    session_id, _ = service.create("customer-360", "senior", 20, "practice")
    question = "How many customer profiles are there, and which systems feed them?"
    list(service.submit(session_id, "answer", "1", question))
    list(service.submit(session_id, "end", "2"))
    md = runner.invoke(app, ["replay", session_id])
    assert md.exit_code == 0 and md.output.startswith("# Mock interview") and "How many customer profiles" in md.output
    js = runner.invoke(app, ["replay", session_id, "--format", "json"])
    assert json.loads(js.output)["turns"][1]["role"] == "candidate"
    regraded = runner.invoke(app, ["regrade", session_id, "--json"])
    assert regraded.exit_code == 0 and json.loads(regraded.output)["version"] == 2
    missing = runner.invoke(app, ["replay", "s_missing"])
    assert missing.exit_code == 2 and "not found" in missing.output
