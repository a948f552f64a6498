"""``mamcrawler``: one command per process role, so each piece can run on its own host.

``up`` runs the whole stack on one host (shared/devstack/supervisor.py); ``api``, ``worker <pool>``,
``beat``, ``flower`` and ``migrate`` run one piece; ``apikey create``, ``user create`` and
``config check`` are operator tools. Every command validates settings first and exits 2 with what to set.

The operator tools (``apikey``, ``user``, ``migrate``, ``config check``) run in another shell than ``up``:
when no URL is set they find the servers ``up`` started through MAMC_DATA_DIR/stack.json
(shared/devstack/stackstate.py), and say what to run when no stack is running. Explicit URLs always win.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.engine.pools import QUEUES
from shared.infra.errors import ConfigError


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")


def _use_running_stack(*, need_redis: bool) -> None:
    """Point this process at the servers of the running ``mamcrawler up`` when no URL is set.

    Explicit MAMC_DATABASE_URL / MAMC_REDIS_URL win: only unset ones are filled in from the
    stack's state file. Raises StackNotRunning (a ConfigError: exit 2 with what to run) when a
    needed URL is unset and no live stack owns the data dir.
    """
    from shared.devstack.stackstate import find_running_stack
    from shared.infra.settings import get_settings

    settings = get_settings()
    if settings.database_url and (settings.redis_url or not need_redis):
        return
    state = find_running_stack(settings.data_dir)
    for name, have, found in (("MAMC_DATABASE_URL", settings.database_url, state.database_url),
                              ("MAMC_REDIS_URL", settings.redis_url, state.redis_url)):
        if not have and found:
            os.environ[name] = found
    get_settings.cache_clear()
    settings = get_settings()
    for name, value in (("MAMC_DATABASE_URL", settings.database_url),
                        ("MAMC_REDIS_URL", settings.redis_url if need_redis else "-")):
        if not value:  # that stack was given this server by URL in its own environment
            raise ConfigError(f"the stack of pid {state.pid} ({state.path}) did not start its own server for "
                              f"{name}: set {name} here to the value that stack was started with")
    print(f"mamcrawler: using the stack `mamcrawler up` runs (pid {state.pid}, {state.path})", file=sys.stderr)


def cmd_api(_: argparse.Namespace) -> None:
    import uvicorn

    from shared.infra import db
    from shared.infra.settings import get_settings

    settings = get_settings()
    db.set_role("api")
    # The supervisor of several API processes kills a child that does not answer its health ping in
    # time; uvicorn's 5 s default killed children still importing the app on a loaded two-core box
    # (seen as endless "Child process died" while tests ran in parallel), so allow 30 s.
    uvicorn.run("api.app:create_app", factory=True, host=settings.api_host, port=settings.api_port,
                log_level=settings.log_level.lower(), access_log=False, loop="uvloop", http="httptools",
                timeout_graceful_shutdown=10, workers=settings.api_workers, timeout_worker_healthcheck=30)


def cmd_worker(ns: argparse.Namespace) -> None:
    from shared.engine.pools import pool_config
    from shared.infra import db
    from shared.infra.settings import get_settings

    settings = get_settings()
    cfg = pool_config(ns.pool)
    os.environ["MAMC_WORKER_POOL"] = cfg.queue
    # SIGTERM (docker stop, the supervisor) then means: soft shutdown (running tasks get
    # worker_soft_shutdown_timeout to finish), then unfinished ones are re-queued, not lost.
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    db.set_role(f"worker:{cfg.queue}")
    from workers.app import app, worker_name

    app.conf.worker_concurrency = ns.concurrency or cfg.concurrency
    _lower_priority(settings.worker_nice)
    app.conf.worker_prefetch_multiplier = cfg.prefetch_multiplier
    app.worker_main([
        "worker", "-Q", cfg.queue, "-c", str(app.conf.worker_concurrency),
        "--prefetch-multiplier", str(cfg.prefetch_multiplier), "-n", ns.name or worker_name(cfg.queue),
        "-E", "-O", "fair", "--pool", "prefork", "-l", settings.log_level,
        "--without-mingle", "--without-gossip",
    ])


def _lower_priority(increment: int, autogroup: Path = Path("/proc/self/autogroup")) -> None:
    """Run this worker (and its forked children) below the gateway's CPU priority.

    Why: the gateway answers people and machines in milliseconds; a pool's work is throughput and
    can wait a few ms for a core. Raising one's own nice value never needs privileges.

    On a kernel with autogroup (on by default in Debian's), the CPU is first shared between
    sessions, and nice values only rank processes inside one. ``mamcrawler up`` and the test
    stack start every service in a session of its own, so there the worker's nice value alone
    decided nothing against the gateway (measured: a worker at nice 10 still took ~9 ms of each
    10 ms while the gateway waited for a core, and the engine benchmark's live p99 swung
    6-22 ms). So a worker that leads its own session raises its session group's nice value as well;
    one that does not shares its group with whoever started it, and leaves the group alone.
    """
    if not increment:
        return
    os.nice(increment)
    if os.getsid(0) != os.getpid():
        return
    try:
        current = int(autogroup.read_text().split()[-1])  # "/autogroup-85 nice 0"
        autogroup.write_text(str(min(19, current + increment)))
    except FileNotFoundError:
        return  # a kernel built without autogroup: nice values alone rank the processes
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).warning("worker: could not lower this session's CPU priority "
                                            "(%s: %s); nice %+d applies inside it only",
                                            autogroup, type(exc).__name__, increment)


def cmd_beat(_: argparse.Namespace) -> None:
    from shared.engine.celery_app import make_celery
    from shared.engine.schedule import beat_schedule
    from shared.infra import db
    from shared.infra.settings import get_settings

    settings = get_settings()
    db.set_role("beat")
    app = make_celery(settings)
    app.conf.beat_schedule = beat_schedule(settings)
    app.Beat(loglevel=settings.log_level, scheduler="shared.engine.beat:LedgerScheduler",
             max_interval=settings.beat_max_loop_interval).run()


def cmd_flower(_: argparse.Namespace) -> None:
    from shared.infra.settings import get_settings

    settings = get_settings()
    password = settings.flower_password.get_secret_value() if settings.flower_password else None
    if not password:
        raise ConfigError("MAMC_FLOWER_PASSWORD is not set: Flower's UI and API are only served behind basic auth")
    # Through the environment, not argv: a password on the command line is visible in `ps`.
    os.environ["FLOWER_BASIC_AUTH"] = f"{settings.flower_user}:{password}"
    os.environ["FLOWER_UNAUTHENTICATED_API"] = "false"
    from shared.engine.celery_app import make_celery

    app = make_celery(settings)
    app.start(["flower", f"--port={settings.flower_port}", f"--address={settings.flower_host}",
               "--purge_offline_workers=60"])


def cmd_migrate(_: argparse.Namespace) -> None:
    _use_running_stack(need_redis=False)
    from shared.infra.migrate import upgrade


    upgrade()
    print("database is at the latest migration")


def cmd_apikey(ns: argparse.Namespace) -> None:
    from sqlalchemy import select

    from shared.infra.apikeys import create_api_key
    from shared.infra.db import session_scope
    from shared.models.jobs import ApiKey

    _use_running_stack(need_redis=False)
    with session_scope() as s:
        if s.scalar(select(ApiKey.id).where(ApiKey.name == ns.name)) is not None:
            raise ConfigError(f"an API key named {ns.name!r} already exists; choose another --name")
        key = create_api_key(s, ns.name)
    print(f"API key {ns.name!r} created; it is shown only once:", file=sys.stderr)
    print(key)


def cmd_apikey_list(_: argparse.Namespace) -> None:
    from shared.infra.apikeys import list_api_keys
    from shared.infra.db import session_scope

    _use_running_stack(need_redis=False)
    with session_scope() as s:
        keys = list_api_keys(s)
        print(f"{'NAME':<24} {'PREFIX':<14} {'CREATED':<20} REVOKED")
        for k in keys:
            revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "-"
            print(f"{k.name:<24} {k.prefix + '…':<14} {k.created_at.strftime('%Y-%m-%d %H:%M'):<20} {revoked}")


def cmd_apikey_revoke(ns: argparse.Namespace) -> None:
    from shared.infra.apikeys import revoke_api_key
    from shared.infra.db import session_scope

    _use_running_stack(need_redis=False)
    with session_scope() as s:
        if not revoke_api_key(s, ns.name):
            raise ConfigError(f"no active API key named {ns.name!r} (see `mamcrawler apikey list`)")
    print(f"API key {ns.name!r} revoked (gateways stop accepting it within 10 s)", file=sys.stderr)


def _read_password(given: str | None) -> str:
    """``--password``, else standard input: asked twice on a terminal, the first line of a pipe."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ConfigError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_create(ns: argparse.Namespace) -> None:
    from shared.infra.db import session_scope
    from shared.people.users import create_user

    password = _read_password(ns.password)
    _use_running_stack(need_redis=False)
    try:
        with session_scope() as s:
            create_user(s, ns.name, password)
    except ValueError as exc:  # a taken name, a bad name, a short password: say which
        raise ConfigError(str(exc)) from None
    print(f"person {ns.name!r} created; log in at the web UI (http://<api host>:<api port>/)", file=sys.stderr)


def cmd_user_password(ns: argparse.Namespace) -> None:
    from shared.infra.db import session_scope
    from shared.people.sessions import end_all
    from shared.people.users import list_users, set_password

    password = _read_password(ns.password)
    _use_running_stack(need_redis=False)
    try:
        with session_scope() as s:
            if not set_password(s, ns.name, password):
                raise ConfigError(f"no person named {ns.name!r} (see `mamcrawler user list`)")
            user = next(u for u in list_users(s) if u.name.lower() == ns.name.lower())
            ended = end_all(s, user.id)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    print(f"password of {ns.name!r} changed; {ended} session(s) logged out", file=sys.stderr)


def cmd_user_list(_: argparse.Namespace) -> None:
    from shared.infra.db import session_scope
    from shared.people.users import list_users

    _use_running_stack(need_redis=False)
    with session_scope() as s:
        print(f"{'NAME':<24} {'CREATED':<20} LAST LOGIN")
        for u in list_users(s):
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
            print(f"{u.name:<24} {u.created_at.strftime('%Y-%m-%d %H:%M'):<20} {last}")


def cmd_config_check(_: argparse.Namespace) -> None:
    from shared.devstack.stackstate import StackNotRunning
    from shared.infra.settings import get_settings

    settings = get_settings()
    if settings.embedded:
        try:
            _use_running_stack(need_redis=True)
            settings = get_settings()  # with the running stack's URLs, printed below
        except StackNotRunning as exc:
            # The embedded servers only exist while `mamcrawler up` runs; without them, check the
            # registry against URLs that are never contacted.
            os.environ.setdefault("MAMC_REDIS_URL", "redis://127.0.0.1:1/0")
            os.environ.setdefault("MAMC_DATABASE_URL", "postgresql+psycopg://unused@127.0.0.1:1/unused")
            get_settings.cache_clear()
            print(f"embedded mode: PostgreSQL and Redis are started by `mamcrawler up`; {exc}")
    from workers.app import app
    from workers.registry import check_registry

    check_registry(app, get_settings())
    redacted = settings.model_dump(mode="json")
    for key, value in list(redacted.items()):
        if value is not None and any(word in key for word in ("secret", "token", "password", "key", "dsn")):
            redacted[key] = "********"
    for key in ("database_url", "redis_url"):
        if redacted.get(key):
            redacted[key] = _redact_url(str(redacted[key]))
    for key in sorted(redacted):
        print(f"MAMC_{key.upper()}={redacted[key]}")
    print("configuration OK")


def _redact_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def cmd_up(_: argparse.Namespace) -> None:
    from shared.devstack.supervisor import run_stack

    sys.exit(run_stack())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mamcrawler", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run the whole stack on this host").set_defaults(fn=cmd_up)
    sub.add_parser("api", help="run the HTTP gateway").set_defaults(fn=cmd_api)
    w = sub.add_parser("worker", help="run one pool's worker")
    w.add_argument("pool", choices=QUEUES)
    w.add_argument("--concurrency", type=int, default=None)
    w.add_argument("--name", default=None, help="Celery node name (default POOL-RANDOM@HOST)")
    w.set_defaults(fn=cmd_worker)
    sub.add_parser("beat", help="run the scheduler (one active across hosts)").set_defaults(fn=cmd_beat)
    sub.add_parser("flower", help="run Flower behind basic auth").set_defaults(fn=cmd_flower)
    sub.add_parser("migrate", help="upgrade the database to the latest migration").set_defaults(fn=cmd_migrate)
    k = sub.add_parser("apikey", help="manage API keys")
    ksub = k.add_subparsers(dest="action", required=True)
    kc = ksub.add_parser("create", help="create a key; prints it as the last line")
    kc.add_argument("--name", required=True)
    kc.set_defaults(fn=cmd_apikey)
    ksub.add_parser("list", help="list keys (name, prefix, created, revoked)").set_defaults(fn=cmd_apikey_list)
    kr = ksub.add_parser("revoke", help="revoke a key by name")
    kr.add_argument("--name", required=True)
    kr.set_defaults(fn=cmd_apikey_revoke)
    u = sub.add_parser("user", help="manage the people who log in to the web UI")
    usub = u.add_subparsers(dest="action", required=True)
    for action, fn, text in (("create", cmd_user_create, "add a person"),
                             ("password", cmd_user_password, "set a person's password (logs them out)")):
        uc = usub.add_parser(action, help=f"{text}; the password from --password or standard input")
        uc.add_argument("--name", required=True)
        uc.add_argument("--password", default=None, help="else read from standard input (asked twice on a terminal)")
        uc.set_defaults(fn=fn)
    usub.add_parser("list", help="list people (name, created, last login)").set_defaults(fn=cmd_user_list)
    c = sub.add_parser("config", help="configuration tools")
    csub = c.add_subparsers(dest="action", required=True)
    csub.add_parser("check", help="validate settings and the task registry").set_defaults(fn=cmd_config_check)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    ns = parser().parse_args(argv)
    try:
        from shared.infra.settings import get_settings

        settings = get_settings()
        _logging(settings.log_level)
        if settings.sentry_dsn is not None:
            import sentry_sdk

            sentry_sdk.init(dsn=settings.sentry_dsn.get_secret_value(), send_default_pii=False)
        ns.fn(ns)
    except ConfigError as exc:
        print(f"mamcrawler: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
