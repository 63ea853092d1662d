"""AAS Operations carried out by OPC UA methods, through the operation-invocation registry.

A mapped Operation's ``invoke`` and ``invoke-async`` call its method on the PLC: the Operation's input variables,
in their declared order, become the method's input arguments (cast to the argument types the method declares in
its ``InputArguments``), and the method's output arguments, in order, become the Operation's output variables
(as lexical values of their valueTypes). Names are not compared: OPC UA and AAS name things differently.

Errors are the Operation's result (``Failed`` with a message), as for every handler: an Operation whose variables
do not match the method, a missing input, a method or object the PLC does not know, a Bad status from the call (by
name, e.g. ``BadInvalidState``) or an unreachable PLC. No answer within the binding's ``timeout_s`` gives
``Timeout``. Invocations come from internal ports only (the port dispatcher answers 404 elsewhere).
"""
from __future__ import annotations

import logging
from typing import Any

from asyncua import Client, ua
from asyncua.common.methods import call_method_full

from aas_server.errors import InvalidRequestError, OperationError
from aas_server.services.operations import OperationCall, OperationOutcome
from aas_server.store.base import JSON

from .mapping import MethodBinding
from .plc_link import PlcLink
from .variants import to_lexical, to_variant, variant_type
from .writeback import refusal

logger = logging.getLogger(__name__)


class PlcMethodHandler:
    """Invocation handler of one mapped Operation (see the module docstring)."""

    def __init__(self, binding: MethodBinding, link: PlcLink) -> None:
        self.binding = binding
        self.link = link
        self._signature: tuple[list[ua.Argument], list[ua.Argument]] | None = None

    def __call__(self, call: OperationCall) -> OperationOutcome:
        binding = self.binding
        declared_in = [v["value"] for v in call.operation.get("inputVariables") or []]
        declared_out = [v["value"] for v in call.operation.get("outputVariables") or []]
        try:
            outputs = self.link.run(lambda client: self._call(client, declared_in, call.inputs),
                                    binding.timeout_s, f"method {binding.method_node}")
        except ua.UaStatusCodeError as e:
            raise refusal(e, f"PLC method {binding.method_node} on {binding.object_node} failed",
                          binding.operation_path) from e
        if len(outputs) != len(declared_out):
            raise OperationError(f"method {binding.method_node} returned {len(outputs)} output arguments, the "
                                      f"Operation declares {len(declared_out)} output variables")
        logger.info("operation %s: method %s returned %r", binding.operation_path, binding.method_node, outputs)
        return OperationOutcome(outputs={v["idShort"]: _with_value(v, value) for v, value in zip(declared_out, outputs)})

    async def _call(self, client: Client, declared: list[JSON], given: dict[str, JSON]) -> list[Any]:
        inputs, _ = await self._method_signature(client)
        if len(declared) != len(inputs):
            raise OperationError(f"the Operation declares {len(declared)} input variables, method "
                                      f"{self.binding.method_node} takes {len(inputs)} input arguments")
        arguments = []
        for variable, argument in zip(declared, inputs):
            name = variable["idShort"]
            if name not in given:
                raise InvalidRequestError(f"input variable {name} is missing", path="inputArguments")
            arguments.append(to_variant(given[name].get("value"), variant_type(argument.DataType), name))
        result = await call_method_full(client.get_node(self.binding.object_node),
                                        ua.NodeId.from_string(self.binding.method_node), *arguments)
        result.StatusCode.check()
        return list(result.OutputArguments)

    async def _method_signature(self, client: Client) -> tuple[list[ua.Argument], list[ua.Argument]]:
        """The method's declared input and output arguments (read once)."""
        if self._signature is None:
            method = client.get_node(self.binding.method_node)
            try:
                await method.read_browse_name()
            except ua.UaStatusCodeError as e:
                raise OperationError(f"the PLC has no method {self.binding.method_node} "
                                          f"({type(e).__name__})") from e
            declared = {}
            for prop in await method.get_properties():
                name = (await prop.read_browse_name()).Name
                if name in ("InputArguments", "OutputArguments"):
                    declared[name] = list(await prop.read_value() or [])
            self._signature = declared.get("InputArguments", []), declared.get("OutputArguments", [])
        return self._signature


def _with_value(variable: JSON, value: Any) -> JSON:
    """The declared output variable carrying the method's output ``value``."""
    if variable.get("modelType") != "Property":
        raise OperationError(f"output variable {variable.get('idShort')} is a {variable.get('modelType')}; "
                                  "OPC UA outputs fill Properties")
    try:
        return {**variable, "value": to_lexical(value, variable.get("valueType", "xs:string"), variable["idShort"])}
    except ValueError as e:
        raise OperationError(str(e)) from e
