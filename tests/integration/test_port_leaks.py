"""The leak hunt: every GET route and representation of the external port, crawled over real HTTP through gunicorn
on both stores as four identities (anonymous, BPN A and BPN B through a data plane, a JWT with the role engineer).
No byte of any response (bodies, unzipped AASX, Location and Content-Disposition) may hold a hidden or masked raw
value in any encoding (see ``leak_policy.forms``); hidden objects and paths answer exactly like missing ones, and
filters on hidden or masked values find exactly what filters on values nobody has find: nothing."""
from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests
import yaml

from aas_server.errors import InvalidRequestError
from aas_server.model.ids import decode_id, encode_id
from aas_server.store import opened_store
from tests.conftest import module_store_settings, server_env
from tests.harness.identity import SigningKey, claims
from tests.harness.server import GunicornServer
from tests.integration import leak_policy as lp

pytestmark = pytest.mark.integration

ISSUER = "https://idp.leak.test"
DATA_PLANE_SECRET = "dp-" + uuid.uuid4().hex
MISSING = "urn:leak:missing-object"
#: raw idShortPaths that the policy hides or drops, probed directly (they must answer like a missing path)
HIDDEN_PATHS = {lp.PRODUCTION: ["EndOfLineTest.Inspector"], lp.COST: ["LEAKStandardPrice", "MovingPrice"],
                lp.HIDDEN_SUBMODEL: ["Secret"]}
#: generated fields of error bodies (random hex and clock digits), not data: left out of the scan
_GENERATED = re.compile(rb'"(?:timestamp|correlationId)":\s*"[^"]*"')


