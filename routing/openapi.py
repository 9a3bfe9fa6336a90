"""The policy's pydantic models in the OpenAPI document (OpenAPI 3.0, as the rest of the API).

drf-spectacular's pydantic extension hands over pydantic's JSON Schema (2020-12) as it is; a
few of its words mean nothing in OpenAPI 3.0 and would make the document invalid: a null
member of anyOf (→ ``nullable``), ``const`` (→ a one-value ``enum``), a numeric
``exclusiveMinimum`` (→ ``minimum`` + ``exclusiveMinimum: true``) and ``propertyNames``
(dropped), ``patternProperties`` (→ ``additionalProperties``): the exact key rules are in
the published JSON Schema of the policy file.
"""

from __future__ import annotations

from drf_spectacular.contrib.pydantic import PydanticExtension
from drf_spectacular.plumbing import ResolvedComponent
from pydantic.json_schema import model_json_schema


def to_openapi_30(node):
    if isinstance(node, list):
        return [to_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: to_openapi_30(v) for k, v in node.items() if k != "propertyNames"}
    patterns = node.pop("patternProperties", None)
    if isinstance(patterns, dict) and patterns:
        node["additionalProperties"] = next(iter(patterns.values()))
    for key in ("anyOf", "oneOf"):
        members = node.get(key)
        if isinstance(members, list) and {"type": "null"} in members:
            rest = [m for m in members if m != {"type": "null"}]
            node.pop(key)
            if len(rest) == 1:
                node = {**rest[0], **node}
            else:
                node[key] = rest
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain] = value
            node[bound] = True
    if node.get("type") == "null":
        node = {"nullable": True, **{k: v for k, v in node.items() if k != "type"}}
    return node


class PolicyModelExtension(PydanticExtension):
    target_class = "pydantic.BaseModel"
    match_subclasses = True
    priority = 1  # over drf-spectacular's own pydantic extension

    def map_serializer(self, auto_schema, direction):
        schema = model_json_schema(
            self.target, ref_template="#/components/schemas/{model}", mode="serialization"
        )
        for name, sub_schema in schema.pop("$defs", {}).items():
            auto_schema.registry.register_on_missing(
                ResolvedComponent(
                    name=name,
                    type=ResolvedComponent.SCHEMA,
                    object=name,
                    schema=to_openapi_30(sub_schema),
                )
            )
        return to_openapi_30(schema)
