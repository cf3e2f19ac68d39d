"""Database errors a user can act on: a server that is down or refuses the password is named
by host and port, passwords never appear, and values never become SQL."""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from conftest import ROOT
from postgres_server import free_port

from tower_anime.errors import DatabaseError
from tower_anime.facts import Fact, add_facts, list_facts
from tower_anime.store import connect, mask_url, migrate, parse_url, resolve_url


@pytest.mark.parametrize(
    "url, masked",
    [
        ("postgresql://tower:s3cret@db.example:5433/prod", "postgresql://tower:***@db.example:5433/prod"),
        ("postgres://tower:p%40ss@10.0.0.5/prod?sslmode=require", "postgres://tower:***@10.0.0.5/prod?sslmode=require"),
        (
            "postgresql://tower@h/prod?password=s3cret&application_name=x",
            "postgresql://tower@h/prod?password=***&application_name=x",
        ),
        ("postgresql://tower@h/prod", "postgresql://tower@h/prod"),
        ("sqlite:////abs/tower.db", "sqlite:////abs/tower.db"),
    ],
)
def test_urls_are_masked(url, masked):
    assert mask_url(url) == masked
    assert parse_url(url).masked == masked


def test_urls_parse_and_resolve(monkeypatch):
    u = parse_url("postgresql://patrick:pw@localhost:5432/tower_consolidated")
    assert (u.dialect, u.host, u.port, u.dbname, u.user, u.password) == (
        "postgresql",
        "localhost",
        5432,
        "tower_consolidated",
        "patrick",
        "pw",
    )
    assert parse_url("sqlite:///build/tower.db").path == "build/tower.db"
    assert parse_url("sqlite:////tmp/t.db").path == "/tmp/t.db"
    assert parse_url("data/tower.db").dialect == "sqlite"
    with pytest.raises(DatabaseError, match="unsupported database URL scheme 'mysql'"):
        parse_url("mysql://u:pw@h/db")
    monkeypatch.delenv("TOWER_DATABASE_URL", raising=False)
    assert resolve_url({}).raw == "sqlite:///build/tower.db"  # the embedded default
    monkeypatch.setenv("TOWER_DATABASE_URL", "postgresql://env@h/db")
    assert resolve_url({"story": {"database_url": ""}}).raw == "postgresql://env@h/db"
    cfg = {"story": {"database_url": "postgresql://story@h/db"}, "facts": {"database_url": ""}}
    assert resolve_url(cfg, "facts").raw == "postgresql://story@h/db"  # facts share the story's database
    assert resolve_url(cfg, "facts", "sqlite:///x.db").raw == "sqlite:///x.db"


def test_a_server_that_is_down_is_named_by_host_and_port():
    port = free_port()
    url = f"postgresql://tower:s3cret-pw@127.0.0.1:{port}/tower"
    with pytest.raises(DatabaseError) as exc:
        connect(url)
    text = str(exc.value)
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port} (database tower, user tower): Connection refused" in text
    assert f"postgresql://tower:***@127.0.0.1:{port}/tower" in text and "s3cret" not in text
    # the CLI: one line, exit status 1, no traceback
    proc = subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "db", "init", "--database", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"tower-anime: cannot connect to PostgreSQL at 127.0.0.1:{port}")
    assert "Traceback" not in proc.stderr and "s3cret" not in proc.stdout + proc.stderr


def test_a_wrong_password_is_reported_without_it(postgres):
    with pytest.raises(DatabaseError) as exc:
        connect(postgres.url(password="wrong-pw-1234"))
    text = str(exc.value)
    assert f"at 127.0.0.1:{postgres.port}" in text and 'password authentication failed for user "postgres"' in text
    assert "wrong-pw-1234" not in text and "postgres:***@" in text


def test_statement_errors_name_the_database_without_the_password(postgres):
    url = postgres.create_database()
    password = urlsplit(url).password
    with connect(url) as db:
        with pytest.raises(DatabaseError) as exc:
            db.rows("SELECT * FROM no_such_table WHERE x = ?", ("v",))
    text = str(exc.value)
    assert 'relation "no_such_table" does not exist' in text and "postgres:***@127.0.0.1" in text
    assert password not in text


def test_values_never_become_sql(database_url):
    evil = Fact("x'); DROP TABLE facts; --", "p%s?", "o' OR '1'='1", "test")
    with connect(database_url) as db:
        migrate(db)
        assert add_facts(db, [evil]) == 1
        assert [(r["subject"], r["predicate"], r["object"]) for r in list_facts(db)] == [evil.triple]
        assert list_facts(db, "nobody' OR '1'='1") == []


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path):
    path = tmp_path / "typo" / "towr.db"
    with pytest.raises(DatabaseError, match=r"no SQLite database at .*towr.db; create it with `tower-anime db init`"):
        connect(f"sqlite:///{path}")
    assert not path.parent.exists()
    with connect(f"sqlite:///{path}", create=True) as db:  # what db init / import do
        assert migrate(db)
    assert path.is_file()
