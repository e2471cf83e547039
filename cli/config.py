"""Where the gateway is and which API key to send: the environment, then a TOML file.

    NEWSFLOW_URL       the gateway, e.g. http://127.0.0.1:8000 (the default)
    NEWSFLOW_API_KEY   one of the server's API_KEYS

The file is $XDG_CONFIG_HOME/newsflow/config.toml (~/.config/newsflow/config.toml when
XDG_CONFIG_HOME is unset), with the keys `url` and `api_key`. A variable set in the
environment wins over the file.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
KEYS = {"url": "NEWSFLOW_URL", "api_key": "NEWSFLOW_API_KEY"}


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Config:
    url: str
    api_key: str | None
    path: Path  # the config file, read or not: named in messages


def config_path(environ: Mapping[str, str]) -> Path:
    """The XDG location: a relative XDG_CONFIG_HOME is ignored, as the spec says."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    else:
        home = environ.get("HOME")
        base = (Path(home) if home else Path.home()) / ".config"
    return base / "newsflow" / "config.toml"


def _read_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: url, api_key)")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string")
    return data


def load_config(environ: Mapping[str, str]) -> Config:
    path = config_path(environ)
    from_file = _read_file(path)

    def pick(key: str) -> tuple[str | None, str]:
        variable = KEYS[key]
        if environ.get(variable):
            return environ[variable], variable
        return from_file.get(key) or None, f"{key} in {path}"

    url, url_from = pick("url")
    url = (url or DEFAULT_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url_from} must be an http(s) URL such as {DEFAULT_URL}: {url!r}")
    api_key, _ = pick("api_key")
    return Config(url=url, api_key=api_key.strip() if api_key else None, path=path)
