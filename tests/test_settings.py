"""Settings: file, environment overrides, one-line errors naming the key, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings, masked_settings
from tests.conftest import run_pecflow


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pecflow.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[smtp]\nhost = "mail.example"\nport = 25\n')
    monkeypatch.setenv("PECFLOW_SMTP__PORT", "2525")
    settings = load_settings(path)
    assert (settings.smtp.host, settings.smtp.port) == ("mail.example", 2525)


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, '[paths]\ndata_dir = "d"\n'))
    assert settings.paths.data_dir == tmp_path / "d"
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'pecflow.db'}"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[smtp]\nport = "abc"\n', {}, "smtp.port: Input should be a valid integer"),
        ("[smtp]\nhostname = 1\n", {}, "smtp.hostname: unknown setting"),
        ("", {"PECFLOW_SMTP__SECURITY": "ssl"}, "smtp.security: Input should be"),
        ('[calendar]\ntimezone = "Mars/Base"\n', {}, "calendar.timezone: unknown time zone"),
        ('[database]\nurl = "mysql://x/y"\n', {}, "database.url: only sqlite and postgresql"),
        ("[smtp\n", {}, "is not valid TOML"),
        ('[imap]\nkeyword = "Già fatto"\n', {}, "imap.keyword: 'Già fatto' is not an IMAP keyword"),
        ('[signatures]\ntrust_roots = "cas.pem"\n', {}, "signatures.trust_roots: no such file"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_secrets_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PECFLOW_SMTP__PASSWORD", "hunter2-smtp")
    monkeypatch.setenv("PECFLOW_DATABASE__URL", "postgresql+psycopg://u:hunter2-db@h/db")
    shown = str(masked_settings(load_settings(_write(tmp_path, ""))))
    assert "hunter2" not in shown
    assert "********" in shown


def test_the_password_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-file\n", encoding="utf-8")
    settings = load_settings(_write(tmp_path, '[smtp]\npassword_file = "secret"\n'))
    assert settings.smtp.secret_password() == "from-file"


@pytest.mark.integration  # the console script, in a subprocess
def test_the_command_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_pecflow(
        "--config", str(_write(tmp_path, '[smtp]\nport = "abc"\n')), "config", "show"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pecflow: config: smtp.port: Input should be a valid integer, unable to parse string "
        "as an integer"
    ]


@pytest.mark.integration  # the console script, in a subprocess
def test_config_show_never_prints_the_password(tmp_path: Path) -> None:
    done = run_pecflow(
        "--config",
        str(_write(tmp_path, "")),
        "config",
        "show",
        "--json",
        env={"PECFLOW_SMTP__PASSWORD": "hunter2"},
    )
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert '"password": "********"' in done.stdout
