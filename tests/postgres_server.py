"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl in a temporary folder owned
by the `postgres` user (initdb refuses to run as root), listening on a free port of
127.0.0.1 only, with password (SCRAM) authentication like a real deployment, stopped (and
its folder removed) by stop()."""

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def pg_bin():
    """The server binaries: Debian's /usr/lib/postgresql/<major>/bin (newest), else PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; run `bash setup.sh` "
        "(it installs the postgresql-15 package)"
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bin = pg_bin()
        self.dir = None
        self.port = None
        self.password = secrets.token_hex(12)
        self.started = False

    def _run(self, *args, check=True):
        # as root, run the server tools as `postgres`; as anyone else, as oneself
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        proc = subprocess.run(
            prefix + [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        if check and proc.returncode != 0:
            log = Path(self.dir, "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tail}")
        return proc

    def start(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tower-pg-"))
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (self.dir, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        data = self.dir / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-A",
            "scram-sha-256",
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        pwfile.unlink()
        last = None
        for _ in range(3):  # the free port may be taken between finding and binding it
            self.port = free_port()
            opts = (
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            proc = self._run(
                "pg_ctl",
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(self.dir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if proc.returncode == 0:
                self.started = True
                return self
            last = proc
        raise RuntimeError(f"pg_ctl start failed: {last.stdout}{last.stderr}")

    def url(self, dbname="postgres", password=None):
        return f"postgresql://postgres:{password or self.password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self):
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop", check=False)
        finally:
            self.started = False
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)
