"""A simulated PLC: an asyncua server serving the pump line of ``plc_model`` (and, for benchmarks, N busy nodes).

Used by ``aas-server plc-sim`` (the demo of ``make run``), by the OPC UA tests and by the benchmarks, so that
everything the gateway, write-back and operations do is exercised against a real OPC UA server.

Address space (namespace ``urn:aas-server:plc-sim``, index 2), one object per pump under ``Objects/PumpLine``::

    ns=2;s=Pump1.State                "Stopped" | "Starting" | "Running" | "Fault"   (String)
    ns=2;s=Pump1.FaultReason          why the pump tripped, "" otherwise              (String)
    ns=2;s=Pump1.Speed                rpm; BearingTemperature, MotorTemperature (degC);
                                      InletPressure, OutletPressure (bar); Flow (m3/h); OperatingHours (h)  (Double)
    ns=2;s=Pump1.StartCount           (UInt32)
    ns=2;s=Pump1.SpeedSetpoint        writable, 0..3600 rpm   (Double)
    ns=2;s=Pump1.PressureLimit        writable, 1..25 bar     (Double; an outlet pressure above it trips the pump)
    ns=2;s=Pump1.Start                method (TargetSpeed: Double) -> (Accepted: Boolean); a faulted pump: BadInvalidState
    ns=2;s=Pump1.Stop / Reset         methods without arguments (Reset clears a Fault)
    ns=2;s=Pump1.SetSpeed             method (Rpm: Double) -> (Accepted: Boolean, PreviousRpm: Double)
    ns=2;s=Pump1.Flush                method (Seconds: Double) -> (Completed: Boolean); takes that long
    ns=2;s=Bench.N00000 ...           with ``bench_nodes``: Doubles that all change every ``bench_interval_s``

A write outside a setpoint's range is refused with ``BadOutOfRange``, a write of the wrong type with
``BadTypeMismatch`` (asyncua's own check), a write to a read-only node with ``BadUserAccessDenied``.
Every value carries the source timestamp of the moment it changed.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import hmac
import logging
import random
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Self

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AttributeService
from cryptography.x509.oid import ExtendedKeyUsageOID

from .plc_model import LIMITS, Pump, pump_line

logger = logging.getLogger(__name__)

NAMESPACE = "urn:aas-server:plc-sim"
SECURITY_MODES = ("None", "Basic256Sha256")
#: process values of a pump: node name -> (attribute of Pump, OPC UA type)
VALUES = {
    "State": ("state", ua.VariantType.String),
    "FaultReason": ("fault_reason", ua.VariantType.String),
    "Speed": ("speed", ua.VariantType.Double),
    "SpeedSetpoint": ("speed_setpoint", ua.VariantType.Double),
    "PressureLimit": ("pressure_limit", ua.VariantType.Double),
    "InletPressure": ("inlet_pressure", ua.VariantType.Double),
    "OutletPressure": ("outlet_pressure", ua.VariantType.Double),
    "Flow": ("flow", ua.VariantType.Double),
    "BearingTemperature": ("bearing_temperature", ua.VariantType.Double),
    "MotorTemperature": ("motor_temperature", ua.VariantType.Double),
    "OperatingHours": ("operating_hours", ua.VariantType.Double),
    "StartCount": ("start_count", ua.VariantType.UInt32),
}


@dataclasses.dataclass(frozen=True)
class PlcSimConfig:
    """How the simulated PLC listens and what it serves."""

    host: str = "127.0.0.1"
    #: 0 picks a free port once (kept across restarts)
    port: int = 4840
    path: str = "/plc-sim"
    #: ``None`` or ``Basic256Sha256`` (Sign and SignAndEncrypt endpoints, with a generated self-signed cert)
    security: str = "None"
    #: folder of the generated server certificate and key; empty: a temporary folder
    cert_dir: str = ""
    #: when both are set, only this user may connect (anonymous sessions are refused)
    username: str = ""
    password: str = ""
    pumps: int = 3
    #: how many pumps run from the start (the others are stopped)
    running: int = 2
    #: seconds between process updates
    interval_s: float = 0.2
    #: benchmark nodes ``Bench.N00000``..; 0 for none
    bench_nodes: int = 0
    bench_interval_s: float = 0.1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}")
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together")


def node_id(name: str) -> str:
    """The NodeId string of a simulator node, e.g. ``node_id("Pump1.Speed")``."""
    return f"ns=2;s={name}"


def bench_node_names(count: int) -> list[str]:
    return [f"Bench.N{i:05d}" for i in range(count)]


class PlcSimulator:
    """The simulated PLC, run in a background thread (tests, benchmarks) or in the foreground (CLI).

    ``with PlcSimulator(PlcSimConfig(port=0)) as plc: ... plc.url ...``; ``stop()`` and ``start()`` again
    (or ``restart()``) bring it back on the same port with the process state it had, like a PLC reboot.
    """

    def __init__(self, config: PlcSimConfig | None = None) -> None:
        config = config or PlcSimConfig()
        if config.port == 0:
            config = dataclasses.replace(config, port=free_port(config.host))
        self.config = config
        self.pumps = pump_line(config.pumps, config.running)
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()  # guards the pumps between the server loop and test threads
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._cert_dir = config.cert_dir or tempfile.mkdtemp(prefix="plc-sim-pki-")

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.config.host}:{self.config.port}{self.config.path}"

    @property
    def certificate_path(self) -> Path:
        """The server certificate (DER), for clients that pin it; exists once started with security."""
        return Path(self._cert_dir) / "server-cert.der"

    def pump(self, name: str) -> Pump:
        return next(p for p in self.pumps if p.name == name)

    # -- background thread ----------------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> PlcSimulator:
        """Serve in a background thread; returns once clients can connect."""
        if self._thread is not None:
            raise RuntimeError("the simulator is running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve(ready.set))
            except Exception as e:  # noqa: BLE001 - reported to start(); a thread cannot raise into its starter
                failure.append(e)
                ready.set()

        self._thread = threading.Thread(target=run, name=f"plc-sim-{self.config.port}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s) or failure:
            self.stop()
            raise RuntimeError(f"simulated PLC did not start: {failure[0] if failure else 'timeout'}")
        return self

    def stop(self) -> None:
        """Close the server (clients see the connection drop) and wait for the thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server -----------------------------------------------------------------------------------------

    async def serve(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Run the server until :meth:`stop` (or cancellation)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await self._build_server()
        nodes = await _PumpLineNodes.create(server, self)
        bench = await _BenchNodes.create(server, self.config.bench_nodes) if self.config.bench_nodes else None
        async with server:
            tasks = [asyncio.create_task(self._every(self.config.interval_s, lambda: nodes.tick(server)))]
            if bench is not None:
                tasks.append(asyncio.create_task(self._every(self.config.bench_interval_s, lambda: bench.tick(server))))
            logger.info("simulated PLC on %s (%d pumps, %d bench nodes)", self.url, len(self.pumps),
                        self.config.bench_nodes)
            on_ready()
            try:
                await self._stopping.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, interval_s: float, tick: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await tick()
            next_at = max(next_at + interval_s, loop.time())
            await asyncio.sleep(next_at - loop.time())

    async def _build_server(self) -> Server:
        config = self.config
        server = Server(user_manager=_PasswordUserManager(config.username, config.password)
                        if config.username else None)
        await server.init()
        server.iserver.attribute_service = _SetpointWriteService(server.iserver.aspace, self)
        server.set_endpoint(self.url)
        server.set_server_name("aas-server simulated PLC (pump line)")
        await server.set_application_uri(f"{NAMESPACE}:server")
        if config.username:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        if config.security == "Basic256Sha256":
            key_file = Path(self._cert_dir) / "server-key.pem"
            await setup_self_signed_certificate(
                key_file, self.certificate_path, f"{NAMESPACE}:server", config.host,
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "plc-sim"},
            )
            await server.load_certificate(str(self.certificate_path))
            await server.load_private_key(str(key_file))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                                        ua.SecurityPolicyType.Basic256Sha256_Sign])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        if await server.register_namespace(NAMESPACE) != 2:
            raise RuntimeError("the simulator's namespace must have index 2")
        return server


