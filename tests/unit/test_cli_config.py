"""newsflow's configuration: NEWSFLOW_URL / NEWSFLOW_API_KEY win over the XDG config file."""

from pathlib import Path

import pytest

from cli.config import DEFAULT_URL, ConfigError, config_path, load_config


def write_config(base: Path, text: str) -> Path:
    path = base / "newsflow" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_the_file_is_read_when_the_environment_says_nothing(tmp_path: Path) -> None:
    write_config(tmp_path, 'url = "https://news.example.org/"\napi_key = "from-file"\n')
    config = load_config({"XDG_CONFIG_HOME": str(tmp_path)})
    assert (config.url, config.api_key) == ("https://news.example.org", "from-file")


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, 'url = "https://file.example.org"\napi_key = "from-file"\n')
    environ = {
        "XDG_CONFIG_HOME": str(tmp_path),
        "NEWSFLOW_URL": "http://env.example.org:8000",
        "NEWSFLOW_API_KEY": "from-env",
    }
    config = load_config(environ)
    assert (config.url, config.api_key) == ("http://env.example.org:8000", "from-env")


def test_one_variable_from_the_environment_the_other_from_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, 'url = "https://file.example.org"\napi_key = "from-file"\n')
    config = load_config({"XDG_CONFIG_HOME": str(tmp_path), "NEWSFLOW_API_KEY": "from-env"})
    assert (config.url, config.api_key) == ("https://file.example.org", "from-env")


def test_without_file_nor_environment_the_local_gateway_and_no_key(tmp_path: Path) -> None:
    config = load_config({"HOME": str(tmp_path)})
    assert (config.url, config.api_key) == (DEFAULT_URL, None)


def test_the_file_lives_under_home_when_xdg_config_home_is_unset_or_relative(
    tmp_path: Path,
) -> None:
    expected = tmp_path / ".config" / "newsflow" / "config.toml"
    assert config_path({"HOME": str(tmp_path)}) == expected
    assert config_path({"HOME": str(tmp_path), "XDG_CONFIG_HOME": "relative"}) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("url = ", "cannot read"),
        ('apikey = "x"', "unknown key 'apikey'"),
        ("api_key = 42", "api_key must be a string"),
        ('url = "ftp://x"', "must be an http(s) URL"),
    ],
)
def test_a_bad_file_is_named_with_the_problem(tmp_path: Path, text: str, words: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config({"XDG_CONFIG_HOME": str(tmp_path)})
    assert words in str(raised.value) and str(path) in str(raised.value)


def test_a_bad_url_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSFLOW_URL"):
        load_config({"HOME": str(tmp_path), "NEWSFLOW_URL": "localhost:8000"})
