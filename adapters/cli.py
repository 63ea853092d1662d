"""``aas-server ingest csv|erp`` and ``aas-server lineage``, registered by ``aas_server.cli.build_parser``.

``ingest`` exit codes: 0 every record loaded or unchanged, 1 some records rejected (the others loaded; see the
reject report), 2 the run could not start or failed (invalid mapping, unreadable input, store unavailable; a new
run finishes the work).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from aas_server.errors import AASError, InvalidRequestError
from aas_server.settings import Settings
from aas_server.store import open_store

from . import lineage
from . import mapping as mappings
from .base import Source
from .csvfile.source import CsvSource
from .erp.flat import flat_source
from .erp.idoc import IdocSource
from .ingest import Summary, ingest
from .opcua import plc_sim

#: adapters each ``ingest`` kind accepts
KINDS = {"csv": ("csv", "erp-flat"), "erp": ("erp-flat", "erp-idoc")}
#: the shipped mappings
MAPPINGS = Path(__file__).parent / "mappings"


def register(commands: Any) -> None:
    """Add the ``ingest`` and ``lineage`` subcommands to the ``aas-server`` parser."""
    run = commands.add_parser("ingest", help="load CSV files or ERP extracts through a mapping (batch adapters)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("kind", choices=sorted(KINDS), help="csv: CSV files; erp: IDoc XML or flat ERP exports")
    run.add_argument("--mapping", "-m", required=True,
                     help=f"mapping YAML file (shipped ones in {MAPPINGS}); a bare name picks a shipped one")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="input files")
    run.add_argument("--rejects", help="reject report CSV (default: ./ingest-rejects/<mapping>-<time>.csv, written "
                                       "only if records are rejected)")
    run.add_argument("--summary-json", help="also write the run summary as JSON to this file")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.set_defaults(run=_ingest)

    show = commands.add_parser("lineage", help="show the lineage of an ingested element (or a whole submodel)")
    show.add_argument("submodel_id", help="the submodel id (not encoded)")
    show.add_argument("path", nargs="?", help="idShortPath of the element; without it every entry is listed")
    show.set_defaults(run=_lineage)

    gateway = commands.add_parser("gateway", help="keep submodel elements fresh from OPC UA PLCs (live adapter)",
                                  description="Runs until SIGTERM/SIGINT (exit code 0); 2: invalid mapping.")
    gateway.add_argument("--mapping", "-m", required=True,
                         help=f"OPC UA mapping YAML file; a bare name picks a shipped one ({MAPPINGS})")
    gateway.add_argument("--flush-ms", type=float, default=100.0,
                         help="milliseconds between batched store writes (default 100)")
    gateway.set_defaults(run=_gateway)

    sim = commands.add_parser("plc-sim", help="serve a simulated pump line PLC over OPC UA (demo, tests, benchmarks)",
                              description=plc_sim.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    plc_sim.add_arguments(sim)
    sim.set_defaults(run=plc_sim.run)


def resolve_mapping(name: str) -> Path:
    path = Path(name)
    if not path.exists() and (MAPPINGS / name).exists():
        return MAPPINGS / name
    if not path.exists() and (MAPPINGS / f"{name}.yaml").exists():
        return MAPPINGS / f"{name}.yaml"
    return path


def make_source(mapping: mappings.Mapping, path: str) -> Source:
    """The source the mapping's adapter reads ``path`` with."""
    if mapping.adapter == "erp-idoc":
        return IdocSource.from_options(path, mapping.source)
    if mapping.adapter == "erp-flat":
        return flat_source(path, mapping.source)
    return CsvSource.from_options(path, mapping.source)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    try:
        mapping = mappings.load(resolve_mapping(args.mapping))
    except mappings.MappingError as e:
        print(f"aas-server ingest: invalid mapping\n{e}", file=sys.stderr)
        return 2
    if mapping.adapter not in KINDS[args.kind]:
        print(f"aas-server ingest {args.kind}: mapping {mapping.name} is for adapter {mapping.adapter}; use "
              f"{'erp' if mapping.adapter.startswith('erp') else 'csv'}", file=sys.stderr)
        return 2
    missing = [p for p in args.inputs if not Path(p).is_file()]
    if missing:
        print(f"aas-server ingest: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    rejects = args.rejects or str(Path("ingest-rejects") / f"{mapping.name}-{stamp}.csv")
    store = open_store(settings)
    started = time.perf_counter()
    try:
        with tqdm(desc=f"ingest {mapping.name}", unit="rec", disable=args.quiet, file=sys.stderr,
                  mininterval=0.5) as bar:
            summary = ingest([make_source(mapping, p) for p in args.inputs], mapping, store, reject_report=rejects,
                             progress=bar.update)
    except (AASError, OSError) as e:
        print(f"aas-server ingest: run failed: {e} (run again to finish it)", file=sys.stderr)
        return 2
    finally:
        store.close()
    print_summary(summary, time.perf_counter() - started, sys.stdout)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary.as_json(), indent=2), encoding="utf-8")
    return summary.exit_code


def print_summary(summary: Summary, seconds: float, out: IO[str]) -> None:
    """The run's table: per input, then data quality per template, then the reject report."""
    rate = summary.records / seconds if seconds > 0 else 0.0
    print(f"run {summary.run_id} ({summary.mapping}, {summary.adapter}): {summary.status} in {seconds:.1f} s "
          f"({rate:,.0f} records/s)", file=out)
    width = max([len(Path(i.file).name) for i in summary.inputs] + [5])
    print(f"{'input':<{width}}  {'records':>9}  {'loaded':>9}  {'unchanged':>9}  {'rejected':>9}", file=out)
    for i in summary.inputs:
        print(f"{Path(i.file).name:<{width}}  {i.records:>9,}  {i.loaded:>9,}  {i.unchanged:>9,}  {i.rejected:>9,}",
              file=out)
    if len(summary.inputs) > 1:
        print(f"{'total':<{width}}  {summary.records:>9,}  {summary.loaded:>9,}  {summary.unchanged:>9,}  "
              f"{summary.rejected:>9,}", file=out)
    print(f"shells created {summary.shells_created}, submodels created {summary.submodels_created}, "
          f"elements written {summary.elements_written}", file=out)
    if summary.quality:
        print(f"{'data quality':<24}  {'submodels':>9}  {'w/ errors':>9}  {'w/ warn.':>9}", file=out)
        for name, q in sorted(summary.quality.items()):
            print(f"{name:<24}  {q.checked:>9,}  {q.with_errors:>9,}  {q.with_warnings:>9,}", file=out)
            for (severity, path, message), (count, _) in sorted(q.findings.items()):
                print(f"    {severity} {path or '(submodel)'}: {message} ({count} submodel{'s' * (count != 1)})",
                      file=out)
    print(f"reject report: {summary.reject_report or 'none (nothing rejected)'}", file=out)


def _gateway(args: argparse.Namespace, settings: Settings) -> int:
    from .opcua import gateway
    from .opcua import mapping as opcua_mapping

    try:
        mapping = opcua_mapping.load(resolve_mapping(args.mapping))
    except mappings.MappingError as e:
        print(f"aas-server gateway: invalid mapping\n{e}", file=sys.stderr)
        return 2
    return gateway.serve(mapping, settings, args.flush_ms / 1000)


def _lineage(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        if args.path:
            result: Any = lineage.lookup(store, args.submodel_id, args.path)
        else:
            result = lineage.load(store, args.submodel_id)
            if result is None:
                raise InvalidRequestError("no lineage recorded for this submodel", path=args.submodel_id)
    finally:
        store.close()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
