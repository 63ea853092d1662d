"""Operation invocation: a registry of handlers that adapters plug into, synchronous and asynchronous calls.

Handlers are found by the Operation's semanticId (first key value), else by ``(submodel id, idShortPath)``.
An Operation without a handler, a failing handler and a timeout each give an OperationResult with
``executionState`` ``Failed`` or ``Timeout`` and a message saying why: the invocation was valid, it did not succeed.
Asynchronous results are records in the store, so any API process can answer their status.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import logging
import re
import time
import uuid
from typing import Any, Callable

from ..errors import InvalidRequestError, NotFoundError
from ..model import codec, value_only
from ..model.index import reference_value
from ..model.paths import IdShortPath, format_path
from ..store.base import JSON, Store
from .submodels import SubmodelService

logger = logging.getLogger(__name__)

RECORDS = "operation-results"


@dataclasses.dataclass(frozen=True)
class OperationCall:
    submodel_id: str
    path: IdShortPath
    operation: JSON
    #: input and in-output variables by idShort, as submodel element JSON
    inputs: dict[str, JSON]
    inoutputs: dict[str, JSON]


@dataclasses.dataclass(frozen=True)
class OperationOutcome:
    outputs: dict[str, JSON]
    inoutputs: dict[str, JSON] = dataclasses.field(default_factory=dict)


Handler = Callable[[OperationCall], OperationOutcome]


class OperationService:
    def __init__(self, store: Store, submodels: SubmodelService, default_timeout_s: float) -> None:
        self.store = store
        self.submodels = submodels
        self.default_timeout_s = default_timeout_s
        self._handlers: dict[Any, Handler] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="operation")

    def register(self, handler: Handler, *, semantic_id: str | None = None,
                 submodel_id: str | None = None, path: IdShortPath | None = None) -> None:
        """Register ``handler`` for Operations with ``semantic_id``, or for one Operation by submodel and path."""
        key = semantic_id if semantic_id is not None else (submodel_id, format_path(path or ()))
        self._handlers[key] = handler

    # -- invocation ---------------------------------------------------------------------------------------

    def prepare(self, submodel_id: str, path: IdShortPath, request: Any, value_only_form: bool) -> tuple[OperationCall, float]:
        """Check the request against the Operation's variables.

        :raises NotFoundError: :raises InvalidRequestError: not an Operation, or arguments that do not fit
        """
        operation = self.submodels.element(submodel_id, path)
        if operation.get("modelType") != "Operation":
            raise InvalidRequestError(f"only Operations can be invoked, this is a {operation.get('modelType')}",
                                      path=format_path(path))
        if not isinstance(request, dict):
            raise InvalidRequestError("expected an OperationRequest JSON object")
        inputs = _arguments(operation, "inputVariables", request.get("inputArguments"), value_only_form)
        inoutputs = _arguments(operation, "inoutputVariables", request.get("inoutputArguments"), value_only_form)
        timeout = _duration_s(request.get("clientTimeoutDuration")) or self.default_timeout_s
        return OperationCall(submodel_id, path, operation, inputs, inoutputs), timeout

    def invoke(self, call: OperationCall, timeout_s: float) -> JSON:
        """Run the handler and wait for it; the OperationResult (JSON, full form)."""
        future = self._pool.submit(self._run, call)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            return _result("Timeout", f"the operation did not finish within {timeout_s:g} s")

    def invoke_async(self, call: OperationCall, timeout_s: float) -> str:
        handle = uuid.uuid4().hex
        deadline = time.time() + timeout_s
        self.store.put_record(RECORDS, handle, {**_result("Running"), "deadline": deadline, **_owner(call)})

        def run() -> None:
            outcome = self._run(call)
            if time.time() > deadline:
                outcome = _result("Timeout", f"the operation did not finish within {timeout_s:g} s")
            self.store.put_record(RECORDS, handle, {**outcome, "deadline": deadline, **_owner(call)})

        self._pool.submit(run)
        return handle

    def result(self, submodel_id: str, path: IdShortPath, handle: str) -> JSON:
        """The stored OperationResult of an asynchronous call (``Running`` while it runs)."""
        record = self.store.get_record(RECORDS, handle)
        if record.get("submodelId") != submodel_id or record.get("path") != format_path(path):
            raise NotFoundError("no such operation handle", path=handle)
        if record["executionState"] == "Running" and time.time() > record["deadline"]:
            return _result("Timeout", "the operation did not finish in time")
        return {k: v for k, v in record.items() if k not in ("deadline", "submodelId", "path")}

    def _run(self, call: OperationCall) -> JSON:
        handler = self._handlers.get(reference_value(call.operation.get("semanticId")))
        handler = handler or self._handlers.get((call.submodel_id, format_path(call.path)))
        if handler is None:
            return _result("Failed", f"no invocation handler is registered for Operation {format_path(call.path)}")
        try:
            outcome = handler(call)
        except TimeoutError as e:  # the handler gave up waiting (e.g. on a PLC)
            return _result("Timeout", str(e))
        except Exception as e:  # a handler's failure is the operation's result, not the server's
            logger.exception("operation %s failed", format_path(call.path))
            return _result("Failed", f"operation failed: {e}")
        result = _result("Completed")
        if outcome.outputs:
            result["outputArguments"] = [{"value": v} for v in outcome.outputs.values()]
        if outcome.inoutputs:
            result["inoutputArguments"] = [{"value": v} for v in outcome.inoutputs.values()]
        return result


def result_value_only(result: JSON) -> JSON:
    """The ValueOnly form of an OperationResult."""
    out = {k: v for k, v in result.items() if k not in ("outputArguments", "inoutputArguments")}
    for key in ("outputArguments", "inoutputArguments"):
        if key in result:
            out[key] = value_only.elements_to_value([a["value"] for a in result[key]])
    return out


def _result(state: str, text: str | None = None) -> JSON:
    result: JSON = {"executionState": state, "success": state == "Completed"}
    if text:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        result["messages"] = [{"messageType": "Error", "text": text, "timestamp": stamp}]
    return result


def _owner(call: OperationCall) -> JSON:
    return {"submodelId": call.submodel_id, "path": format_path(call.path)}


def _arguments(operation: JSON, variables_key: str, given: Any, value_only_form: bool) -> dict[str, JSON]:
    declared = {v["value"]["idShort"]: v["value"] for v in operation.get(variables_key, [])}
    if given is None:
        return {}
    if value_only_form:
        if not isinstance(given, dict):
            raise InvalidRequestError("ValueOnly arguments must be a JSON object", path=variables_key)
        unknown = set(given) - set(declared)
        if unknown:
            raise InvalidRequestError(f"undeclared arguments: {', '.join(sorted(unknown))}", path=variables_key)
        return {k: codec.validate_element(value_only.apply_value(declared[k], v, k)) for k, v in given.items()}
    if not isinstance(given, list):
        raise InvalidRequestError("arguments must be a JSON array of OperationVariables", path=variables_key)
    out = {}
    for i, variable in enumerate(given):
        element = codec.validate_element(variable.get("value") if isinstance(variable, dict) else None)
        if element.get("idShort") not in declared:
            raise InvalidRequestError(f"undeclared argument {element.get('idShort')!r}", path=f"{variables_key}[{i}]")
        out[element["idShort"]] = element
    return out


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def _duration_s(text: Any) -> float | None:
    """Seconds of an xs:duration such as ``PT30S``; ``None`` when absent."""
    if text is None:
        return None
    match = _DURATION.fullmatch(str(text))
    if not match or str(text) in ("P", "PT"):
        raise InvalidRequestError("clientTimeoutDuration must be an xs:duration such as PT30S",
                                  path="clientTimeoutDuration")
    days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
