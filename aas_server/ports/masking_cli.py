"""``aas-server tokens reveal TOKEN``: the partner and raw value behind a token of a ``tokenize`` rule.

Tokens are reversible internally only: this command reads the token vault from the store directly (no port serves
it), so it is for whoever operates the server, e.g. to follow up a partner's complaint quoting a token.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..settings import Settings
from ..store import opened_store
from .masking_pseudonyms import EVERY_PARTNER, reveal_token


def register(commands: Any) -> None:
    parser = commands.add_parser("tokens", help="the token vault of tokenize masking rules (internal)")
    actions = parser.add_subparsers(dest="tokens_command", required=True)
    reveal = actions.add_parser("reveal", help="the partner and raw value behind a token, as one JSON object")
    reveal.add_argument("token", help="a token as partners see it (tok_...)")
    reveal.set_defaults(run=_reveal)


def _reveal(args: argparse.Namespace, settings: Settings) -> int:
    """:raises NotFoundError: no such token in the vault (exit status 2)"""
    with opened_store(settings) as store:
        origin = reveal_token(store, args.token)
    partner = None if origin.partner == EVERY_PARTNER else origin.partner  # a key shared by every partner
    print(json.dumps({"token": args.token, "partner": partner, "value": origin.value}, ensure_ascii=False))
    return 0
