"""``send``'s exit codes in real subprocesses: TikTok refusing the configuration (exit 4, one
line saying what to fix) against an outage (exit 1, try again later); the table in the docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_helpers import no_traceback, purchase, run_cli, write_events, write_settings
from support.helpers import TOKEN, doc, readme_table
from support.tiktok_server import BodyCode, FakeTikTok, Fault, HttpStatus

from tiktok_destination.cli import exits

REFUSED = "tiktok-destination: TikTok refused the configuration: "


def send(tmp_path: Path, tiktok: FakeTikTok, **settings: object) -> tuple[int, str]:
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(12)])
    chosen = {"batch_size": 5, "max_retries": 1, **settings}
    path = write_settings(tmp_path / "s.json", tiktok, **chosen)
    out = tmp_path / "out.jsonl"
    done = run_cli("send", "--settings", path, events, "--outcomes", str(out))
    shown = done.stdout + done.stderr + out.read_text(encoding="utf-8")
    assert TOKEN not in shown and no_traceback(done.stderr), done.stderr
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("fault", "fix"),
    [
        (BodyCode(40105, "Access token is incorrect or has been revoked"), "access_token"),
        (BodyCode(40001, "No permission to operate pixel"), "pixel_id"),
        (HttpStatus(401), "access_token"),
    ],
    ids=["token-40105", "permission-40001", "http-401"],
)
def test_a_refused_configuration_exits_4_and_says_what_to_fix(
    tmp_path: Path, tiktok: FakeTikTok, fault: Fault, fix: str
) -> None:
    tiktok.fail_next(fault)
    code, stderr = send(tmp_path, tiktok)
    assert code == exits.EXIT_CONFIG == 4
    said = [line for line in stderr.splitlines() if line.startswith(REFUSED)]
    assert len(said) == 1 and fix in said[0], stderr
    assert len(tiktok.requests) == 1  # nothing more was sent with the refused settings


def test_a_token_the_server_does_not_know_exits_4(tmp_path: Path, tiktok: FakeTikTok) -> None:
    code, stderr = send(tmp_path, tiktok, access_token="revoked-token")
    assert code == exits.EXIT_CONFIG and "revoked-token" not in stderr
    assert "generate a new Events API access token" in stderr


def test_an_outage_exits_1_try_again_later(tmp_path: Path) -> None:
    with FakeTikTok(TOKEN, policy=lambda _n, _body: HttpStatus(503)) as tiktok:
        code, stderr = send(tmp_path, tiktok, max_retries=0)
    assert code == exits.EXIT_FAILED == 1
    assert "refused" not in stderr and "failed 12" in stderr


def test_the_exit_code_table_is_exits_py() -> None:
    rows = readme_table("exit", doc("command-line"))
    assert rows == [[str(row.code), row.meaning.strip("`")] for row in exits.EXITS]
    constants = {getattr(exits, n) for n in dir(exits) if n.startswith("EXIT_")}
    assert constants == {row.code for row in exits.EXITS}