class Identity:
    def __init__(self, name: str, headers: dict[str, str]) -> None:
        self.name = name
        self.headers = headers

    def forbidden(self) -> dict[bytes, str]:
        """Each form of each value this identity must not receive, and the value."""
        values = lp.SECRETS + [value for value, who in lp.LIMITED if who != self.name]
        return {form: value for value in values for form in lp.forms(value)}


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Identity]]]:
    folder = tmp_path_factory.mktemp("leaks")
    settings = module_store_settings(request, folder)
    with opened_store(settings) as store:
        lp.load(store)
    rules_file, masking_file = lp.write_policy(folder)
    key = SigningKey("RSA")
    (folder / "jwks.json").write_text(json.dumps({"keys": [key.jwk()]}))
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "rules": str(rules_file),
         "masking": str(masking_file), "auth": {
             "anonymous": True,
             "jwt": {"issuers": [{"issuer": ISSUER, "audience": "aas-server", "jwks_file": str(folder / "jwks.json"),
                                  "algorithms": ["RS256"]}]},
             "data_plane": {"secret_env": "AAS_LEAK_DATA_PLANE_SECRET", "header": "X-Data-Plane-Token"}}},
    ]}
    (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
    env = {**server_env(settings), "AAS_PORTS_FILE": str(folder / "ports.yaml"),
           "AAS_LEAK_DATA_PLANE_SECRET": DATA_PLANE_SECRET, lp.SECRET_ENV: lp.MASKING_SECRET}
    token = key.sign(claims(ISSUER, lifetime_s=3600, sub="eve", roles=[lp.ENGINEER]))
    identities = [
        Identity("anonymous", {}),
        Identity("bpn_a", {"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": lp.BPN_A}),
        Identity("bpn_b", {"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": lp.BPN_B}),
        Identity(lp.ENGINEER, {"Authorization": f"Bearer {token}"}),
    ]
    if request.param == "mongo":  # the policy is the same on both stores; FerretDB scans make each request slow
        identities = identities[1:3]
    with GunicornServer(env) as running:
        yield running.url, identities


class Crawler:
    """GETs as one identity, keeping every response for the scan."""

    def __init__(self, root: str, identity: Identity, session: requests.Session) -> None:
        self.root = root
        self.identity = identity
        self.session = session
        self.responses: list[tuple[str, requests.Response]] = []

    def get(self, path: str, accept: str | None = None) -> requests.Response:
        headers = {**self.identity.headers, **({"Accept": accept} if accept else {})}
        response = self.session.get(self.root + path, headers=headers, timeout=30, allow_redirects=False)
        assert response.status_code < 500, f"{path}: {response.status_code} {response.text[:300]}"
        self.responses.append((path, response))
        return response

    def pages(self, path: str, limit: int | None = None) -> list[Any]:
        """Every item of a paged list, following cursors."""
        items: list[Any] = []
        separator = "&" if "?" in path else "?"
        cursor = None
        for _ in range(500):
            query = "&".join(p for p in (f"limit={limit}" if limit else "", f"cursor={cursor}" if cursor else "") if p)
            response = self.get(path + (separator + query if query else ""))
            if response.status_code != 200:
                return items
            body = response.json()
            items += body["result"]
            cursor = body["paging_metadata"].get("cursor")
            if not cursor:
                return items
        raise AssertionError(f"{path}: paging does not end")


def _b64(value: Any) -> str:
    return encode_id(json.dumps(value) if not isinstance(value, str) else value)


def _not_found_text(response: requests.Response, identifier: str) -> tuple[int, str]:
    """Status and message of an error body, with the probed identifier or path replaced (it is the request's)."""
    text = response.json()["messages"][0]["text"] if response.status_code >= 400 else response.text
    return response.status_code, text.replace(identifier, "<probe>")


def crawl(crawler: Crawler) -> dict[str, Any]:
    """Every route of the external port; returns what it saw for the positive checks."""
    seen: dict[str, Any] = {"paths": set()}
    shells = crawler.pages("/shells") + crawler.pages("/shells", limit=1)
    submodels = crawler.pages("/submodels") + crawler.pages("/submodels", limit=1)
    cds = crawler.pages("/concept-descriptions") + crawler.pages("/concept-descriptions", limit=1)
    for route in ("/shells/$reference", "/submodels/$metadata", "/submodels/$value", "/submodels/$reference",
                  "/submodels/$path", "/packages"):
        crawler.pages(route)
    crawler.pages("/submodels/$path", limit=3)
    crawler.pages("/submodels?level=core")
    crawler.pages("/submodels?extent=withBlobValue")
    crawler.get("/description")
    for package in crawler.pages("/packages") + [{"packageId": lp.PACKAGE}]:
        crawler.get(f"/packages/{encode_id(package['packageId'])}")
    seen["shells"] = {s["id"] for s in shells}
    seen["submodels"] = {s["id"] for s in submodels}
    seen["concept_descriptions"] = {c["id"] for c in cds}

    for shell_id in seen["shells"] | {lp.SHELL, lp.HIDDEN_SHELL, MISSING}:
        base = f"/shells/{encode_id(shell_id)}"
        for suffix in ("", "/$reference", "/asset-information", "/asset-information/thumbnail"):
            crawler.get(base + suffix)
        refs = crawler.pages(base + "/submodel-refs", limit=1)
        for sm_id in {r["keys"][-1]["value"] for r in refs} | {lp.HIDDEN_SUBMODEL}:
            crawl_submodel(crawler, f"{base}/submodels/{encode_id(sm_id)}", sm_id, seen, deep=False)
    for sm_id in seen["submodels"] | {lp.PRODUCTION, lp.COST, lp.HIDDEN_SUBMODEL, MISSING}:
        crawl_submodel(crawler, f"/submodels/{encode_id(sm_id)}", sm_id, seen)
    for cd_id in seen["concept_descriptions"] | {lp.TORQUE_CD, lp.HIDDEN_CD, MISSING}:
        crawler.get(f"/concept-descriptions/{encode_id(cd_id)}")

    # the registry and discovery interfaces describe the same twins
    for route in ("/shell-descriptors", "/submodel-descriptors"):
        crawler.pages(route)
        crawler.pages(route, limit=1)
    for shell_id in (lp.SHELL, lp.HIDDEN_SHELL, MISSING):
        crawler.get(f"/shell-descriptors/{encode_id(shell_id)}")
        crawler.pages(f"/shell-descriptors/{encode_id(shell_id)}/submodel-descriptors")
        crawler.get(f"/lookup/shells/{encode_id(shell_id)}")
        for sm_id in (lp.PRODUCTION, lp.HIDDEN_SUBMODEL):
            crawler.get(f"/shell-descriptors/{encode_id(shell_id)}/submodel-descriptors/{encode_id(sm_id)}")
    for sm_id in (lp.PRODUCTION, lp.COST, lp.HIDDEN_SUBMODEL, MISSING):
        crawler.get(f"/submodel-descriptors/{encode_id(sm_id)}")

    for accept in ("application/json", "application/xml", "application/asset-administration-shell-package+xml"):
        crawler.get("/serialization", accept)
        for shell_id in (lp.SHELL, lp.HIDDEN_SHELL, MISSING):
            crawler.get(f"/serialization?aasIds={encode_id(shell_id)}&includeConceptDescriptions=true", accept)
        for sm_id in (lp.PRODUCTION, lp.HIDDEN_SUBMODEL, MISSING):
            crawler.get(f"/serialization?submodelIds={encode_id(sm_id)}", accept)
    for bad in ("/submodels?limit=0", "/submodels?cursor=***", f"/submodels?cursor={encode_id(lp.HIDDEN_SUBMODEL)}",
                f"/submodels/{encode_id(lp.PRODUCTION)}/submodel-elements/Report..x", "/shells?assetIds=e30"):
        crawler.get(bad)
    return seen


def crawl_submodel(crawler: Crawler, base: str, sm_id: str, seen: dict[str, Any], deep: bool = True) -> None:
    """The submodel's representations; ``deep``: also each element's, and element lists page by page (the shell
    superpath runs the same handlers, so there the submodel's own representations suffice)."""
    for suffix in ("", "?level=core", "?extent=withBlobValue", "/$value", "/$metadata", "/$reference",
                   "/$value?extent=withBlobValue"):
        crawler.get(base + suffix)
    response = crawler.get(base + "/$path")
    elements = base + "/submodel-elements"
    for suffix in ("", "/$value", "/$metadata", "/$reference", "/$path"):
        crawler.pages(elements + suffix)
    if not deep:
        return
    crawler.pages(elements, limit=1)
    crawler.pages(elements + "/$path", limit=2)
    paths = response.json() if response.status_code == 200 else []
    seen["paths"] |= {(sm_id, p) for p in paths}
    for path in [*paths, *HIDDEN_PATHS.get(sm_id, []), "NoSuchElement"]:
        element = f"{elements}/{quote(path)}"
        for suffix in ("operation-status", "operation-results", "operation-results/{}/$value"):
            crawler.get(f"{element}/{suffix.format(lp.OPERATION_HANDLE)}" if "{}" in suffix
                        else f"{element}/{suffix}/{lp.OPERATION_HANDLE}")
        for suffix in ("", "?level=core", "?extent=withBlobValue", "/$value", "/$metadata", "/$reference", "/$path",
                       "/attachment"):
            crawler.get(element + suffix)


def _sent(path: str) -> bytes:
    """The request path as the client wrote it, percent-decoded, and its base64url-decoded segments and values."""
    texts = [path, unquote(path)]
    for piece in re.split(r"[/?&=]", path):
        try:
            texts.append(decode_id(piece))
        except InvalidRequestError:
            pass
    return "\n".join(texts).encode()


def scan(crawler: Crawler) -> list[tuple[str, str, bytes]]:
    """Every forbidden form found in any response: ``(path, value, form)``. What the request itself named (a probed hidden
    id or path, echoed by the error message) tells the client nothing it did not send."""
    forbidden = crawler.identity.forbidden()
    found = []
    for path, response in crawler.responses:
        sent = _sent(path)
        parts = [_GENERATED.sub(b"", response.content)]
        parts += [response.headers.get(h, "").encode() for h in ("Location", "Content-Disposition")]
        if response.content.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(response.content)) as package:
                parts += [package.read(name) for name in package.namelist()]
                parts += [name.encode() for name in package.namelist()]
        found += [(path, value, form) for part in parts for form, value in forbidden.items()
                  if form in part and form not in sent]
    return found


