"""The physics and state machine of the simulated pump line, without any OPC UA: ``plc_sim`` serves it.

Kept apart from the server so the behaviour (ramps, affinity laws, trips) reads as one small model and the
server module only deals with nodes, writes and methods.

A centrifugal pump follows the affinity laws: flow grows with speed, head (outlet minus inlet pressure) with
speed squared. Temperatures settle towards a load-dependent level with a first-order lag. An outlet pressure
above the pressure limit trips the pump into ``Fault`` (a pressure switch); ``Reset`` clears it.
"""
from __future__ import annotations

import dataclasses
import random

#: states of the pump state machine, in the order of their numeric codes
STATES = ("Stopped", "Starting", "Running", "Fault")
#: writable setpoints and the range the PLC accepts for each (inclusive)
LIMITS = {"SpeedSetpoint": (0.0, 3600.0), "PressureLimit": (1.0, 25.0)}

NOMINAL_RPM = 2950.0
NOMINAL_FLOW_M3H = 120.0
NOMINAL_HEAD_BAR = 6.0
AMBIENT_C = 24.0
#: rpm per second while a pump ramps up or down
RAMP_RPM_S = 1500.0
#: seconds a temperature needs to cover 63 % of the way to its target (sped up for a lively demo)
THERMAL_TAU_S = 30.0


@dataclasses.dataclass
class Pump:
    """One pump's process values, as the PLC holds them."""

    name: str
    state: str = "Stopped"
    fault_reason: str = ""
    speed_setpoint: float = NOMINAL_RPM
    pressure_limit: float = 16.0
    speed: float = 0.0
    inlet_pressure: float = 1.2
    outlet_pressure: float = 1.2
    flow: float = 0.0
    bearing_temperature: float = AMBIENT_C
    motor_temperature: float = AMBIENT_C
    operating_hours: float = 0.0
    start_count: int = 0

    # -- commands (the PLC's methods); each returns "" when done, else why it was refused ----------------

    def start(self) -> str:
        if self.state == "Fault":
            return f"{self.name} is in Fault ({self.fault_reason}); Reset it first"
        if self.state in ("Starting", "Running"):
            return ""
        self.state = "Starting"
        self.start_count += 1
        return ""

    def stop(self) -> str:
        if self.state != "Fault":
            self.state = "Stopped"
        return ""

    def reset(self) -> str:
        if self.state == "Fault":
            self.state, self.fault_reason = "Stopped", ""
        return ""

    # -- simulation ---------------------------------------------------------------------------------------

    def step(self, dt_s: float, rng: random.Random) -> None:
        """Advance the process by ``dt_s`` seconds."""
        target = self.speed_setpoint if self.state in ("Starting", "Running") else 0.0
        delta = max(-RAMP_RPM_S * dt_s, min(RAMP_RPM_S * dt_s, target - self.speed))
        self.speed = max(0.0, self.speed + delta)
        if self.state == "Starting" and abs(self.speed - target) < 0.02 * max(target, 1.0):
            self.state = "Running"
        ratio = self.speed / NOMINAL_RPM
        self.inlet_pressure = 1.2 + rng.gauss(0.0, 0.01)
        self.flow = max(0.0, NOMINAL_FLOW_M3H * ratio + rng.gauss(0.0, 0.4) * (ratio > 0))
        self.outlet_pressure = self.inlet_pressure + NOMINAL_HEAD_BAR * ratio ** 2 + rng.gauss(0.0, 0.02)
        lag = min(1.0, dt_s / THERMAL_TAU_S)
        self.motor_temperature += (AMBIENT_C + 40.0 * ratio ** 2 - self.motor_temperature) * lag
        self.motor_temperature += rng.gauss(0.0, 0.05)
        self.bearing_temperature += (AMBIENT_C + 25.0 * ratio - self.bearing_temperature) * lag
        self.bearing_temperature += rng.gauss(0.0, 0.05)
        if self.speed > 0:
            self.operating_hours += dt_s / 3600.0
        if self.state in ("Starting", "Running") and self.outlet_pressure > self.pressure_limit:
            self.state = "Fault"
            self.fault_reason = f"outlet pressure {self.outlet_pressure:.2f} bar above limit {self.pressure_limit:g} bar"


def pump_line(count: int, running: int) -> list[Pump]:
    """``count`` pumps named Pump1..N with some history; the first ``running`` of them start running."""
    pumps = []
    for i in range(count):
        pump = Pump(f"Pump{i + 1}", operating_hours=8000.0 + 1234.5 * i, start_count=310 + 17 * i)
        if i < running:
            pump.state, pump.speed = "Running", NOMINAL_RPM
            pump.bearing_temperature, pump.motor_temperature = AMBIENT_C + 25.0, AMBIENT_C + 40.0
        pumps.append(pump)
    return pumps