class _PumpLineNodes:
    """The pumps' variables and methods, and the tick that copies the model into them."""

    def __init__(self, plc: PlcSimulator) -> None:
        self.plc = plc
        self._written: dict[str, Any] = {}

    @classmethod
    async def create(cls, server: Server, plc: PlcSimulator) -> _PumpLineNodes:
        self = cls(plc)
        line = await server.nodes.objects.add_folder(node_id("PumpLine"), "2:PumpLine")
        for pump in plc.pumps:
            obj = await line.add_object(node_id(pump.name), f"2:{pump.name}")
            for name, (attribute, vtype) in VALUES.items():
                variable = await obj.add_variable(node_id(f"{pump.name}.{name}"), f"2:{name}",
                                                  ua.Variant(_typed(getattr(pump, attribute), vtype), vtype))
                if name in LIMITS:
                    await variable.set_writable()
            await obj.add_method(node_id(f"{pump.name}.Start"), "2:Start", self._start(pump),
                                 [_argument("TargetSpeed", ua.VariantType.Double, "rpm to ramp to, 0..3600")],
                                 [_argument("Accepted", ua.VariantType.Boolean, "false: target speed out of range")])
            for name, handler in (("Stop", Pump.stop), ("Reset", Pump.reset)):
                await obj.add_method(node_id(f"{pump.name}.{name}"), f"2:{name}", self._command(pump, handler), [], [])
            await obj.add_method(node_id(f"{pump.name}.SetSpeed"), "2:SetSpeed", self._set_speed(pump),
                                 [_argument("Rpm", ua.VariantType.Double, "speed setpoint in rpm, 0..3600")],
                                 [_argument("Accepted", ua.VariantType.Boolean, "false: out of range or in Fault"),
                                  _argument("PreviousRpm", ua.VariantType.Double, "the setpoint before")])
            await obj.add_method(node_id(f"{pump.name}.Flush"), "2:Flush", self._flush(pump),
                                 [_argument("Seconds", ua.VariantType.Double, "flushing time, 0..600 s")],
                                 [_argument("Completed", ua.VariantType.Boolean, "the flush ran to its end")])
        return self

    async def tick(self, server: Server) -> None:
        now = datetime.datetime.now(datetime.UTC)
        with self.plc._lock:
            for pump in self.plc.pumps:
                pump.step(self.plc.config.interval_s, self.plc._rng)
            changed = {}
            for pump in self.plc.pumps:
                for name, (attribute, vtype) in VALUES.items():
                    value = _typed(getattr(pump, attribute), vtype)
                    key = f"{pump.name}.{name}"
                    if self._written.get(key) != value:
                        changed[key] = ua.Variant(value, vtype)
                        self._written[key] = value
        for key, variant in changed.items():
            await server.write_attribute_value(ua.NodeId.from_string(node_id(key)),
                                               ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now))

    def _command(self, pump: Pump, command: Callable[[Pump], str]) -> Callable[..., Awaitable[Any]]:
        async def call(parent: ua.NodeId, *args: ua.Variant) -> Any:
            if args:
                return ua.StatusCode(ua.StatusCodes.BadTooManyArguments)
            with self.plc._lock:
                refusal = command(pump)
            if refusal:
                logger.info("%s refused: %s", command.__name__, refusal)
                return ua.StatusCode(ua.StatusCodes.BadInvalidState)
            return []
        return call

    def _start(self, pump: Pump) -> Callable[..., Awaitable[Any]]:
        async def start(rpm: float) -> Any:
            low, high = LIMITS["SpeedSetpoint"]
            if not low <= rpm <= high:
                return [ua.Variant(False, ua.VariantType.Boolean)]
            with self.plc._lock:
                refusal = pump.start()
                if not refusal:
                    pump.speed_setpoint = rpm
            if refusal:
                logger.info("Start refused: %s", refusal)
                return ua.StatusCode(ua.StatusCodes.BadInvalidState)
            return [ua.Variant(True, ua.VariantType.Boolean)]
        return _taking_double(start)

    def _set_speed(self, pump: Pump) -> Callable[..., Awaitable[Any]]:
        async def set_speed(rpm: float) -> Any:
            low, high = LIMITS["SpeedSetpoint"]
            with self.plc._lock:
                previous = pump.speed_setpoint
                accepted = low <= rpm <= high and pump.state != "Fault"
                if accepted:
                    pump.speed_setpoint = rpm
            return [ua.Variant(accepted, ua.VariantType.Boolean), ua.Variant(previous, ua.VariantType.Double)]
        return _taking_double(set_speed)

    def _flush(self, pump: Pump) -> Callable[..., Awaitable[Any]]:
        async def flush(seconds: float) -> Any:
            if not 0 <= seconds <= 600:
                return ua.StatusCode(ua.StatusCodes.BadOutOfRange)
            await asyncio.sleep(seconds)
            return [ua.Variant(pump.state != "Fault", ua.VariantType.Boolean)]
        return _taking_double(flush)


