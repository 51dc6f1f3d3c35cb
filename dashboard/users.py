"""Who may sign in to the dashboard: a TOML users file, and the command that edits it.

    python -m dashboard.users add USERS_FILE NAME --role owner|staff|marketing
    python -m dashboard.users remove USERS_FILE NAME
    python -m dashboard.users list USERS_FILE

`add` creates the file, or adds the user, or replaces an existing user's role and password. The password is
read from standard input when it is not a terminal (its first line, without the line end), else asked for
twice. The file holds an argon2id hash of each password, never the password:

    # Users of the practice dashboard. Edit with: python -m dashboard.users
    [users."alice"]
    role = "owner"
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

    [users."sam"]
    role = "staff"
    password_hash = "$argon2id$..."

Names are 1-64 letters, digits, `.`, `_`, `-` or `@`, and are compared without regard to case (stored in lower
case). Roles: owner (every page, uploads, the audit log), staff (Overview, the Clinic pages and Explore),
marketing (Overview and Demand: aggregates only). The file is replaced atomically (a temporary file in the
same folder, then os.replace) and readable by its owner only (mode 0600). Exit status: 0 done, 2 refused
(with the reason on standard error).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

USERS_ENV = "PRACTICE_USERS"
ROLES = ("owner", "staff", "marketing")
NAME_PATTERN = re.compile(r"[a-z0-9._@-]{1,64}")
MIN_PASSWORD_LENGTH = 8
HEADER = "# Users of the practice dashboard. Edit with: python -m dashboard.users (see its docstring).\n"
# RFC 9106's second recommended profile (argon2id, 64 MiB, 3 passes): about 0.1 s on this machine's cores.
HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def startup_argument(name: str) -> str | None:
    """`--NAME VALUE` among the app's arguments (`streamlit run dashboard/app.py -- --NAME VALUE`)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(f"--{name}")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return getattr(args, name)