@pytest.fixture(scope="module")
def crawled(server: tuple[str, list[Identity]]) -> dict[str, tuple[Crawler, dict[str, Any]]]:
    url, identities = server
    out = {}
    with requests.Session() as session:
        for identity in identities:
            crawler = Crawler(f"{url}/external/api/v3.1", identity, session)
            out[identity.name] = (crawler, crawl(crawler))
    return out


def test_the_crawl_finds_every_secret_on_the_internal_port(server: tuple[str, list[Identity]]) -> None:
    """The same crawl and scan over the internal port (no policy) find each value: they would notice a leak."""
    url, _ = server
    with requests.Session() as session:
        crawler = Crawler(f"{url}/api/v3.1", Identity("internal", {}), session)
        crawl(crawler)
    assert {value for _, value, _ in scan(crawler)} == set(lp.SECRETS) | {value for value, _ in lp.LIMITED}


def test_no_response_holds_a_hidden_or_raw_masked_value(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    for crawler, seen in crawled.values():
        assert len(crawler.responses) > 250  # the crawl reached the elements, not just the lists
        assert {p for _, p in seen["paths"]} >= {"EndOfLineTest.Torque", "Customer.CustomerName", "Report"}
    assert {name: scan(crawler) for name, (crawler, _) in crawled.items()} == {name: [] for name in crawled}


def test_policy_shows_what_it_grants_and_masks_consistently(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    """The crawl is not blind: the granted data arrives, masked values keep their types, keyed hashes differ per
    partner and BPN A sees the serial number its externalSubjectId names."""
    bodies = {name: b"".join(r.content for _, r in crawler.responses) for name, (crawler, _) in crawled.items()}
    assert all(b"Werk Stuttgart" in body and b"988000" in body and b"2025-03-01" in body for body in bodies.values())
    assert lp.SERIAL.encode() in bodies["bpn_a"]
    assert lp.ENGINEER not in bodies or b"LEAKStandardPrice" in bodies[lp.ENGINEER]
    hashes = {}
    for name, (crawler, _) in crawled.items():
        response = crawler.get(f"/submodels/{encode_id(lp.PRODUCTION)}/submodel-elements/EndOfLineTest.SerialNumber")
        hashes[name] = response.json()["value"]
    assert len(set(hashes.values())) == len(hashes), hashes
    crawler, _ = crawled["bpn_a"]
    result = crawler.get(f"/submodels/{encode_id(lp.PRODUCTION)}/submodel-elements/Recalibrate/operation-results/"
                         f"{lp.OPERATION_HANDLE}").json()
    output = result["outputArguments"][0]["value"]
    assert (result["executionState"], output["idShort"], "value" in output) == ("Failed", "Result", False)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes.values())


def test_hidden_answers_exactly_like_missing(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    crawler, _ = crawled["bpn_b"]
    for route in ("/shells/{}", "/submodels/{}", "/concept-descriptions/{}", "/submodels/{}/$value",
                  "/shells/{}/submodel-refs", "/serialization?submodelIds={}"):
        for hidden in (lp.HIDDEN_SHELL, lp.HIDDEN_SUBMODEL, lp.HIDDEN_CD):
            probe = route.format(encode_id(hidden))
            missing = route.format(encode_id(MISSING))
            assert _not_found_text(crawler.get(probe), hidden) == _not_found_text(crawler.get(missing), MISSING)
    for sm_id, paths in HIDDEN_PATHS.items():
        for path in paths:
            base = f"/submodels/{encode_id(sm_id)}/submodel-elements/"
            for suffix in ("", "/$value", "/attachment"):
                hidden, missing = crawler.get(base + quote(path) + suffix), crawler.get(base + "NoSuchElement" + suffix)
                assert _not_found_text(hidden, path) == _not_found_text(missing, "NoSuchElement")


def test_masked_attachments_are_withheld_like_missing_ones(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    crawler, _ = crawled["bpn_a"]
    report = crawler.get(f"/submodels/{encode_id(lp.PRODUCTION)}/submodel-elements/Report/attachment")
    plant = crawler.get(f"/submodels/{encode_id(lp.PRODUCTION)}/submodel-elements/Signature/attachment")
    assert report.status_code == 404
    assert plant.status_code in (400, 404)


def test_filters_on_hidden_or_masked_values_find_nothing(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    """Each filter answers exactly as the same filter on a value nobody has; the raw store would match each."""
    def result(crawler: Crawler, path: str) -> Any:
        response = crawler.get(path)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    for name, (crawler, _) in crawled.items():
        nothing = result(crawler, f"/shells?idShort=NoSuchShort&assetIds={_b64({'name': 'x', 'value': 'y'})}")
        assert nothing == []
        oracles = [
            "/shells?idShort=LEAKHiddenShell", "/shells/$reference?idShort=LEAKHiddenShell",
            f"/shells?assetIds={_b64({'name': 'customerAssetNo', 'value': 'LEAK-7f3a91-CUST'})}",
            f"/shells?assetIds={_b64({'name': 'globalAssetId', 'value': 'urn:leak:asset:LEAK-hidden-asset'})}",
            "/submodels?idShort=LEAKHiddenSubmodel", "/submodels/$value?idShort=LEAKHiddenSubmodel",
            f"/submodels?semanticId={encode_id('urn:leak:cd:LEAK-hidden-semantic')}",
            "/submodels/$path?idShort=LEAKHiddenSubmodel", "/concept-descriptions?idShort=LEAKHiddenConcept",
            f"/lookup/shells?assetIds={_b64({'name': 'customerAssetNo', 'value': 'LEAK-7f3a91-CUST'})}",
            f"/lookup/shells?assetIds={_b64({'name': 'globalAssetId', 'value': 'urn:leak:asset:LEAK-hidden-asset'})}",
        ]
        if name != "bpn_a":
            oracles.append(f"/shells?assetIds={_b64({'name': 'partInstanceId', 'value': lp.SERIAL})}")
            oracles.append(f"/lookup/shells?assetIds={_b64({'name': 'partInstanceId', 'value': lp.SERIAL})}")
        for oracle in oracles:
            assert result(crawler, oracle) == [], (name, oracle)
            assert result(crawler, oracle + "&limit=1") == [], (name, oracle)
    crawler, _ = crawled["bpn_a"]
    found = crawler.get(f"/shells?assetIds={_b64({'name': 'partInstanceId', 'value': lp.SERIAL})}").json()["result"]
    assert [s["id"] for s in found] == [lp.SHELL]  # the filter works where the id is visible
    found = crawler.get(f"/lookup/shells?assetIds={_b64({'name': 'partInstanceId', 'value': lp.SERIAL})}")
    assert found.json()["result"] == [lp.SHELL]
    assert [d["id"] for d in crawler.pages("/shell-descriptors", limit=1)] == [lp.SHELL]
    described = crawler.get(f"/shell-descriptors/{encode_id(lp.SHELL)}").json()
    assert {d["id"] for d in described.get("submodelDescriptors", [])} == {lp.PRODUCTION, lp.COST, lp.NAMEPLATE}


def test_paging_with_small_limits_sees_each_visible_object_once(
        crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    for name, (crawler, seen) in crawled.items():
        one_by_one = [s["id"] for s in crawler.pages("/submodels", limit=1)]
        assert sorted(one_by_one) == sorted(seen["submodels"]) and len(set(one_by_one)) == len(one_by_one), name
        assert lp.HIDDEN_SUBMODEL not in one_by_one
        elements = crawler.pages(f"/submodels/{encode_id(lp.COST)}/submodel-elements", limit=1)
        expected = ["Currency", "LEAKStandardPrice", "MovingPrice"] if name == lp.ENGINEER else ["Currency"]
        assert [e["idShort"] for e in elements] == expected, name


def test_release_id_header_on_every_external_response(crawled: dict[str, tuple[Crawler, dict[str, Any]]]) -> None:
    crawler, _ = crawled["bpn_a"]
    assert all(r.headers.get("X-Release-Id") for _, r in crawler.responses[:50])
