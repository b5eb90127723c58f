"""Staff accounts from the command line.

    python -m desk.staff add agent3 --name 小张 --role 坐席 --department 物流部 [--password ...]
    python -m desk.staff list
    python -m desk.staff passwd agent3 [--password ...]
    python -m desk.staff disable agent3 | enable agent3
    python -m desk.staff logout agent3

Without --password the password is asked for twice (not echoed). A new password, disabling an account and
`logout` end every token the account holds (on every desk, within seconds for open console sockets).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from desk.auth import Role, StaffDirectory, StaffMember
from service.db import make_engine
from service.migrate import upgrade
from service.settings import Settings, get_settings
from service.tickets.policy import load_policy


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m desk.staff", description="manage the desk's staff accounts")
    commands = root.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 小王")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--department", required=True, help="one of the departments in ticketing.yml")
    add.add_argument("--password", help="asked for when left out")
    commands.add_parser("list", help="list the accounts")
    passwd = commands.add_parser("passwd", help="set a new password")
    passwd.add_argument("username")
    passwd.add_argument("--password", help="asked for when left out")
    for name in ("disable", "enable"):
        commands.add_parser(name, help=f"{name} an account").add_argument("username")
    commands.add_parser("logout", help="end every session (token) of an account").add_argument("username")
    return root


def ask_password() -> str:
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def run(args: argparse.Namespace, directory: StaffDirectory, settings: Settings) -> str:
    """Carry out one command; the line to print. ValueError for a refused one."""
    if args.command == "list":
        return "\n".join(f"{m.username}\t{m.name}\t{m.role.value}\t{m.department}\t{'active' if m.active else 'disabled'}"
                         for m in directory.all()) or "(no accounts)"
    if args.command == "add":
        departments = load_policy(settings.ticketing_config).supervisors
        if args.department not in departments:
            raise ValueError(f"--department must be one of {'、'.join(departments)}")
        member = StaffMember(args.username, args.name.strip(), Role(args.role), args.department)
        try:
            directory.add(member, args.password or ask_password())
        except IntegrityError as exc:
            raise ValueError(f"an account named {args.username} already exists") from exc
        return f"added {args.username} ({args.role}, {args.department})"
    if args.command == "passwd":
        if not directory.set_password(args.username, args.password or ask_password()):
            raise ValueError(f"no account named {args.username}")
        return f"password of {args.username} changed; its existing tokens no longer work"
    if args.command == "logout":
        if not directory.revoke_tokens(args.username):
            raise ValueError(f"no account named {args.username}")
        return f"every token of {args.username} revoked"
    if not directory.set_active(args.username, args.command == "enable"):
        raise ValueError(f"no account named {args.username}")
    if args.command == "disable":
        return f"{args.username} disabled; its existing tokens no longer work"
    return f"{args.username} enabled"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        print(run(args, StaffDirectory(engine), settings))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
