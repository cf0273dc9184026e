"""Settings: presets, file, environment and flags, with clear errors for bad values."""

from pathlib import Path

import pytest

from agent.cli import main
from agent.config import ConfigError, load_settings


def test_nano_defaults_run_on_cpu():
    settings = load_settings()
    assert settings.profile == "nano"
    assert settings.asr.device == "cpu" and settings.asr.compute_type == "int8"
    assert settings.llm.backend == "embedded" and settings.llm.gpu_layers == 0


def test_eco_profile_targets_gpu():
    settings = load_settings(profile="eco")
    assert settings.asr.device == "cuda" and settings.asr.compute_type == "float16"
    assert settings.llm.gpu_layers == -1 and settings.tts.use_cuda


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch):
    config = tmp_path / "eco1.toml"
    config.write_text('port = 9001\n[llm]\nmax_tokens = 50\nmodel = "from-file"\n')
    monkeypatch.setenv("ECO1_LLM__MAX_TOKENS", "60")
    settings = load_settings(config, overrides={"llm": {"model": "from-flag"}})
    assert settings.port == 9001
    assert settings.llm.max_tokens == 60
    assert settings.llm.model == "from-flag"


def test_bad_value_names_the_field(monkeypatch):
    monkeypatch.setenv("ECO1_PORT", "99999")
    with pytest.raises(ConfigError, match="port"):
        load_settings()


def test_unknown_key_in_file_is_rejected(tmp_path: Path):
    config = tmp_path / "eco1.toml"
    config.write_text("[llm]\nmax_tokenz = 5\n")
    with pytest.raises(ConfigError, match="max_tokenz"):
        load_settings(config)


def test_missing_and_malformed_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile"):
        load_settings(profile="turbo")


def test_openai_backend_needs_http_url():
    with pytest.raises(ConfigError, match="base_url"):
        load_settings(overrides={"llm": {"backend": "openai", "base_url": "ftp://x"}})


def test_cli_reports_bad_value_and_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("ECO1_TURN__VAD_STOP_SECS", "-1")
    assert main(["serve", "--port", "8000"]) == 2
    err = capsys.readouterr().err
    assert "turn.vad_stop_secs" in err and "invalid settings" in err


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "serve" in out and "eval" in out


def test_serve_refuses_to_start_without_its_model_files(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ECO1_LLM__MODEL_PATH", str(tmp_path / "missing.gguf"))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "LLM gguf not found" in err and "ECO1_LLM__MODEL_PATH" in err
