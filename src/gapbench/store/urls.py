"""Where the results store lives: URL resolution and password masking (said once, used by all)."""

from __future__ import annotations

import os
from pathlib import Path, PurePath

ENV_VAR = "GAPBENCH_STORE"
DB_FILENAME = "gapbench.db"


def default_url() -> str:
    """``$GAPBENCH_STORE`` when set, else SQLite at ``user_data_dir("gapbench")/gapbench.db``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return normalise_url(env)
    import platformdirs

    return _sqlite_url(Path(platformdirs.user_data_dir("gapbench")) / DB_FILENAME)


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The URL a store opens: the explicit ``url`` wins, then ``$GAPBENCH_STORE``, then the data dir."""
    if url is None or (isinstance(url, str) and not url.strip()):
        return default_url()
    return normalise_url(url)


def normalise_url(url: str | os.PathLike[str]) -> str:
    """``postgresql://`` and ``postgres://`` -> ``postgresql+psycopg://``; a bare path -> SQLite URL."""
    if isinstance(url, PurePath):
        return _sqlite_url(Path(url))
    url = str(url).strip()
    if "://" not in url:
        return _sqlite_url(Path(url))
    scheme, rest = url.split("://", 1)
    if scheme.lower() in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and tables)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return url