class _BenchNodes:
    """``count`` Double nodes that all change on every tick (the gateway throughput benchmark's load)."""

    def __init__(self, ids: list[ua.NodeId]) -> None:
        self.ids = ids
        self.ticks = 0

    @classmethod
    async def create(cls, server: Server, count: int) -> _BenchNodes:
        folder = await server.nodes.objects.add_folder(node_id("Bench"), "2:Bench")
        ids = []
        for name in bench_node_names(count):
            variable = await folder.add_variable(node_id(name), f"2:{name.split('.')[1]}", 0.0)
            ids.append(variable.nodeid)
        return cls(ids)

    async def tick(self, server: Server) -> None:
        self.ticks += 1
        now = datetime.datetime.now(datetime.UTC)
        for i, nid in enumerate(self.ids):
            value = ua.Variant(self.ticks + i / 100000.0, ua.VariantType.Double)
            await server.write_attribute_value(nid, ua.DataValue(value, SourceTimestamp=now, ServerTimestamp=now))


_ADMIN = User(role=UserRole.Admin)  # the default user of asyncua's write service (its internal writes)


class _SetpointWriteService(AttributeService):
    """asyncua's write service with the PLC's own checks: setpoints outside their range are refused with
    ``BadOutOfRange``, accepted setpoint writes reach the pump model (which the next tick publishes) and carry
    the source timestamp of the write."""

    def __init__(self, aspace: Any, plc: PlcSimulator) -> None:
        super().__init__(aspace)
        self.plc = plc

    async def write(self, params: ua.WriteParameters, user: User = _ADMIN) -> list[ua.StatusCode]:
        now = datetime.datetime.now(datetime.UTC)
        items = [dataclasses.replace(item, Value=dataclasses.replace(item.Value, SourceTimestamp=now))
                 if item.Value is not None and item.Value.SourceTimestamp is None else item
                 for item in params.NodesToWrite]  # a PLC stamps the moment a value changed
        refused = {i: ua.StatusCode(ua.StatusCodes.BadOutOfRange) for i, item in enumerate(items)
                   if _out_of_range(item)}
        allowed = [item for i, item in enumerate(items) if i not in refused]
        done = iter(await super().write(ua.WriteParameters(NodesToWrite=allowed), user) if allowed else [])
        results = [refused[i] if i in refused else next(done) for i in range(len(items))]
        with self.plc._lock:
            for item, status in zip(items, results):
                setpoint = _setpoint_of(item.NodeId)
                if setpoint and status.is_good() and item.AttributeId == ua.AttributeIds.Value:
                    pump, name = setpoint
                    setattr(self.plc.pump(pump), VALUES[name][0], float(item.Value.Value.Value))
        return results


