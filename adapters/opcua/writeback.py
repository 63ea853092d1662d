"""OPC UA write-back: a ``$value`` write of a mapped element goes to its PLC node, and the PLC has the last word.

Registered per node binding as the element's :data:`~aas_server.services.submodels.ValueWriter`:

- an element the mapping does not mark ``writable`` is refused (403): elements are read-only by default;
- a writable one is cast to the node's type, written, and read back; the store gets the value read back, stamped
  with its OPC UA status and timestamps like a value the gateway stored;
- a refused write is an error naming the PLC's status code and the store keeps the PLC's value: value refusals
  (``BadOutOfRange``, ``BadTypeMismatch``, ...) are 400, access refusals 403, other Bad statuses and an
  unreachable PLC 502, no answer within the source's ``timeout_s`` 504.

The service calls the writer only for callers of internal ports (see ``SubmodelService.register_value_writer``).
"""
from __future__ import annotations

import logging

from asyncua import Client, ua

from aas_server.errors import DeviceError, DeviceRejectedError, ForbiddenError
from aas_server.store.base import JSON

from . import quality
from .mapping import NodeBinding
from .plc_link import PlcLink, node_of
from .variants import binding_variant

logger = logging.getLogger(__name__)

#: status codes with which a PLC refuses the value itself (the caller can correct it)
VALUE_REFUSALS = frozenset({"BadOutOfRange", "BadTypeMismatch", "BadInvalidArgument", "BadDataEncodingInvalid",
                            "BadIndexRangeInvalid", "BadWriteNotSupported", "BadInvalidState"})
#: status codes with which a PLC refuses the writer
ACCESS_REFUSALS = frozenset({"BadUserAccessDenied", "BadNotWritable"})


class PlcValueWriter:
    """Writes one binding's element value to its node (see the module docstring)."""

    def __init__(self, binding: NodeBinding, link: PlcLink) -> None:
        self.binding = binding
        self.link = link
        self._variant_type: ua.VariantType | None = None

    def __call__(self, element: JSON) -> JSON:
        binding = self.binding
        if not binding.writable:
            raise ForbiddenError(f"the value comes from PLC node {binding.address} and is read-only (the mapping "
                                 "does not mark it writable)", path=binding.id_short_path)
        requested = element.get("value")
        try:
            read_back = self.link.run(lambda client: self._write(client, requested), self.link.spec.timeout_s,
                                      f"the write of {binding.address}")
        except ua.UaStatusCodeError as e:
            raise refusal(e, f"the PLC refused {binding.address} = {requested}", binding.id_short_path) from e
        raw = read_back.Value.Value if read_back.Value is not None else None
        status = int(read_back.StatusCode.value) if read_back.StatusCode is not None else 0
        logger.info("write-back %s = %s accepted by %s (read back %r)", binding.id_short_path, requested,
                    binding.address, raw)
        try:
            value = binding.convert(raw)
        except ValueError as e:
            raise DeviceError(f"the PLC accepted the write but reads back {raw!r}: {e}") from e
        return quality.stamped(element, value=value, quality=quality.grade(status),
                               status=quality.status_name(status), source_time=read_back.SourceTimestamp,
                               server_time=read_back.ServerTimestamp)

    async def _write(self, client: Client, requested: object) -> ua.DataValue:
        node = await node_of(client, self.binding.node_id, self.binding.browse_path)
        if self._variant_type is None:
            self._variant_type = await node.read_data_type_as_variant_type()
        variant = binding_variant(self.binding, requested, self._variant_type)
        await node.write_value(ua.DataValue(variant))
        return await node.read_data_value()


def refusal(error: ua.UaStatusCodeError, what: str, path: str) -> Exception:
    """The server error for a Bad status the PLC answered with."""
    try:
        name, doc = ua.status_codes.get_name_and_doc(error.code)
    except KeyError:
        name, doc = f"0x{error.code:08X}", "an unknown status code"
    text = f"{what}: {name} ({doc.rstrip('.')})"
    if name in VALUE_REFUSALS:
        return DeviceRejectedError(text, path=path)
    if name in ACCESS_REFUSALS:
        return ForbiddenError(text, path=path)
    return DeviceError(text, path=path)