def startup_path() -> Path | None:
    """The app's users file: `-- --users FILE`, else $PRACTICE_USERS, else None (the app runs open)."""
    chosen = startup_argument("users") or os.environ.get(USERS_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


class UsersError(ValueError):
    """A users file or a user that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def normalise_name(name: str) -> str:
    return name.strip().lower()


def check_name(name: str) -> str:
    name = normalise_name(name)
    if not NAME_PATTERN.fullmatch(name):
        raise UsersError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UsersError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    if not password:
        raise UsersError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsersError(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters")
    return (hasher or HASHER).hash(password)


def parse_users(raw: Mapping, where: str) -> dict[str, User]:
    table = raw.get("users", {})
    if set(raw) - {"users"} or not isinstance(table, dict):
        raise UsersError(f"{where}: expected only [users.\"NAME\"] sections")
    users = {}
    for key, entry in table.items():
        name = normalise_name(key)
        if not NAME_PATTERN.fullmatch(name) or name in users:
            raise UsersError(f"{where}: user {key!r} is not a usable name (or appears twice)")
        if not isinstance(entry, dict) or set(entry) != {"role", "password_hash"}:
            raise UsersError(f"{where}: user {key!r} needs exactly role and password_hash")
        if entry["role"] not in ROLES:
            raise UsersError(f"{where}: user {key!r} has unknown role {entry['role']!r}; roles are {', '.join(ROLES)}")
        if not isinstance(entry["password_hash"], str) or not entry["password_hash"].startswith("$argon2"):
            raise UsersError(f"{where}: user {key!r}: password_hash is not an argon2 hash")
        users[name] = User(name, entry["role"], entry["password_hash"])
    return users


def read_users(path: Path) -> dict[str, User]:
    """The users in `path`; UsersError names the file when it is missing, unreadable or malformed."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsersError(f"{path}: users file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersError(f"{path}: cannot be read ({exc.__class__.__name__})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsersError(f"{path}: not valid TOML ({exc})") from exc
    return parse_users(raw, str(path))


def render_users(users: Mapping[str, User]) -> str:
    # json.dumps quotes as TOML basic strings do for this text (names and roles are checked, hashes are ASCII).
    blocks = [f"[users.{json.dumps(u.name)}]\nrole = {json.dumps(u.role)}\n"
              f"password_hash = {json.dumps(u.password_hash)}\n" for u in sorted(users.values(), key=lambda u: u.name)]
    return HEADER + "".join("\n" + block for block in blocks)


def write_users(path: Path, users: Mapping[str, User]) -> None:
    """Replace `path` atomically with `users`, readable and writable by its owner only."""
    text = render_users(users)
    assert parse_users(tomllib.loads(text), str(path)) == dict(users)  # what is written reads back the same
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_user(path: Path, name: str, role: str, password: str, hasher: PasswordHasher | None = None) -> User:
    """Add `name`, or replace its role and password."""
    name, role = check_name(name), check_role(role)
    users = read_users(path) if path.exists() else {}
    users[name] = User(name, role, hash_password(password, hasher))
    write_users(path, users)
    return users[name]


def remove_user(path: Path, name: str) -> None:
    users = read_users(path)
    name = normalise_name(name)
    if name not in users:
        raise UsersError(f"{path}: no user {name!r} (users: {', '.join(sorted(users)) or 'none'})")
    del users[name]
    write_users(path, users)


# --- checking a password ----------------------------------------------------------------------------------------

_dummy_hashes: dict[str, str] = {}


def _dummy_hash(like: str | None) -> str:
    """A hash of a random password with the cost of `like` (a real user's hash): checking an unknown name
    takes as long as checking a known one."""
    try:
        parameters = PasswordHasher.from_parameters(extract_parameters(like)) if like else HASHER
    except InvalidHashError:
        parameters = HASHER
    key = f"{parameters.time_cost}:{parameters.memory_cost}:{parameters.parallelism}"
    if key not in _dummy_hashes:
        _dummy_hashes[key] = parameters.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def verify(users: Mapping[str, User], name: str, password: str) -> User | None:
    """The user when `password` is theirs, else None. An unknown name is checked against a dummy hash, so
    the time taken does not tell whether the name exists."""
    user = users.get(normalise_name(name))
    encoded = user.password_hash if user else _dummy_hash(next(iter(users.values())).password_hash if users else None)
    try:
        HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


# --- the command ------------------------------------------------------------------------------------------------

def read_password(stdin=None, prompt: Callable[[str], str] | None = None) -> str:
    """The first line of standard input when it is not a terminal; else asked twice (they must match)."""
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        line = stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    prompt = prompt or getpass.getpass
    first = prompt("Password: ")
    if prompt("Password again: ") != first:
        raise UsersError("the passwords do not match; nothing was changed")
    return first


def main(argv: list[str] | None = None, stdin=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.users", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user, or change one's role and password")
    add.add_argument("users_file", type=Path)
    add.add_argument("name")
    add.add_argument("--role", required=True, help=f"one of {', '.join(ROLES)}")
    remove = commands.add_parser("remove", help="remove a user")
    remove.add_argument("users_file", type=Path)
    remove.add_argument("name")
    listing = commands.add_parser("list", help="the users and their roles")
    listing.add_argument("users_file", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            name, role = check_name(args.name), check_role(args.role)  # before asking for a password
            existed = args.users_file.exists() and name in read_users(args.users_file)
            add_user(args.users_file, name, role, read_password(stdin))
            print(f"{'updated' if existed else 'added'} {name} ({role}) in {args.users_file}")
        elif args.command == "remove":
            remove_user(args.users_file, args.name)
            print(f"removed {normalise_name(args.name)} from {args.users_file}")
        else:
            for user in sorted(read_users(args.users_file).values(), key=lambda u: u.name):
                print(f"{user.name}\t{user.role}")
    except UsersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
