"""One port's view of the store: access rules, masking and asset id visibility, applied in this one place.

Every route and representation reads through the store, so wrapping the store of a port's services is what makes
normal, ``$value``, ``$metadata``, ``$reference``, ``$path``, paging, attachments, ``/serialization``, packages and
operation results of that port see the same masked data. Nothing here knows Flask: the caller comes from
:func:`~aas_server.security.caller.current_caller`; outside a request (``None``, the system) it passes through.

What a caller sees of an identifiable: nothing (hidden: the same :class:`NotFoundError` as a missing one), its
metadata with values redacted (VIEW without READ), or its content with elements the rules hide dropped, those they
only VIEW redacted, and the rest masked by the port's :class:`~aas_server.ports.masking.Masker`. Filters of lists are
applied by the inner store on raw data (narrowing only) and re-checked on what the caller sees, so a filter never
matches a hidden or masked value; pages are refilled so ``limit`` and the cursor keep their meaning.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError, ForbiddenError, NotFoundError
from ..model import tree
from ..model.index import index_fields
from ..model.paths import IdShortPath, format_path, parse_path
from ..registry.service import BULK_COLLECTION
from ..security.caller import Caller, current_caller
from ..security.visibility import DEFAULT_PUBLIC_NAMES, visible_asset_ids
from ..services.identifiables import referenced_submodel
from ..store.base import JSON, Attachment, Page, PageRequest, Query, Store
from .audit import collecting
from .audit import record_disclosure as disclose

if TYPE_CHECKING:
    from ..security.access_rules import RuleSet, RuleSource
    from .masking import Masker, MaskingProfile

#: record collections a caller of a port reaches through the API; any other (lineage, token vault, budgets, ...) is
#: internal and answers like a missing record to callers of external ports
_API_RECORDS = ("operation-results", "packages", BULK_COLLECTION)
#: the field of a bulk registry request's outcome (read by its handle) naming who made the request: only that
#: caller reads it; never served
_REQUESTER = "requester"
#: the kinds the access rules know as targets (registry descriptors are served by other ports' stores)
_RULE_KINDS = ("shell", "submodel", "concept_description", "shell_descriptor", "submodel_descriptor")
_LABELS = {"shell": "shell", "submodel": "submodel", "concept_description": "concept description"}
_MASKED_CACHE_SIZE = 256
#: registry and discovery records, and the kind of what they describe
_DESCRIBES = {"shell_descriptor": "shell", "submodel_descriptor": "submodel", "asset_links": "shell"}

#: what a caller may do with an object: see it all, see it with values redacted, or not know it exists
READ, VIEW, NONE = "read", "view", "none"


class PolicyStore:
    """A :class:`~aas_server.store.base.Store` for one port; see the module docstring.

    :param inner: the store holding the raw data
    :param rules: the port's access rules; ``None`` grants every right (an internal port without rules)
    :param masker: the port's masking profile; ``None`` masks nothing
    :param public_asset_id_names: specificAssetId names that PUBLIC_READABLE makes visible to every partner
    """

    def __init__(self, inner: Store, rules: RuleSource | None, masker: Masker | None,
                 public_asset_id_names: Collection[str] = DEFAULT_PUBLIC_NAMES) -> None:
        self.inner = inner
        self.rules = rules
        self.masker = masker
        self.public_asset_id_names = frozenset(public_asset_id_names)
        #: the last masking of each submodel per caller identity: its input, result and disclosures. Masking is
        #: a pure function of the two (no dp), so an equal input (compared in full) gives the same result.
        #: (caller identity, submodel id) -> (rule-filtered input, masked, disclosures, profile that masked it)
        self._masked: dict[tuple[tuple[Any, ...], str],
                           tuple[JSON, JSON, list[tuple[str | None, str | None, str]], MaskingProfile]] = {}

    # -- whom the policy applies to ------------------------------------------------------------------------------

    def _caller(self) -> Caller | None:
        """The caller the policy applies to; ``None`` for the system and for internal callers of a port without
        rules and masking (internal callers see every specificAssetId)."""
        caller = current_caller()
        if caller is None or (caller.internal and self.rules is None and self.masker is None):
            return None
        return caller

    def _ruleset(self) -> RuleSet | None:
        return self.rules.current() if self.rules is not None else None

    def _allows(self, caller: Caller, right: str, kind: str, identifier: str | None, obj: JSON | None) -> bool:
        ruleset = self._ruleset()
        if ruleset is None:
            return True
        from ..security.access_rules import Target

        return ruleset.allows(caller, right, Target(kind, identifier, obj=_header(obj) if obj else None))

    def _access(self, caller: Caller, kind: str, obj: JSON) -> str:
        if kind in _DESCRIBES and not self._described_visible(caller, _DESCRIBES[kind], obj["id"]):
            return NONE
        if kind == "asset_links":  # which links a caller may see, the discovery service decides (visibility)
            return READ
        if kind not in _RULE_KINDS:
            return READ if caller.internal else NONE
        if self._allows(caller, "READ", kind, obj["id"], obj):
            return READ
        return VIEW if self._allows(caller, "VIEW", kind, obj["id"], obj) else NONE

    # -- reading identifiables -------------------------------------------------------------------------------------

    def get(self, kind: str, identifier: str) -> JSON:
        caller = self._caller()
        obj = self.inner.get(kind, identifier)
        if caller is None:
            return obj
        shown = self._shown(caller, kind, obj)
        if shown is None:
            raise _not_found(kind, identifier)
        return shown

    def find(self, kind: str, query: Query, page: PageRequest) -> Page[JSON]:
        caller = self._caller()
        if caller is None:
            return self.inner.find(kind, query, page)
        alternatives = self._pushdown(caller, kind, query)
        taken: list[JSON] = []
        after = page.after
        while alternatives:
            batch = self._union(kind, alternatives, PageRequest(page.limit, after))
            for obj in batch.items:
                shown = self._shown(caller, kind, obj)
                if shown is not None and _matches(query, shown):
                    taken.append(shown)
                    if len(taken) == page.limit:
                        # the cursor is the last item *shown*: never the id of a hidden one
                        last = obj is batch.items[-1] and batch.next_after is None
                        return Page(taken, None if last else obj["id"])
            if batch.next_after is None:
                break
            after = batch.next_after
        return Page(taken, None)

    def _pushdown(self, caller: Caller, kind: str, query: Query) -> list[Query]:
        """The query narrowed by each alternative the rules can push into the store (``[]``: nothing can match)."""
        ruleset = self._ruleset()
        pushed = ruleset.store_filter(caller, "READ", kind) if ruleset is not None and kind in _RULE_KINDS else None
        if pushed is None:
            return [query]
        narrowed = [_narrow(query, alternative) for alternative in pushed]
        return [q for q in narrowed if q is not None]

    def _union(self, kind: str, queries: list[Query], page: PageRequest) -> Page[JSON]:
        """One page of the union of ``queries`` in id order (the keyset order of every store)."""
        pages = [self.inner.find(kind, q, page) for q in queries]
        if len(pages) == 1:
            return pages[0]
        unfinished = [p.items[-1]["id"] for p in pages if p.next_after is not None and p.items]
        boundary = min(unfinished) if unfinished else None  # beyond it, an unfinished alternative may hold more
        merged = {o["id"]: o for p in pages for o in p.items if boundary is None or o["id"] <= boundary}
        return Page([merged[i] for i in sorted(merged)], boundary)

    def _shown(self, caller: Caller, kind: str, obj: JSON) -> JSON | None:
        """What ``caller`` sees of ``obj``; ``None`` when it is hidden."""
        access = self._access(caller, kind, obj)
        if access == NONE:
            return None
        ruleset = self._ruleset()
        shown = ruleset.filter_fields(caller, kind, obj) if ruleset is not None and kind in _RULE_KINDS else obj
        if access == VIEW and kind != "submodel":  # a submodel's elements are VIEW-filtered by the rules
            shown = _viewed(shown)
        if kind == "shell":
            shown = self._shell(caller, shown)
        elif kind == "submodel":
            shown = self._submodel(caller, shown)
        elif kind == "shell_descriptor" and shown.get("submodelDescriptors"):
            shown = {**shown, "submodelDescriptors": [
                d for d in shown["submodelDescriptors"] if self._access(caller, "submodel_descriptor", d) != NONE]}
        if not caller.internal and kind in _LABELS:
            disclose(obj["id"] if kind == "submodel" else None, None if kind == "submodel" else obj["id"],
                     "raw" if access == READ else "redacted")
        return shown

    def _shell(self, caller: Caller, shell: JSON) -> JSON:
        """specificAssetIds by Catena-X visibility; references to submodels and shells the caller may not see
        are left out, as the ids of hidden objects would tell that they exist."""
        shown = dict(shell)
        info = shell.get("assetInformation")
        if info and info.get("specificAssetIds"):
            visible = visible_asset_ids(info["specificAssetIds"], caller, self.public_asset_id_names)
            shown["assetInformation"] = {k: v for k, v in info.items() if k != "specificAssetIds"}
            if visible:
                shown["assetInformation"]["specificAssetIds"] = visible
        if shell.get("submodels"):
            refs = [r for r in shell["submodels"] if self._visible(caller, "submodel", referenced_submodel(r))]
            if refs:
                shown["submodels"] = refs
            else:
                del shown["submodels"]
        derived = (shell.get("derivedFrom") or {}).get("keys") or [{}]
        if "derivedFrom" in shell and not self._visible(caller, "shell", derived[-1].get("value")):
            del shown["derivedFrom"]
        return shown

    def _described_visible(self, caller: Caller, kind: str, identifier: str) -> bool:
        """A descriptor or asset links of a shell or submodel held here are seen only with it; of one held
        elsewhere, as the rules let the caller see its descriptor."""
        try:
            return self._access(caller, kind, self.inner.get(kind, identifier)) != NONE
        except NotFoundError:
            pass
        if kind == "submodel":
            return True  # a submodel descriptor's own rules decide
        try:
            descriptor = self.inner.get("shell_descriptor", identifier)
        except NotFoundError:
            return False
        return self._allows(caller, "READ", "shell_descriptor", identifier, descriptor) or self._allows(
            caller, "VIEW", "shell_descriptor", identifier, descriptor)

    def _visible(self, caller: Caller, kind: str, identifier: str | None) -> bool:
        if identifier is None:
            return False
        try:
            obj = self.inner.get(kind, identifier)
        except NotFoundError:
            return False
        return self._access(caller, kind, obj) != NONE

    # -- submodels and their elements --------------------------------------------------------------------------------

    def _submodel(self, caller: Caller, submodel: JSON) -> JSON:
        ruleset = self._ruleset()
        ruled = ruleset.filter_submodel(caller, submodel) if ruleset is not None else submodel
        if self.masker is None:
            return ruled
        profile = self.masker.profile  # a reloaded profile makes every cached masking stale
        if any(rule.transform == "dp" and rule.applies_to(ruled, caller) for rule in profile.rules):
            return self.masker.mask_submodel(ruled, caller)  # a release depends on more (budgets, fleets)
        key = (_masking_identity(caller), submodel["id"])
        cached = self._masked.get(key)
        if cached is not None and cached[3] is profile and cached[0] == ruled:
            masked, disclosures = cached[1], cached[2]
        else:
            with collecting() as disclosures:
                masked = self.masker.mask_submodel(ruled, caller)
            if len(self._masked) >= _MASKED_CACHE_SIZE:
                self._masked.clear()
            self._masked[key] = (ruled, masked, disclosures, profile)
        for disclosure in disclosures:
            disclose(*disclosure)
        return masked

    def _element(self, caller: Caller, header: JSON, path: IdShortPath, element: JSON,
                 ancestors: list[JSON]) -> JSON | None:
        """The element at ``path`` as ``caller`` sees it; ``None`` when rules hide it or masking drops it.

        ``ancestors`` are the raw elements above it (top-level first), whose masking rules it inherits.
        """
        ruleset = self._ruleset()
        where = format_path(path)
        ruled = ruleset.filter_element(caller, header, where, element) if ruleset is not None else element
        if ruled is None or self.masker is None:
            return ruled
        return self.masker.mask_element(header, where, ruled, caller, ancestors)

    def _submodel_header(self, caller: Caller, submodel_id: str) -> JSON:
        """The header of a submodel ``caller`` may see. :raises NotFoundError: missing or hidden (alike)"""
        header = _header(self.inner.get("submodel", submodel_id))
        if self._access(caller, "submodel", header) == NONE:
            raise _not_found("submodel", submodel_id)
        return header

    def find_elements(self, submodel_id: str, page: PageRequest) -> Page[JSON]:
        caller = self._caller()
        if caller is None:
            return self.inner.find_elements(submodel_id, page)
        header = self._submodel_header(caller, submodel_id)
        taken: list[JSON] = []
        after = page.after
        while True:
            # ask for exactly what is missing: the store's cursor then continues right after the last one seen
            batch = self.inner.find_elements(submodel_id, PageRequest(page.limit - len(taken), after))
            shown = (self._element(caller, header, (e["idShort"],), e, []) for e in batch.items)
            taken += [e for e in shown if e is not None]
            if batch.next_after is None or len(taken) == page.limit:
                return Page(taken, batch.next_after)
            after = batch.next_after

    def get_element(self, submodel_id: str, id_short: str) -> JSON:
        caller = self._caller()
        if caller is None:
            return self.inner.get_element(submodel_id, id_short)
        header = self._submodel_header(caller, submodel_id)
        shown = self._element(caller, header, (id_short,), self.inner.get_element(submodel_id, id_short), [])
        if shown is None:
            raise NotFoundError("submodel element not found", path=id_short)
        return shown

    # -- attachments and records ------------------------------------------------------------------------------------

    def get_attachment(self, key: str) -> Attachment:
        """The content of a File (or a thumbnail, a package) the caller sees unmasked; a masked one is withheld."""
        caller = self._caller()
        if caller is None:
            return self.inner.get_attachment(key)
        if not self._attachment_disclosed(caller, key):
            if not caller.internal:
                disclose(None, key.replace("\n", " ").strip(), "withheld")
            raise NotFoundError("no file content stored for this element")
        return self.inner.get_attachment(key)

    def _attachment_disclosed(self, caller: Caller, key: str) -> bool:
        owner, _, rest = key.partition("\n")
        if owner == "shell-thumbnail":
            return self._visible(caller, "shell", rest.rstrip("\n"))
        if owner == "package":
            return self._package_disclosed(caller, rest.rstrip("\n"))
        path_text = rest.rstrip("\n")
        if not path_text:
            return False
        path = parse_path(path_text)
        try:
            raw = tree.find(self.inner.get_element(owner, str(path[0])), path)
            top = self.get_element(owner, str(path[0]))
            return tree.find(top, path) == raw
        except NotFoundError:
            return False

    def _package_disclosed(self, caller: Caller, package_id: str) -> bool:
        """A package is the file as uploaded: only a caller who may read each of its shells unmasked gets it."""
        try:
            record = self.inner.get_record("packages", package_id)
        except NotFoundError:
            return False
        return self.masker is None and all(
            self._readable(caller, "shell", shell_id) for shell_id in record.get("aasIds", [])
        )

    def _readable(self, caller: Caller, kind: str, identifier: str) -> bool:
        try:
            obj = self.inner.get(kind, identifier)
        except NotFoundError:
            return False
        return self._access(caller, kind, obj) == READ

    def get_record(self, collection: str, key: str) -> JSON:
        caller = self._caller()
        record = self.inner.get_record(collection, key)
        if caller is None or collection not in _API_RECORDS and caller.internal:
            return record
        shown = self._shown_record(caller, collection, record)
        if shown is None:
            raise NotFoundError(f"{collection} record not found", path=key)
        return shown

    def find_records(self, collection: str, page: PageRequest) -> Page[JSON]:
        caller = self._caller()
        if caller is None or collection not in _API_RECORDS and caller.internal:
            return self.inner.find_records(collection, page)
        if collection not in _API_RECORDS:
            return Page([], None)
        found = self.inner.find_records(collection, page)
        shown = (self._shown_record(caller, collection, r) for r in found.items)
        return Page([r for r in shown if r is not None], found.next_after)

    def _shown_record(self, caller: Caller, collection: str, record: JSON) -> JSON | None:
        if collection == BULK_COLLECTION:
            if not caller.internal and record.get(_REQUESTER) != _requester(caller):
                return None
            return {k: v for k, v in record.items() if k != _REQUESTER}
        if collection == "packages":
            return record if self._package_disclosed(caller, record["packageId"]) else None
        if collection == "operation-results":
            return self._operation_result(caller, record)
        return None

    def _operation_result(self, caller: Caller, record: JSON) -> JSON | None:
        """An asynchronous Operation's result, if the caller sees the Operation: its arguments masked as the
        Operation's variables are, and, on external ports, no handler's message text (it may quote raw data)."""
        submodel_id, path = record["submodelId"], parse_path(record["path"])
        try:
            header = self._submodel_header(caller, submodel_id)
            tree.find(self.get_element(submodel_id, str(path[0])), path)
            raw_top = self.inner.get_element(submodel_id, str(path[0]))
        except NotFoundError:
            return None
        ancestors = [tree.find(raw_top, path[: i + 1]) for i in range(len(path))]
        shown = dict(record)
        for key in ("outputArguments", "inoutputArguments"):
            if key in record:
                values = [self._element(caller, header, (*path, a["value"].get("idShort", "")), a["value"], ancestors)
                          for a in record[key]]
                shown[key] = [{"value": v} for v in values if v is not None]
        if not caller.internal and "messages" in record:
            shown["messages"] = [{**m, "text": f"the operation ended {record['executionState']}"}
                                 for m in record["messages"]]
        return shown

    # -- writes ----------------------------------------------------------------------------------------------------

    def _require(self, caller: Caller | None, right: str, kind: str, identifier: str, obj: JSON | None = None) -> None:
        """:raises ForbiddenError: the caller sees the object but lacks ``right``
        :raises NotFoundError: the caller lacks ``right`` and the object is hidden or missing (alike)"""
        if caller is None:
            return
        try:
            current: JSON | None = self.inner.get(kind, identifier)
        except NotFoundError:
            current = None
        checked: list[JSON | None] = [o for o in (current, obj) if o is not None] or [None]
        if all(self._allows(caller, right, kind, identifier, o) for o in checked):
            return
        if right == "CREATE" or current is not None and self._access(caller, kind, current) != NONE:
            raise ForbiddenError(f"no {right} right for this {_LABELS.get(kind, kind)}", path=identifier)
        raise _not_found(kind, identifier)

    def create(self, kind: str, obj: JSON) -> None:
        caller = self._caller()
        self._require(caller, "CREATE", kind, obj["id"], obj)
        try:
            self.inner.create(kind, obj)
        except ConflictError:
            current = self.inner.get(kind, obj["id"])
            if caller is not None and self._access(caller, kind, current) == NONE:
                raise ForbiddenError(f"no CREATE right for this {_LABELS.get(kind, kind)}", path=obj["id"]) from None
            raise

    def replace(self, kind: str, obj: JSON) -> None:
        """Only objects the caller sees as stored: edits start from what the caller sees (PATCH, asset
        information), so replacing a masked one would overwrite what is hidden with masked values."""
        caller = self._caller()
        self._require(caller, "UPDATE", kind, obj["id"], obj)
        if caller is not None:
            current = self.inner.get(kind, obj["id"])
            if self._shown(caller, kind, current) != current:
                raise ForbiddenError(f"this {_LABELS.get(kind, kind)} is masked for you and cannot be replaced "
                                     f"through this port", path=obj["id"])
        self.inner.replace(kind, obj)

    def delete(self, kind: str, identifier: str) -> None:
        self._require(self._caller(), "DELETE", kind, identifier)
        self.inner.delete(kind, identifier)

    def update_header(self, submodel_id: str, change: Callable[[JSON], JSON]) -> JSON:
        caller = self._caller()
        self._require(caller, "UPDATE", "submodel", submodel_id)
        if caller is None:
            return self.inner.update_header(submodel_id, change)

        def checked(header: JSON) -> JSON:
            new = change(header)
            self._require(caller, "UPDATE", "submodel", submodel_id, new)
            return new

        return self.inner.update_header(submodel_id, checked)

    def add_element(self, submodel_id: str, element: JSON) -> None:
        self._require(self._caller(), "UPDATE", "submodel", submodel_id)
        self.inner.add_element(submodel_id, element)

    def update_element(self, submodel_id: str, id_short: str, change: Callable[[JSON], JSON]) -> JSON:
        """Only elements the caller sees as stored: ``change`` works on the raw element, and its errors (a
        value that does not fit a new valueType, say) would quote raw values of a masked one."""
        caller = self._caller()
        self._require(caller, "UPDATE", "submodel", submodel_id)
        if caller is not None:
            shown = self.get_element(submodel_id, id_short)  # a hidden element answers like a missing one
            if shown != self.inner.get_element(submodel_id, id_short):
                raise ForbiddenError("this element is masked for you and cannot be changed through this port",
                                     path=id_short)
        return self.inner.update_element(submodel_id, id_short, change)

    def delete_element(self, submodel_id: str, id_short: str) -> None:
        caller = self._caller()
        self._require(caller, "UPDATE", "submodel", submodel_id)
        if caller is not None:
            self.get_element(submodel_id, id_short)
        self.inner.delete_element(submodel_id, id_short)

    def put_attachment(self, key: str, attachment: Attachment) -> None:
        self._require_attachment_owner(key)
        self.inner.put_attachment(key, attachment)

    def delete_attachments(self, prefix: str) -> None:
        self._require_attachment_owner(prefix)
        self.inner.delete_attachments(prefix)

    def _require_attachment_owner(self, key: str) -> None:
        """Attachments change with their owner: UPDATE on the shell or submodel (a deleted owner: DELETE)."""
        caller = self._caller()
        if caller is None:
            return
        owner, _, rest = key.partition("\n")
        if owner == "package":
            return
        kind, identifier = ("shell", rest.rstrip("\n")) if owner == "shell-thumbnail" else ("submodel", owner)
        try:
            self.inner.get(kind, identifier)
        except NotFoundError:
            self._require(caller, "DELETE", kind, identifier)
            return
        self._require(caller, "UPDATE", kind, identifier)

    def _require_api_records(self, collection: str, key: str) -> None:
        """Callers of external ports reach only the records of API routes (operation results, packages)."""
        caller = self._caller()
        if caller is not None and collection not in _API_RECORDS and not caller.internal:
            raise NotFoundError(f"{collection} record not found", path=key)

    def put_record(self, collection: str, key: str, doc: JSON) -> None:
        self._require_api_records(collection, key)
        caller = self._caller()
        if collection == BULK_COLLECTION and caller is not None:
            doc = {**doc, _REQUESTER: _requester(caller)}
        self.inner.put_record(collection, key, doc)

    def delete_record(self, collection: str, key: str) -> None:
        self._require_api_records(collection, key)
        self.inner.delete_record(collection, key)

    def update_record(self, collection: str, key: str, change: Callable[[JSON | None], JSON | None]) -> JSON | None:
        self._require_api_records(collection, key)
        return self.inner.update_record(collection, key, change)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()


def _requester(caller: Caller) -> JSON:
    """Who made a bulk request, as kept with its outcome."""
    return {"port": caller.port, "partner": caller.partner}


def _masking_identity(caller: Caller) -> tuple[Any, ...]:
    """Everything of a caller that a masking profile can match on (``CallerMatch``) or key a hash with."""
    return (caller.port, caller.internal, caller.partner, caller.subject, caller.bpn, caller.roles,
            caller.contract_agreement)


def _viewed(obj: JSON) -> JSON:
    """What VIEW without READ shows of a shell or concept description: that it exists (and the asset kind, which
    a shell must have)."""
    shown: JSON = {k: obj[k] for k in ("modelType", "id", "idShort") if k in obj}
    if "assetInformation" in obj:
        shown["assetInformation"] = {"assetKind": obj["assetInformation"].get("assetKind", "Instance")}
    return shown


def _header(obj: JSON) -> JSON:
    return {k: v for k, v in obj.items() if k != "submodelElements"} if "submodelElements" in obj else obj


def _not_found(kind: str, identifier: str) -> NotFoundError:
    """Exactly what the stores raise for a missing identifiable: a hidden one must not differ."""
    return NotFoundError(f"{_LABELS.get(kind, kind)} not found", path=identifier)


def _narrow(query: Query, alternative: Query) -> Query | None:
    """Both queries at once; ``None`` when they cannot both match."""
    id_shorts = {q for q in (query.id_short, alternative.id_short) if q is not None}
    semantic_ids = {q for q in (query.semantic_id, alternative.semantic_id) if q is not None}
    if len(id_shorts) > 1 or len(semantic_ids) > 1:
        return None
    terms = tuple(dict.fromkeys((*query.terms, *alternative.terms)))
    return Query(next(iter(id_shorts), None), next(iter(semantic_ids), None), terms)


def _matches(query: Query, shown: JSON) -> bool:
    """The query checked against what the caller sees (the store checked it against the raw object)."""
    if query == Query():
        return True
    fields = index_fields(shown)
    return ((query.id_short is None or fields.id_short == query.id_short)
            and (query.semantic_id is None or fields.semantic_id == query.semantic_id)
            and all(term in fields.terms for term in query.terms))
