"""Descriptors and asset links follow the repository whoever writes (import, adapter run, store writes), on both
stores; Catena-X visibility per caller BPN in descriptors and lookups (services acting as constructed callers)."""
from __future__ import annotations

import pytest

from aas_server.registry.descriptors import EndpointStyle
from aas_server.registry.service import DiscoveryService, RegistryService
from aas_server.registry.sync import resync
from aas_server.security.caller import Caller, acting_as
from aas_server.security.visibility import DEFAULT_PUBLIC_NAMES
from aas_server.services import environment
from aas_server.store.base import PageRequest, Query, iterate
from tests.factories import shell, submodel, uid
from tests.integration.ingest_support import MATMAS, SERIAL_EXPORT, run

pytestmark = pytest.mark.integration

BPN_A, BPN_B = "BPNL00000000000A", "BPNL00000000000B"
STYLE = EndpointStyle("https://aas.example.com")


def all_of(store, kind: str) -> dict[str, dict]:
    return {o["id"]: o for o in iterate(lambda page: store.find(kind, Query(), page))}


def test_import_writes_descriptors_and_asset_links(store):
    sm = submodel(id_short="Nameplate")
    aas = shell(specific=(("partInstanceId", "SN-1"),), submodels=(sm["id"],))
    env = environment.Environment({"shell": [aas], "submodel": [sm], "concept_description": []}, {})
    environment.import_environment(store, env)
    descriptor = store.get("shell_descriptor", aas["id"])
    assert [d["id"] for d in descriptor["submodelDescriptors"]] == [sm["id"]]
    assert store.get("submodel_descriptor", sm["id"])["idShort"] == "Nameplate"
    links = store.get("asset_links", aas["id"])["assetLinks"]
    assert {"name": "partInstanceId", "value": "SN-1"} in links
    # a re-import with a renamed submodel: the shell's descriptor follows although the shell is unchanged
    env.objects["submodel"] = [{**sm, "idShort": "NameplateV2"}]
    environment.import_environment(store, env)
    assert store.get("shell_descriptor", aas["id"])["submodelDescriptors"][0]["idShort"] == "NameplateV2"


def test_adapter_runs_keep_descriptors_in_step(store):
    run(store, "matmas_material_master", MATMAS)
    run(store, "serial_units_export", SERIAL_EXPORT)
    shells = all_of(store, "shell")
    descriptors = all_of(store, "shell_descriptor")
    assert shells and set(descriptors) == set(shells)
    submodels = set(all_of(store, "submodel"))
    assert set(all_of(store, "submodel_descriptor")) == submodels
    for shell_id, aas in shells.items():
        referenced = {r["keys"][-1]["value"] for r in aas.get("submodels", [])} & submodels
        assert {d["id"] for d in descriptors[shell_id].get("submodelDescriptors", [])} == referenced
        info = aas["assetInformation"]
        assert descriptors[shell_id].get("specificAssetIds") == info.get("specificAssetIds")
        for specific in info.get("specificAssetIds", []):
            found = DiscoveryService(store, DEFAULT_PUBLIC_NAMES).lookup(
                [(specific["name"], specific["value"])], PageRequest(100))
            assert shell_id in found.items


def test_update_header_and_element_writes(store):
    sm = submodel(id_short="Before", elements=[{"modelType": "Property", "idShort": "P", "valueType": "xs:int",
                                                "value": "1"}])
    aas = shell(submodels=(sm["id"],))
    store.create("submodel", sm)
    store.create("shell", aas)
    store.update_header(sm["id"], lambda header: {**header, "idShort": "After"})
    assert store.get("shell_descriptor", aas["id"])["submodelDescriptors"][0]["idShort"] == "After"
    store.update_element(sm["id"], "P", lambda e: {**e, "value": "2"})
    assert store.get("submodel_descriptor", sm["id"])["idShort"] == "After"


def test_resync_restores_lost_descriptors(store):
    aas = shell()
    store.create("shell", aas)
    store.inner.delete("shell_descriptor", aas["id"])  # as if the process died between the two writes
    store.inner.delete("asset_links", aas["id"])
    assert resync(store) >= 1
    assert store.get("shell_descriptor", aas["id"])["globalAssetId"] == aas["assetInformation"]["globalAssetId"]
    assert store.get("asset_links", aas["id"])["assetLinks"][0]["name"] == "globalAssetId"


# -- Catena-X visibility ------------------------------------------------------------------------------------------


def specific_id(name: str, value: str, *subjects: str) -> dict:
    found = {"name": name, "value": value}
    if subjects:
        found["externalSubjectId"] = {"type": "ExternalReference",
                                      "keys": [{"type": "GlobalReference", "value": s} for s in subjects]}
    return found


def external(bpn: str | None) -> Caller:
    return Caller(port="external", internal=False, subject="partner", bpn=bpn)


