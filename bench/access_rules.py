"""Access rule decisions for a 100-element submodel in process, beside copying it, in one run.

What the external port pays per ``GET /submodels/{id}``: one ``allows(READ, submodel)`` and the element filtering
(``filter_submodel``; ``element_access`` called per element for comparison), under three rule files — a rule that
grants the whole submodel, rules that grant half of the elements by REFERABLE objects, and a formula on every
element's value (``$sme#value``). Each call runs under a fresh :class:`Caller` (a new request: nothing cached from
the previous one). The baseline is ``copy.deepcopy`` of the same submodel.

Run: python -m bench.access_rules [--repeat 2000]
"""
from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable

from aas_server.model.paths import format_path
from aas_server.security.access_rules import RuleSet, Target
from aas_server.security.caller import Caller
from bench.fixtures import submodel
from bench.masking import per_call_us

ACL = {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"}
PARTNER_BPN = {"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": "BPNL000000000001"}]}


def ruleset(rules: list[dict]) -> RuleSet:
    return RuleSet.from_text(json.dumps({"AllAccessPermissionRules": {"rules": rules}}), "bench.json")


WHOLE = ruleset([{"ACL": ACL, "OBJECTS": [{"IDENTIFIABLE": '$sm("*")'}], "FORMULA": {
    "$and": [PARTNER_BPN, {"$eq": [{"$field": "$sm#idShort"}, {"$strVal": "Bench"}]}]}}])
HALF = ruleset([{"ACL": ACL, "OBJECTS": [{"REFERABLE": f'$sme("*").P{i}'} for i in range(0, 100, 2)],
                 "FORMULA": PARTNER_BPN}])
PER_ELEMENT = ruleset([{"ACL": ACL, "OBJECTS": [{"IDENTIFIABLE": '$sm("*")'}], "FORMULA": {
    "$and": [PARTNER_BPN, {"$ne": [{"$field": "$sme#idShort"}, {"$strVal": "P7"}]}]}}])


def request(rules: RuleSet, sm: dict, per_element: bool) -> Callable[[], object]:
    header = {k: v for k, v in sm.items() if k != "submodelElements"}

    def serve() -> object:
        caller = Caller(port="external", internal=False, subject="svc", bpn="BPNL000000000001")
        assert rules.allows(caller, "READ", Target("submodel", obj=header))
        if per_element:
            return [rules.element_access(caller, header, format_path((e["idShort"],)), e)
                    for e in sm["submodelElements"]]
        return rules.filter_submodel(caller, sm)
    return serve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    sm = submodel("urn:bench:sm:rules", 100)
    shown = {name: len(rules.filter_submodel(Caller("external", False, "svc", "BPNL000000000001"), sm)
                       ["submodelElements"]) for name, rules in (("whole", WHOLE), ("half", HALF),
                                                                 ("per-element", PER_ELEMENT))}
    print(f"# 100-element submodel; elements shown: {shown}; per request, median / p90, {args.repeat} requests")
    figures = {
        "copy.deepcopy (baseline)": per_call_us(lambda: copy.deepcopy(sm), args.repeat),
        "whole submodel: filter_submodel": per_call_us(request(WHOLE, sm, False), args.repeat),
        "half by REFERABLE: filter_submodel": per_call_us(request(HALF, sm, False), args.repeat),
        "half by REFERABLE: element_access x100": per_call_us(request(HALF, sm, True), args.repeat),
        "$sme#idShort formula: filter_submodel": per_call_us(request(PER_ELEMENT, sm, False), args.repeat),
        "$sme#idShort formula: element_access x100": per_call_us(request(PER_ELEMENT, sm, True), args.repeat),
    }
    base = figures["copy.deepcopy (baseline)"][0]
    for label, (median, p90) in figures.items():
        print(f"{label:<44} {median:9.1f} us   p90 {p90:9.1f} us   {median / base:5.2f}x deepcopy")


if __name__ == "__main__":
    main()
