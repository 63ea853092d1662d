"""The token vault of masking profiles on both stores: tokens from concurrent maskers (as in several API processes)
agree, are recorded once, and are reversible through the store only."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from aas_server.errors import NotFoundError
from aas_server.ports.masking import Masker
from aas_server.ports.masking_profile import parse_profile
from aas_server.ports.masking_pseudonyms import TOKEN_COLLECTION, reveal_token
from aas_server.security.caller import Caller
from aas_server.store.base import PageRequest
from tests import factories as f

pytestmark = pytest.mark.integration

PROFILE = """\
version: 1
keys: {secret_env: AAS_TEST_MASKING_SECRET}
rules:
  - match: {semantic_id: "https://example.com/ids/cd/SerialNumber"}
    transform: tokenize
"""
SECRET = {"AAS_TEST_MASKING_SECRET": "vault-test-secret-0123456789abcdef"}
PARTNERS = [Caller(port="external", internal=False, bpn=f"BPNL00000000000{i}") for i in range(2)]


def serials(count: int) -> dict[str, Any]:
    elements = []
    for i in range(count):
        element = f.prop(f"Serial{i}", f"{100000 + i}", "xs:string")
        element["semanticId"] = f.ref("https://example.com/ids/cd/SerialNumber")
        elements.append(element)
    return f.submodel(elements=elements)


def test_tokens_of_concurrent_maskers_agree_and_are_recorded_once(store: Any) -> None:
    submodel = serials(20)
    maskers = [Masker(parse_profile(PROFILE, "vault.yaml", SECRET), store) for _ in range(3)]
    results: list[tuple[int, str, list[str]]] = []
    errors: list[BaseException] = []

    def work(masker_index: int, caller: Caller) -> None:
        try:
            masked = maskers[masker_index].mask_submodel(submodel, caller)
            results.append((masker_index, caller.partner, [e["value"] for e in masked["submodelElements"]]))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, caller)) for i in range(3) for caller in PARTNERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    by_partner: dict[str, set[tuple[str, ...]]] = {}
    for _, partner, tokens in results:
        by_partner.setdefault(partner, set()).add(tuple(tokens))
    assert all(len(variants) == 1 for variants in by_partner.values())  # every masker gave the same tokens
    tokens_a, tokens_b = (next(iter(by_partner[p.partner])) for p in PARTNERS)
    assert not set(tokens_a) & set(tokens_b)  # partners cannot join on tokens

    vault = store.find_records(TOKEN_COLLECTION, PageRequest(100))
    assert len(vault.items) == 40 and vault.next_after is None
    for i, token in enumerate(tokens_a):
        origin = reveal_token(store, token)
        assert (origin.partner, origin.value) == (PARTNERS[0].partner, f"{100000 + i}")
    with pytest.raises(NotFoundError):
        reveal_token(store, "tok_" + "z" * 24)
