"""``aas-server``: serve, import, export and demo data. Configuration comes from ``Settings`` (env and file)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from adapters import cli as adapters_cli

from .errors import AASError
from .ports import audit_cli, masking_cli
from .registry import cli as registry_cli
from .services import backup, environment
from .settings import Settings
from .store import opened_store

logger = logging.getLogger("aas_server.cli")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from werkzeug.serving import run_simple

    from . import create_app

    if args.demo:
        _load_demo(settings)
    app = create_app(settings)
    print(f"aas-server on http://{args.host}:{args.port}/api/v3.1 (store: {settings.store_kind})", file=sys.stderr)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def _load_demo(settings: Settings) -> int:
    from .demo import build_demo_plant

    env = environment.from_sdk(*build_demo_plant())
    with opened_store(settings) as store:
        count = environment.import_environment(store, env)
    print(f"demo plant loaded: {count} identifiables, {len(env.files)} files", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        for path in args.files:
            env = environment.read_environment(Path(path).read_bytes(), str(path))
            with tqdm(total=len(env), desc=Path(path).name, unit="obj", disable=args.quiet) as bar:
                count = environment.import_environment(store, env, bar.update)
            print(f"{path}: {count} identifiables, {len(env.files)} files imported", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        env = environment.collect(store, None, None, include_concept_descriptions=True)
    if args.output == "-":
        environment.write_environment(env, args.format, sys.stdout.buffer)
    else:
        with open(args.output, "wb") as out:
            environment.write_environment(env, args.format, out)
    print(f"exported {len(env)} identifiables, {len(env.files)} files as {args.format}", file=sys.stderr)
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        with open(args.output, "wb") as out:
            summary = backup.backup(store, out)
    print(f"backed up {json.dumps(summary.as_json())} to {args.output}", file=sys.stderr)
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    with opened_store(settings) as store:
        with open(args.input, "rb") as source:
            summary = backup.restore(store, source)
    print(f"restored {json.dumps(summary.as_json())} from {args.input}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aas-server", description=__doc__)
    parser.add_argument("--data-dir", help="embedded store folder (AAS_DATA_DIR)")
    parser.add_argument("--mongodb-uri", help="MongoDB URI; selects the MongoDB store (AAS_MONGODB_URI)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the development server (use gunicorn in production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--demo", action="store_true", help="load the demo plant first")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="load the demo plant into the store")
    demo.set_defaults(run=lambda args, settings: _load_demo(settings))

    load = commands.add_parser("import", help="import AASX, JSON or XML files (upsert)")
    load.add_argument("files", nargs="+")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(run=_import)

    export = commands.add_parser("export", help="export the whole environment")
    export.add_argument("--format", choices=sorted(environment.FORMATS), default="aasx")
    export.add_argument("--output", "-o", default="-", help="file, or - for standard output")
    export.set_defaults(run=_export)

    save = commands.add_parser("backup", help="back up everything in the store (identifiables, registry, "
                                              "attachments, lineage, audit, budgets...) into one ZIP")
    save.add_argument("output", help="the backup file to write")
    save.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="restore a backup into an empty store")
    restore.add_argument("input", help="a file written by `aas-server backup`")
    restore.set_defaults(run=_restore)
    adapters_cli.register(commands)  # ingest csv|erp, lineage (batch adapters)
    registry_cli.register(commands)  # registry push|resync
    audit_cli.register(commands)  # audit list|show: disclosures of external ports
    masking_cli.register(commands)  # tokens reveal: the raw value behind a masking token
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.load(data_dir=args.data_dir, mongodb_uri=args.mongodb_uri)
        return int(args.run(args, settings))
    except AASError as e:
        print(f"aas-server: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
