"""A throw-away PostgreSQL server for the workers' tests and benchmark: Debian's
`postgresql` binaries, `initdb` and `pg_ctl` on a temporary directory, listening on a free
port of 127.0.0.1, stopped after.

Run as root (as CI runs), the server runs as the `postgres` user the package creates
(PostgreSQL refuses to run as root). `.ci/run` installs the package where it is missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

USER = "jaxtune"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on the PATH, else Debian's newest version's."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(path).parts[-3].split(".") if part.isdigit())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server(folder: Path) -> Iterator[str]:
    """A running server in `folder`; yields its SQLAlchemy URL (database `postgres`)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL's initdb is not installed")
    prefix: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # PostgreSQL will not run as root: as the package's user
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=100"
    pg_ctl = str(bin_dir / "pg_ctl")
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
