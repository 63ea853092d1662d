"""``aas-server registry push`` and ``aas-server registry resync``."""
from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from ..settings import Settings
from ..store import opened_store
from .outbox import Pusher
from .sync import resync


def register(commands: Any) -> None:
    registry = commands.add_parser("registry", help="registry descriptors: push to an external registry, resync")
    actions = registry.add_subparsers(dest="registry_command", required=True)
    push = actions.add_parser("push", help="push queued shell descriptors to AAS_REGISTRY_PUSH_URL (one process)")
    push.add_argument("--once", action="store_true", help="one round over the outbox, then exit (1 if any failed)")
    push.set_defaults(run=_push)
    again = actions.add_parser("resync", help="re-derive every descriptor and asset link from the repository")
    again.set_defaults(run=_resync)


def _push(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        pusher = Pusher(store, settings)
        if args.once:
            pushed, failed = pusher.push_due()
            print(f"registry push: {pushed} pushed, {failed} failed", file=sys.stderr)
            return 1 if failed else 0
        pusher.run(threading.Event())
        return 0


def _resync(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        count = resync(store)  # type: ignore[arg-type]
    print(f"registry resync: {count} shell descriptors derived", file=sys.stderr)
    return 0
