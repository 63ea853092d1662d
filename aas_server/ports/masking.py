"""Per-element masking of what a port serves: the one place a masking profile is applied.

Every submodel element is checked against the profile's rules in file order; the first rule whose conditions
all hold decides its form. ``drop`` removes the element with everything inside; ``dp`` replaces it with a
differentially private release (except for an item of a SubmodelElementList: a release would break the list's
one item type, so the item is withheld); any other transform masks the element's own value and is inherited by
the elements inside it that no rule matches themselves (``keep`` included, so a ``keep`` rule exempts a subtree).
Elements no rule matches, inside no matched element, get the profile's ``default`` (``keep`` unless set).

Masking is copy-on-write: an element whose subtree nothing changes is returned as the very same object, so the
input must be treated as read-only (as the stores' JSON is). Every masked element is reported to the disclosure
audit with its form.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..model import tree
from ..model.paths import IdShortPath, format_path, parse_path
from ..security.caller import Caller
from ..store.base import JSON, Store
from .audit import record_disclosure
from .masking_profile import (
    MaskingProfile,
    MaskingProfileError,
    ProfileSource,
    Rule,
    load_profile,
    semantic_id_of,
    template_of,
)
from .masking_pseudonyms import EVERY_PARTNER, Pseudonyms
from .masking_transforms import (
    OPERATION_VARIABLES,
    generalize,
    hollow,
    marked,
    marker_form,
    pseudonymize,
    redact,
)

if TYPE_CHECKING:
    from submodels.templates import Template

    from .privacy import PrivacyEngine

__all__ = ["Masker", "MaskingProfile", "MaskingProfileError", "ProfileSource", "load_profile", "marked"]

logger = logging.getLogger(__name__)

#: the audit form of each transform that masks a value
_FORMS = {"redact": "redacted", "hmac": "hmac", "tokenize": "token", "generalize": "generalized"}


class Masker:
    """Applies one port's masking profile: a fixed one, or the current one of a :class:`ProfileSource` (each
    masking call reads it once, so a changed file takes effect with the next request).

    :param store: holds the token vault (``tokenize``)
    :param privacy: the engine behind ``dp`` rules; required when the profile has any (a reloaded profile with
        dp rules is refused without one, and the profile before stays)
    :raises ValueError: the profile has dp rules and no engine is given
    """

    def __init__(self, profile: MaskingProfile | ProfileSource, store: Store,
                 privacy: PrivacyEngine | None = None) -> None:
        self.source = profile if isinstance(profile, ProfileSource) else None
        first = profile.current() if isinstance(profile, ProfileSource) else profile
        if first.uses_dp and privacy is None:
            raise ValueError(f"masking profile {first.name!r} has dp rules: a PrivacyEngine is required")
        self.store = store
        self.privacy = privacy
        self._state = _State(first, Pseudonyms(first.secret, store) if first.secret is not None else None)
        self._fallbacks_logged: set[tuple[str, str, str]] = set()

    @property
    def profile(self) -> MaskingProfile:
        """The profile in force."""
        return self.state().profile

    def state(self) -> _State:
        """The profile in force with its pseudonyms (kept, with their vault cache, while the secret is)."""
        state = self._state
        profile = self.source.current() if self.source is not None else state.profile
        if profile is state.profile or profile is state.refused:
            return state
        if profile.uses_dp and self.privacy is None:
            logger.error("masking profile %s not applied, keeping the profile loaded before: it has dp rules and "
                         "this port has no privacy engine", profile.name)
            self._state = dataclasses.replace(state, refused=profile)
            return state
        pseudonyms = state.pseudonyms if profile.secret == state.profile.secret else (
            Pseudonyms(profile.secret, self.store) if profile.secret is not None else None)
        self._state = _State(profile, pseudonyms)
        return self._state

    def mask_submodel(self, submodel: JSON, caller: Caller | None) -> JSON:
        """``submodel`` (with ``submodelElements``) as ``caller`` may see it: a new dict sharing untouched
        subtrees with the input."""
        run = _Run(self, submodel, caller)
        out = dict(submodel)
        elements = submodel.get("submodelElements")
        if elements and not run.inert:
            masked = run.children(elements, "", "", run.default, is_list=False)
            if masked:
                out["submodelElements"] = masked
            else:
                out.pop("submodelElements")
        run.report()
        return out

    def mask_element(self, submodel_header: JSON, path: str, element: JSON, caller: Caller | None,
                     ancestors: Sequence[JSON] = ()) -> JSON | None:
        """The element at idShortPath ``path`` as ``caller`` may see it; ``None`` when it is dropped.

        For a nested ``path`` pass the raw ``ancestors`` (top-level element first): the rules that match them
        (by semanticId or qualifier too) decide for the element when none matches it. Without them only the
        ancestors' paths are checked. Prefer :meth:`mask_at` where list items may be dropped (it addresses the
        masked list, whose indexes shift).
        """
        segments = parse_path(path)
        run = _Run(self, submodel_header, caller)
        inherited = run.default
        slashed = ""
        for depth, segment in enumerate(segments[:-1]):
            slashed += f"/{segment}"
            ancestor = ancestors[depth] if depth < len(ancestors) else {}
            inherited = run.decide(ancestor, slashed, inherited)
            if inherited.transform in ("drop", "dp"):  # the element is not served on its own
                return None
        result = element if run.inert else run.element(element, path, f"{slashed}/{segments[-1]}", inherited,
                                                       in_list=isinstance(segments[-1], int))
        run.report()
        return result

    def mask_at(self, submodel_header: JSON, top: JSON, path: str, caller: Caller | None) -> JSON | None:
        """The element at ``path`` in the masked top-level element ``top`` (``None``: dropped, or no such path
        in the masked view); only what lies at or below ``path`` is reported to the audit."""
        segments = parse_path(path)
        run = _Run(self, submodel_header, caller)
        if run.inert:
            masked: JSON | None = top
        else:
            masked = run.element(top, str(segments[0]), f"/{segments[0]}", run.default)
        try:
            found = tree.find(masked, segments) if masked is not None else None
        except NotFoundError:
            found = None
        run.report(within=path if found is not None else None)
        return found

    def fell_back(self, rule: Rule, element: JSON) -> None:
        key = (rule.name, element.get("modelType", ""), element.get("valueType", ""))
        if key not in self._fallbacks_logged:
            self._fallbacks_logged.add(key)
            logger.warning("masking rule %r (line %d): %s does not fit %s %s; redacted instead", rule.name,
                           rule.line, rule.transform, key[1], key[2] or "")


@dataclasses.dataclass(frozen=True)
class _State:
    profile: MaskingProfile
    pseudonyms: Pseudonyms | None
    #: a reloaded profile this masker cannot apply (logged once)
    refused: MaskingProfile | None = None


class _Run:
    """One masking call: the profile in force, the submodel, the caller and the rules that can apply to both."""

    def __init__(self, masker: Masker, header: JSON, caller: Caller | None) -> None:
        self.masker = masker
        state = masker.state()
        self.default = state.profile.default
        self.pseudonyms = state.pseudonyms
        self.caller = caller
        self.submodel_id = header.get("id")
        self.submodel_semantic_id = semantic_id_of(header)
        self.rules = [rule for rule in state.profile.rules if rule.applies_to(header, caller)]
        #: nothing can change: no rule applies and unmatched elements are kept
        self.inert = not self.rules and self.default.transform == "keep"
        #: (path in the masked view, stored path in slash form, form) of every masked element
        self.disclosures: list[tuple[str, str, str]] = []

    def decide(self, element: JSON, slashed: str, inherited: Rule) -> Rule:
        for rule in self.rules:
            if rule.matches(element, slashed):
                return rule
        return inherited

    def element(self, element: JSON, path: str, slashed: str, inherited: Rule, in_list: bool = False) -> JSON | None:
        """``element`` masked. ``path`` is its idShortPath in the masked view (what partners address: list items
        after a dropped one move up), ``slashed`` its stored path (what rules match and the audit records);
        ``in_list``: it is an item of a SubmodelElementList."""
        rule = self.decide(element, slashed, inherited)
        transform = rule.transform
        if transform == "drop":
            self.disclosures.append((path, slashed, "dropped"))
            return None
        if transform == "dp":
            return self.withheld(element, path, slashed) if in_list else self.release(rule, element, path, slashed)
        out = element if transform == "keep" else self.transform(rule, element, path, slashed)
        kind = element.get("modelType", "")
        key = tree.CHILDREN_KEY.get(kind)
        kids = element.get(key) if key else None
        if kids:
            masked = self.children(kids, path, slashed, rule, is_list=kind == "SubmodelElementList")
            if masked is not kids:
                out = dict(out) if out is element else out
                if masked:
                    out[key] = masked  # type: ignore[index]
                else:
                    out.pop(key)  # type: ignore[arg-type]
        if kind == "Operation":
            out = self.operation_variables(element, out, path, slashed, rule)
        return out

    def children(self, kids: list[JSON], path: str, slashed: str, inherited: Rule, is_list: bool) -> list[JSON]:
        """``kids`` masked; the very same list when none changed."""
        changed: list[JSON] | None = None
        for i, kid in enumerate(kids):
            if is_list:
                shown = i if changed is None else len(changed)  # index in the masked list
                masked = self.element(kid, f"{path}[{shown}]", f"{slashed}/{i}", inherited, in_list=True)
            else:
                id_short = kid.get("idShort", "")
                masked = self.element(kid, f"{path}.{id_short}" if path else id_short, f"{slashed}/{id_short}",
                                      inherited)
            if masked is not kid and changed is None:
                changed = kids[:i]
            if changed is not None and masked is not None:
                changed.append(masked)
        return kids if changed is None else changed

    def operation_variables(self, element: JSON, out: JSON, path: str, slashed: str, rule: Rule) -> JSON:
        """An Operation's variables, addressed ``Operation.<idShort>`` like the API's operation results."""
        for key in OPERATION_VARIABLES:
            variables = element.get(key)
            if not variables:
                continue
            values = [v.get("value", {}) for v in variables]
            masked = self.children(values, path, slashed, rule, is_list=False)
            if masked is not values:
                out = dict(out) if out is element else out
                if masked:
                    out[key] = [{"value": v} for v in masked]
                else:
                    out.pop(key)
        return out

    def transform(self, rule: Rule, element: JSON, path: str, slashed: str) -> JSON:
        transform = rule.transform
        form = _FORMS[transform]
        masked: JSON | None
        if transform == "redact":
            masked = redact(element)
        elif transform == "generalize":
            masked = generalize(element, rule.generalization) if rule.generalization else None
            if masked is not None and masked is not element and not self.fits_template(masked, slashed):
                masked = None
        else:
            masked = pseudonymize(element, self.pseudonymizer(rule))
        if masked is None:
            self.masker.fell_back(rule, element)
            masked, form = redact(element), "redacted"
        if masked is element:  # no value of its own (a collection, a Capability, an empty Property)
            return element
        self.disclosures.append((path, slashed, form))
        return marked(masked, form)

    @functools.cached_property
    def template(self) -> Template | None:
        """The submodel's template, looked up only when a generalized value is checked against it."""
        return template_of(self.submodel_semantic_id)

    def fits_template(self, masked: JSON, slashed: str) -> bool:
        """A generalized value still matches the pattern the submodel's template sets for the element (a
        Catena-X date, say): a partner's aspect schema checks it."""
        if masked.get("modelType") not in ("Property", "Range"):
            return True
        if self.template is None:
            return True
        try:
            spec = self.template.element(format_path(_stored(slashed)))
        except ValueError:  # an element the template does not know
            return True
        return spec.pattern is None or all(re.search(spec.pattern, str(masked[key]))
                                           for key in ("value", "min", "max") if key in masked)

    def pseudonymizer(self, rule: Rule) -> Any:
        pseudonyms = self.pseudonyms
        assert pseudonyms is not None
        partner = self.caller.partner if rule.per_partner and self.caller is not None else EVERY_PARTNER
        if rule.transform == "hmac":
            return lambda value: pseudonyms.hmac(partner, value)
        return lambda value: pseudonyms.token(partner, value)

    def release(self, rule: Rule, element: JSON, path: str, slashed: str) -> JSON:
        """A dp rule's element: the privacy engine's release (computed once per partner and data version)."""
        engine = self.masker.privacy
        assert engine is not None
        released: JSON = engine.release(self.caller, str(self.submodel_id), path, element, rule.dp_spec)
        form = marker_form(released)
        if form is None:
            form = "dp"
            released = marked(dict(released), form)
        self.disclosures.append((path, slashed, form))
        return released

    def withheld(self, item: JSON, path: str, slashed: str) -> JSON:
        """A list item a dp rule reaches. A release (a collection with its own semanticId) would break the list's
        one item type and semanticId (AASd-108, AASd-107, AASd-114), so the item keeps its kind, semanticId and
        valueType and loses its value and all inside it; nothing is released or charged to a budget."""
        self.disclosures.append((path, slashed, "withheld"))
        return marked(hollow(item), "withheld")

    def report(self, within: str | None = "") -> None:
        """Hand the disclosures to the audit, with their stored paths: all (``within`` empty), those at or below
        the masked-view path ``within`` (a dropped element only strictly below: at ``within`` itself another
        element is served), or none."""
        if within is None:
            return
        for path, slashed, form in self.disclosures:
            below = path.startswith((f"{within}.", f"{within}["))
            if not within or below or (path == within and form != "dropped"):
                record_disclosure(self.submodel_id, format_path(_stored(slashed)), form)


def _stored(slashed: str) -> IdShortPath:
    """``"/Coll/List/2/X"`` -> ``("Coll", "List", 2, "X")``: a stored path from the slash form rules match."""
    return tuple(int(s) if s.isdigit() else s for s in slashed[1:].split("/"))
