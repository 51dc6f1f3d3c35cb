"""dashboard/users.py: the users file (TOML, argon2 hashes, never a password) and `python -m dashboard.users`."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from dashboard import users

ROOT = Path(__file__).resolve().parent.parent
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the tests' hashes: fast, same format


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(users, "HASHER", CHEAP)


class Pipe(io.StringIO):
    """Standard input that is not a terminal."""

    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def cli(*args: str, stdin: str = "", capsys=None) -> tuple[int, str, str]:
    code = users.main([str(a) for a in args], stdin=Pipe(stdin))
    out, err = capsys.readouterr() if capsys else ("", "")
    return code, out, err


def raw(path: Path) -> dict:
    return tomllib.loads(path.read_text())["users"]


def test_add_creates_the_file_with_a_hash_not_the_password(tmp_path, capsys):
    path = tmp_path / "users.toml"
    code, out, _ = cli("add", path, "Alice", "--role", "owner", stdin="correct horse\n", capsys=capsys)
    assert code == 0 and "added alice (owner)" in out
    entry = raw(path)["alice"]
    assert entry["role"] == "owner"
    assert entry["password_hash"].startswith("$argon2id$")
    text = path.read_text()
    assert "correct horse" not in text and "correct" not in entry["password_hash"]
    assert users.verify(users.read_users(path), "alice", "correct horse").name == "alice"
    assert users.verify(users.read_users(path), "ALICE ", "correct horse").name == "alice"  # names ignore case
    assert users.verify(users.read_users(path), "alice", "correct horse\n") is None  # the line end is not in it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_add_again_updates_the_role_and_the_hash(tmp_path, capsys):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="first password\n")
    cli("add", path, "kim", "--role", "marketing", stdin="kims password\n")
    before = raw(path)
    code, out, _ = cli("add", path, "sam", "--role", "owner", stdin="second password\n", capsys=capsys)
    assert code == 0 and "updated sam (owner)" in out
    after = raw(path)
    assert after["sam"]["role"] == "owner"
    assert after["sam"]["password_hash"] != before["sam"]["password_hash"]
    assert after["kim"] == before["kim"], "the other users are left as they were"
    known = users.read_users(path)
    assert users.verify(known, "sam", "second password") and not users.verify(known, "sam", "first password")


def test_the_same_password_twice_gives_different_hashes(tmp_path):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="same password\n")
    first = raw(path)["sam"]["password_hash"]
    cli("add", path, "sam", "--role", "staff", stdin="same password\n")
    assert raw(path)["sam"]["password_hash"] != first  # salted


def test_remove(tmp_path, capsys):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="password 1\n")
    cli("add", path, "kim", "--role", "marketing", stdin="password 2\n")
    code, out, _ = cli("remove", path, "SAM", capsys=capsys)
    assert code == 0 and "removed sam" in out
    assert set(raw(path)) == {"kim"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_removing_an_unknown_user_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "users.toml"
    cli("add", path, "kim", "--role", "marketing", stdin="password 2\n")
    before = path.read_bytes()
    code, _, err = cli("remove", path, "nobody", capsys=capsys)
    assert code == 2
    assert "no user 'nobody'" in err and "users: kim" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("args, stdin, message", [
    pytest.param(("--role", "admin"), "long enough\n", "unknown role 'admin'; roles are owner, staff, marketing",
                 id="unknown role"),
    pytest.param(("--role", "staff"), "\n", "the password is empty", id="empty password"),
    pytest.param(("--role", "staff"), "", "the password is empty", id="nothing on stdin"),
    pytest.param(("--role", "staff"), "short\n", "shorter than 8 characters", id="short password"),
])
def test_refused_additions_change_nothing(tmp_path, capsys, args, stdin, message):
    path = tmp_path / "users.toml"
    code, _, err = cli("add", path, "sam", *args, stdin=stdin, capsys=capsys)
    assert code == 2 and message in err
    assert not path.exists()


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "ünïcode", 'quote"d', "new\nline"])
def test_a_name_that_cannot_be_a_user_is_refused(tmp_path, capsys, name):
    code, _, err = cli("add", tmp_path / "users.toml", name, "--role", "staff", stdin="long enough\n", capsys=capsys)
    assert code == 2 and "user name" in err


def test_only_the_first_line_of_stdin_is_the_password(tmp_path):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="the first line\nthe second line\n")
    known = users.read_users(path)
    assert users.verify(known, "sam", "the first line")
    assert not users.verify(known, "sam", "the first line\nthe second line")


def test_a_password_without_a_line_end_is_kept_whole(tmp_path):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="no newline at the end")
    assert users.verify(users.read_users(path), "sam", "no newline at the end")


def test_at_a_terminal_the_password_is_asked_twice(tmp_path, monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt: asked.append(prompt) or "typed twice")
    path = tmp_path / "users.toml"
    assert users.main(["add", str(path), "sam", "--role", "staff"], stdin=Terminal()) == 0
    assert asked == ["Password: ", "Password again: "]
    assert users.verify(users.read_users(path), "sam", "typed twice")


def test_at_a_terminal_two_different_passwords_change_nothing(tmp_path, monkeypatch, capsys):
    answers = iter(["first try here", "second try here"])
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt: next(answers))
    path = tmp_path / "users.toml"
    assert users.main(["add", str(path), "sam", "--role", "staff"], stdin=Terminal()) == 2
    assert "do not match" in capsys.readouterr().err
    assert not path.exists()


def test_the_file_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="password 1\n")
    before = path.read_bytes()
    replaced = []
    real_replace = os.replace

    def spy(source, target):
        replaced.append((Path(source).parent, Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(users.os, "replace", spy)
    cli("add", path, "kim", "--role", "marketing", stdin="password 2\n")
    assert replaced == [(tmp_path, path)]  # written beside it, then swapped in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.toml"]  # no temporary file left

    def broken(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(users.os, "replace", broken)
    with pytest.raises(OSError):
        users.add_user(path, "lee", "staff", "password 3")
    assert path.read_bytes() != before and set(raw(path)) == {"sam", "kim"}, "the last good file stays"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.toml"]


@pytest.mark.parametrize("text, message", [
    pytest.param("users = 3\n", "expected only [users.", id="not a table"),
    pytest.param('[users.sam]\nrole = "boss"\npassword_hash = "$argon2id$x"\n', "unknown role 'boss'", id="role"),
    pytest.param('[users.sam]\nrole = "staff"\npassword_hash = "hunter2"\n', "not an argon2 hash",
                 id="a password where the hash goes"),
    pytest.param('[users.sam]\nrole = "staff"\n', "needs exactly role and password_hash", id="no hash"),
    pytest.param("[users.sam\n", "not valid TOML", id="not toml"),
])
def test_a_users_file_that_cannot_be_used_names_the_problem(tmp_path, text, message):
    path = tmp_path / "users.toml"
    path.write_text(text)
    with pytest.raises(users.UsersError, match=message.replace("[", r"\[")):
        users.read_users(path)


def test_a_missing_users_file_is_an_error(tmp_path):
    with pytest.raises(users.UsersError, match="users file not found"):
        users.read_users(tmp_path / "nope.toml")


def test_an_unknown_name_is_checked_against_a_hash_of_the_same_cost(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="password 1\n")
    known = users.read_users(path)
    checked = []
    real_verify = users.HASHER.verify
    monkeypatch.setattr(users, "HASHER", type("Spy", (), {"verify": lambda self, h, p: checked.append(h) or
                                                          real_verify(h, p)})())
    assert users.verify(known, "nobody", "password 1") is None
    assert users.verify(known, "sam", "wrong password") is None
    dummy, real = checked
    assert dummy != real and dummy.split("$")[3] == real.split("$")[3]  # same m=, t=, p=


def test_list(tmp_path, capsys):
    path = tmp_path / "users.toml"
    cli("add", path, "sam", "--role", "staff", stdin="password 1\n")
    cli("add", path, "alice", "--role", "owner", stdin="password 2\n")
    capsys.readouterr()
    assert cli("list", path, capsys=capsys)[1] == "alice\towner\nsam\tstaff\n"


def test_the_command_runs_as_documented(tmp_path):
    """`python -m dashboard.users` from the project folder, the password piped in (real hash cost)."""
    path = tmp_path / "users.toml"
    done = subprocess.run([sys.executable, "-m", "dashboard.users", "add", str(path), "alice", "--role", "owner"],
                          input="a long passphrase\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert users.verify(users.read_users(path), "alice", "a long passphrase")
    done = subprocess.run([sys.executable, "-m", "dashboard.users", "remove", str(path), "bob"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "no user 'bob'" in done.stderr
