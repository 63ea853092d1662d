"""The one exception hierarchy of aas-server.

No HTTP here: ``aas_server.api.errors`` maps each class to a status code and the Part 2 ``Result`` body.
"""


class AASError(Exception):
    """Base of every error the server answers with a Result body."""

    def __init__(self, text: str, *, path: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        #: where in the request the fault is (JSON path, idShortPath, line), if known
        self.path = path

    def __str__(self) -> str:
        return f"{self.text} (at {self.path})" if self.path else self.text


class NotFoundError(AASError):
    """The addressed object does not exist (or the caller may not know that it does)."""


class ConflictError(AASError):
    """The object exists already, or a concurrent change won."""


class InvalidRequestError(AASError):
    """The request is malformed or its payload is not a valid AAS object."""


class PayloadTooLargeError(InvalidRequestError):
    """The request body exceeds the configured limit."""


class NotAcceptableError(AASError):
    """No representation the client accepts can be produced."""


class UnsupportedError(AASError):
    """The request is valid but asks for something this server does not do (e.g. $path on a leaf)."""


class UnauthenticatedError(AASError):
    """No valid identity was presented."""


class ForbiddenError(AASError):
    """The identity is known but lacks the right."""


class OperationError(AASError):
    """An Operation invocation could not be carried out (no handler, handler failure, timeout)."""


class StoreUnavailableError(AASError):
    """The store cannot be reached; the request may be retried."""


class SourceUnavailableError(AASError):
    """A data source (PLC, file, ERP) cannot be reached."""


class DeviceError(SourceUnavailableError):
    """A device behind the API (a PLC written to or called) cannot be reached or failed to answer properly."""


class DeviceTimeoutError(DeviceError, TimeoutError):
    """A device did not answer within its timeout (also a ``TimeoutError``, so operations report ``Timeout``)."""


class DeviceRejectedError(InvalidRequestError):
    """A device refused a written value or a call's arguments; the text names the device's status code."""
