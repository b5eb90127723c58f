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
