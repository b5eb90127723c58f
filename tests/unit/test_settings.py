from pathlib import Path

import pytest

from service.settings import SettingsError, load_settings


def test_defaults_need_nothing_installed(tmp_path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.stub_backend_url.startswith("sqlite:///")
    assert settings.backend_timeout_s == 2.0
    assert settings.identity_secret is None


def test_secret_is_not_in_repr() -> None:
    settings = load_settings({"IDENTITY_SECRET": "s3cret-value-that-is-long-enough-0123"})
    assert "s3cret-value-that-is-long-enough-0123" not in repr(settings)
    assert "***" in repr(settings)


@pytest.mark.parametrize("env", [{"BACKEND_TIMEOUT_S": "soon"}, {"BACKEND_TIMEOUT_S": "-1"}, {"XIAOZHI_TODAY": "21/11/2026"}])
def test_malformed_settings_name_the_variable(env) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        load_settings(env)


def test_an_app_token_secret_written_in_the_repository_is_refused(tmp_path: Path) -> None:
    from service.secrets import check_secrets

    published = "app-token-secret-" + "x" * 32
    (tmp_path / "README.md").write_text(f"APP_TOKEN_SECRET={published}\n", encoding="utf-8")
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / "var"), "APP_TOKEN_SECRET": published})
    with pytest.raises(SettingsError, match="APP_TOKEN_SECRET is written in README.md"):
        check_secrets(settings, root=tmp_path)
    check_secrets(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / "var")}), root=tmp_path)  # unset: the app is off


def test_wechat_and_the_app_are_off_until_configured_and_their_keys_checked(tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    assert settings.wechat_token is None and settings.app_token_secret is None
    on = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "WECHAT_TOKEN": "wx-tok-7781", "WECHAT_AES_KEY": "k" * 43})
    assert on.wechat_token == "wx-tok-7781" and on.wechat_aes_key == "k" * 43 and "wx-tok-7781" not in repr(on)
    with pytest.raises(SettingsError, match="WECHAT_AES_KEY must be exactly 43"):
        load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "WECHAT_AES_KEY": "short"})
    with pytest.raises(SettingsError, match="APP_TOKEN_SECRET must be at least"):
        load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "APP_TOKEN_SECRET": "short"})


def test_the_desk_reads_conversations_where_rasa_keeps_them(tmp_path: Path) -> None:
    """Embedded: var/tracker.db (endpoints.yml); scaled: DATABASE_URL (deploy/endpoints.scaled.yml); or as told."""
    assert load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)}).tracker_db_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    shared = "postgresql+psycopg2://xiaozhi@db:5432/xiaozhi"
    assert load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": shared}).tracker_db_url == shared
    apart = "postgresql+psycopg2://xiaozhi@db:5432/conversations"
    assert load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": shared,
                          "TRACKER_DB_URL": apart}).tracker_db_url == apart