@pytest.fixture()
def catena_shell(store) -> dict:
    aas = shell()
    serial, part, internal, public_serial = uid("sn"), uid("mpn"), uid("int"), uid("sn")
    aas["assetInformation"]["specificAssetIds"] = [
        specific_id("partInstanceId", serial, BPN_A),
        specific_id("manufacturerPartId", part, "PUBLIC_READABLE"),
        specific_id("internalNumber", internal),
        # PUBLIC_READABLE on a name the configuration does not allow to be public: hidden
        specific_id("van", public_serial, "PUBLIC_READABLE"),
    ]
    store.create("shell", aas)
    return aas


def names(links: list[dict]) -> set[str]:
    return {link["name"] for link in links}


def test_lookup_confirms_only_visible_asset_ids(store, catena_shell):
    discovery = DiscoveryService(store, DEFAULT_PUBLIC_NAMES)
    serial, part, internal, van = ((s["name"], s["value"]) for s in catena_shell["assetInformation"]["specificAssetIds"])
    global_id = ("globalAssetId", catena_shell["assetInformation"]["globalAssetId"])

    def finds(caller: Caller | None, *links: tuple[str, str]) -> bool:
        with acting_as(caller):
            return catena_shell["id"] in discovery.lookup(list(links), PageRequest(100)).items

    assert finds(external(BPN_A), serial)
    assert not finds(external(BPN_B), serial)
    assert not finds(external(None), serial)
    assert finds(external(BPN_B), part) and finds(external(None), part)
    assert finds(external(BPN_B), global_id)
    assert not finds(external(BPN_B), part, serial)  # one invisible id in the query: no answer
    assert finds(external(BPN_A), part, serial)
    for hidden in (internal, van):
        assert not finds(external(BPN_A), hidden)
        assert finds(None, hidden)  # the system (no request) sees all
        assert finds(Caller(port="internal", internal=True), hidden)


def test_asset_links_and_descriptors_show_only_visible_ids(store, catena_shell):
    discovery = DiscoveryService(store, DEFAULT_PUBLIC_NAMES)
    registry = RegistryService(store, DEFAULT_PUBLIC_NAMES)
    with acting_as(external(BPN_A)):
        assert names(discovery.links(catena_shell["id"])) == {"globalAssetId", "partInstanceId", "manufacturerPartId"}
        shown = registry.shown(registry.get("shell_descriptor", catena_shell["id"]), STYLE)
        assert names(shown["specificAssetIds"]) == {"partInstanceId", "manufacturerPartId"}
    with acting_as(external(BPN_B)):
        assert names(discovery.links(catena_shell["id"])) == {"globalAssetId", "manufacturerPartId"}
        shown = registry.shown(registry.get("shell_descriptor", catena_shell["id"]), STYLE)
        assert names(shown["specificAssetIds"]) == {"manufacturerPartId"}
        assert catena_shell["assetInformation"]["specificAssetIds"][0]["value"] not in str(shown)
    with acting_as(None):
        assert len(discovery.links(catena_shell["id"])) == 5


def test_public_names_come_from_the_configuration(store, catena_shell):
    discovery = DiscoveryService(store, frozenset({"van"}))
    van = catena_shell["assetInformation"]["specificAssetIds"][3]
    part = catena_shell["assetInformation"]["specificAssetIds"][1]
    with acting_as(external(BPN_B)):
        assert discovery.lookup([(van["name"], van["value"])], PageRequest(10)).items == [catena_shell["id"]]
        assert discovery.lookup([(part["name"], part["value"])], PageRequest(10)).items == []


def test_endpoints_carry_the_configured_subprotocol(store):
    sm = submodel()
    aas = shell(submodels=(sm["id"],))
    store.create("submodel", sm)
    store.create("shell", aas)
    style = EndpointStyle("https://dataplane.example.com/public", "DSP", "id=${id};dspEndpoint=https://edc/api/dsp")
    shown = RegistryService(store, DEFAULT_PUBLIC_NAMES).shown(store.get("shell_descriptor", aas["id"]), style)
    info = shown["submodelDescriptors"][0]["endpoints"][0]["protocolInformation"]
    assert info["href"].startswith("https://dataplane.example.com/public/api/v3.1/submodels/")
    assert info["subprotocol"] == "DSP"
    assert info["subprotocolBody"] == f"id={sm['id']};dspEndpoint=https://edc/api/dsp"
    assert info["subprotocolBodyEncoding"] == "plain"
    # registered descriptors keep their absolute hrefs and get no subprotocol of ours
    remote = {"id": uid(), "endpoints": [{"interface": "AAS-3.0", "protocolInformation": {"href": "https://x/y"}}]}
    assert RegistryService(store, ()).shown(remote, style)["endpoints"] == remote["endpoints"]