def _out_of_range(item: ua.WriteValue) -> bool:
    setpoint = _setpoint_of(item.NodeId)
    value = item.Value.Value.Value if item.Value is not None and item.Value.Value is not None else None
    if setpoint is None or item.AttributeId != ua.AttributeIds.Value or isinstance(value, bool) \
            or not isinstance(value, float | int):
        return False
    low, high = LIMITS[setpoint[1]]
    return not low <= value <= high


def _setpoint_of(nid: ua.NodeId) -> tuple[str, str] | None:
    """``(pump, setpoint name)`` of a writable setpoint node, else ``None``."""
    if nid.NamespaceIndex != 2 or not isinstance(nid.Identifier, str) or "." not in nid.Identifier:
        return None
    pump, name = nid.Identifier.rsplit(".", 1)
    return (pump, name) if name in LIMITS and pump.startswith("Pump") else None


class _PasswordUserManager:
    """One user with a password; anything else (and anonymous, refused by the endpoint) does not get in."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if hmac.compare_digest((username or "").encode(), self.username.encode()) and \
                hmac.compare_digest((password or "").encode(), self.password.encode()):
            return User(role=UserRole.User, name=username)
        return None


def _argument(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    return ua.Argument(Name=name, DataType=ua.NodeId(vtype.value), ValueRank=-1,
                       Description=ua.LocalizedText(description))


def _taking_double(method: Callable[[float], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """An OPC UA method callback around ``method``, which takes one Double input: a call without it, with more,
    or with another type is refused with the matching Bad status."""
    async def call(parent: ua.NodeId, *args: ua.Variant) -> Any:
        if not args:
            return ua.StatusCode(ua.StatusCodes.BadArgumentsMissing)
        if len(args) > 1:
            return ua.StatusCode(ua.StatusCodes.BadTooManyArguments)
        value = args[0].Value if isinstance(args[0], ua.Variant) else args[0]
        if isinstance(value, bool) or not isinstance(value, float | int):
            return ua.StatusCode(ua.StatusCodes.BadTypeMismatch)
        return await method(float(value))
    return call


def _typed(value: Any, vtype: ua.VariantType) -> Any:
    if vtype == ua.VariantType.Double:
        return round(float(value), 3)
    if vtype == ua.VariantType.UInt32:
        return int(value)
    return value


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aas-server plc-sim`` (and ``python -m adapters.opcua.plc_sim``)."""
    defaults = PlcSimConfig()
    parser.add_argument("--host", default=defaults.host, help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="TCP port (default %(default)s; 0: free)")
    parser.add_argument("--path", default=defaults.path, help="endpoint path (default %(default)s)")
    parser.add_argument("--security", choices=SECURITY_MODES, default=defaults.security,
                        help="Basic256Sha256: signed and encrypted endpoints with a self-signed certificate")
    parser.add_argument("--cert-dir", default="", help="where the server certificate is kept (default: a temp dir)")
    parser.add_argument("--username", default="", help="require this user (with --password); anonymous refused")
    parser.add_argument("--password", default="", help="the user's password")
    parser.add_argument("--pumps", type=int, default=defaults.pumps, help="pumps in the line (default %(default)s)")
    parser.add_argument("--interval", type=float, default=defaults.interval_s,
                        help="seconds between process updates (default %(default)s)")
    parser.add_argument("--bench-nodes", type=int, default=0, help="also serve N benchmark nodes Bench.N00000..")
    parser.add_argument("--bench-interval", type=float, default=defaults.bench_interval_s,
                        help="seconds between changes of all benchmark nodes (default %(default)s)")


def run(args: argparse.Namespace, settings: object = None) -> int:
    """Serve in the foreground until SIGINT/SIGTERM."""
    try:
        config = PlcSimConfig(host=args.host, port=args.port, path=args.path, security=args.security,
                              cert_dir=args.cert_dir, username=args.username, password=args.password,
                              pumps=args.pumps, running=min(2, args.pumps), interval_s=args.interval,
                              bench_nodes=args.bench_nodes, bench_interval_s=args.bench_interval)
    except ValueError as e:
        print(f"aas-server plc-sim: {e}", file=sys.stderr)
        return 2
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # its INFO lines narrate every node it creates
    plc = PlcSimulator(config)
    print(f"simulated PLC on {plc.url}", file=sys.stderr)

    async def serve_until_signal() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, plc.stop)
        await plc.serve()

    asyncio.run(serve_until_signal())
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main_parser = argparse.ArgumentParser(prog="python -m adapters.opcua.plc_sim", description=__doc__,
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(main_parser)
    sys.exit(run(main_parser.parse_args()))
