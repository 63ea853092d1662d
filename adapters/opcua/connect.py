"""An asyncua client for a mapped source: endpoint, security policy and mode, certificates, user and password."""
from __future__ import annotations

from asyncua import Client, ua
from asyncua.crypto import security_policies

from aas_server.errors import SourceUnavailableError
from aas_server.settings import secret_from_env

from .mapping import SourceSpec


async def client_for(spec: SourceSpec) -> Client:
    """A configured, not yet connected client (``await client.connect()``; the caller reconnects, so asyncua's own
    reconnect supervisor is off).

    :raises SourceUnavailableError: the password's environment variable is not set, or a certificate is unusable
    """
    # a closed connection is seen at once; the watchdog's probe only finds dead-but-open ones, so it may be slow
    # and must not take a busy PLC for a dead one
    client = Client(url=spec.endpoint, timeout=spec.timeout_s, watchdog_intervall=max(5.0, 2 * spec.timeout_s),
                    auto_reconnect=False)
    client.name = client.description = "aas-server gateway"
    client.application_uri = "urn:aas-server:gateway"
    security = spec.security
    if security.policy_class is not None:
        policy = getattr(security_policies, security.policy_class)
        try:
            await client.set_security(policy, certificate=str(security.certificate),
                                      private_key=str(security.private_key),
                                      server_certificate=str(security.server_certificate)
                                      if security.server_certificate else None,
                                      mode=ua.MessageSecurityMode[str(security.mode)])
        except (OSError, ValueError) as e:
            raise SourceUnavailableError(f"source {spec.name}: unusable certificate or key: {e}") from e
    if spec.credentials is not None:
        password = secret_from_env(spec.credentials.password_env)
        if password is None:
            raise SourceUnavailableError(f"source {spec.name}: environment variable "
                                         f"{spec.credentials.password_env} (the password of user "
                                         f"{spec.credentials.user}) is not set")
        client.set_user(spec.credentials.user)
        client.set_password(password)
    return client
