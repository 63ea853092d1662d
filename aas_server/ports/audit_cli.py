"""``aas-server audit list|show``: read the disclosure audit of external ports from the store (JSON lines)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..settings import Settings
from ..store import opened_store
from ..store.base import PageRequest
from . import audit


def register(commands: Any) -> None:
    parser = commands.add_parser("audit", help="what external ports disclosed, to whom, when")
    actions = parser.add_subparsers(dest="audit_command", required=True)
    listing = actions.add_parser("list", help="audit records oldest first, one JSON object per line")
    listing.add_argument("--since", help="ISO 8601 time (UTC unless a zone is given)")
    listing.add_argument("--partner", help="only records of this BPN or subject")
    listing.add_argument("--limit", type=int, default=100, help="at most this many records (default 100)")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="one record by the release id of an X-Release-Id header")
    show.add_argument("release_id")
    show.set_defaults(run=_show)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        after = audit.since_key(args.since) if args.since else None
        shown = 0
        while shown < args.limit:
            page = audit.list_records(store, PageRequest(min(500, args.limit), after))
            for record in page.items:
                if args.partner in (None, record.get("bpn"), record.get("subject")) and shown < args.limit:
                    print(json.dumps(record, ensure_ascii=False))
                    shown += 1
            if page.next_after is None:
                break
            after = page.next_after
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        json.dump(audit.get_record(store, args.release_id), sys.stdout, indent=2, ensure_ascii=False)
        print()
    return 0
