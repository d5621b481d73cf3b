"""shop/openapi.yaml against the contract's models: every object the models define has the
same fields, required fields, types, nullability and enum values in the OpenAPI file, so
the file a real shop implements cannot drift from what the assistant parses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Type

import pytest
import yaml

import contract
from contract import ContractModel

SPEC: Dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "shop" / "openapi.yaml").read_text(encoding="utf-8"))

# Where each model is in the OpenAPI file: a component, or a response of an operation.
COMPONENTS = ["Address", "OrderItem", "Order", "TrackingEvent", "Tracking", "ProductSummary",
              "Product", "Todo", "AfterSale", "Refund", "Invoice", "Policy"]
RESPONSES: Dict[str, Tuple[str, str, str]] = {
    "CustomerOrders": ("/api/customers/{customer_id}/orders", "get", "200"),
    "OrderList": ("/api/orders/lookup", "post", "200"),
    "ProductList": ("/api/products", "get", "200"),
    "AfterSaleList": ("/api/orders/{order_id}/after-sales", "get", "200"),
    "AfterSaleCreated": ("/api/orders/{order_id}/after-sales", "post", "201"),
    "InvoiceList": ("/api/orders/{order_id}/invoices", "get", "200"),
    "InvoiceCreated": ("/api/orders/{order_id}/invoices", "post", "201"),
}
ENUMS = {"OrderStatus": contract.OrderStatus, "ReasonCode": contract.ReasonCode,
         "TodoKind": contract.TodoKind}


def _lookup(root: Dict[str, Any], ref: str) -> Dict[str, Any]:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _response_schema(path: str, method: str, status: str) -> Dict[str, Any]:
    response = SPEC["paths"][path][method]["responses"][status]
    if "$ref" in response:
        response = _lookup(SPEC, response["$ref"])
    return response["content"]["application/json"]["schema"]


def _object(schema: Dict[str, Any], root: Dict[str, Any]) -> Tuple[Dict[str, Any], set]:
    """Properties and required names of an object schema, allOf parts merged."""
    if "$ref" in schema:
        return _object(_lookup(root, schema["$ref"]), root)
    properties, required = dict(schema.get("properties") or {}), set(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        more, needed = _object(part, root)
        properties.update(more)
        required |= needed
    return properties, required


def _shape(schema: Dict[str, Any], root: Dict[str, Any]) -> Any:
    """What a property is, comparable across both files: its type and format, its enum
    values, its items' shape, or the fields of the object it refers to."""
    if len(schema.get("allOf") or []) == 1:  # `nullable` next to a $ref
        schema = schema["allOf"][0]
    if "$ref" in schema:
        target = _lookup(root, schema["$ref"])
        if "enum" not in target:
            return ("object", schema["$ref"].rsplit("/", 1)[-1])
        schema = target
    if "enum" in schema:
        return ("enum", frozenset(value for value in schema["enum"] if value is not None))
    kind = schema.get("type")
    if kind == "array":
        return ("array", _shape(schema.get("items") or {}, root))
    if kind == "object" and "additionalProperties" in schema:
        return ("map", _shape(schema["additionalProperties"] or {}, root))
    return (kind, schema.get("format"))


def _model_shapes(model: Type[ContractModel]) -> Tuple[Dict[str, Any], set, Dict[str, bool]]:
    schema = model.schema()
    properties, required = _object(schema, schema)
    shapes = {name: _shape(prop, schema) for name, prop in properties.items()}
    nullable = {name: field.allow_none for name, field in model.__fields__.items()}
    return shapes, required, nullable


def _spec_shapes(schema: Dict[str, Any]) -> Tuple[Dict[str, Any], set, Dict[str, bool]]:
    properties, required = _object(schema, SPEC)
    shapes = {name: _shape(prop, SPEC) for name, prop in properties.items()}
    nullable = {name: bool(prop.get("nullable")) for name, prop in properties.items()}
    return shapes, required, nullable


def _loose(shape: Any) -> Any:
    """OpenAPI's free-form objects ({type: object} with properties) match a model's map."""
    if shape[0] == "array":
        return ("array", _loose(shape[1]))
    return ("object", None) if shape[0] == "map" or shape == ("object", None) else shape


CASES = [(name, lambda name=name: SPEC["components"]["schemas"][name]) for name in COMPONENTS]
CASES += [(name, lambda where=where: _response_schema(*where)) for name, where in
          RESPONSES.items()]


@pytest.mark.parametrize("name, spec_schema", CASES, ids=[name for name, _ in CASES])
def test_openapi_object_matches_the_model(name: str, spec_schema: Any) -> None:
    model = getattr(contract, name)
    shapes, required, nullable = _model_shapes(model)
    spec, spec_required, spec_nullable = _spec_shapes(spec_schema())
    assert sorted(spec) == sorted(shapes), "fields"
    assert sorted(spec_required) == sorted(required), "required fields"
    assert {k: v for k, v in spec_nullable.items() if v} == \
        {k: v for k, v in nullable.items() if v}, "nullable fields"
    different = {field: (spec[field], shapes[field]) for field in shapes
                 if _loose(spec[field]) != _loose(shapes[field])}
    assert different == {}, "types (OpenAPI, model)"


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_openapi_enum_matches_the_contract(name: str) -> None:
    values: Optional[list] = SPEC["components"]["schemas"][name].get("enum")
    assert values == [member.value for member in ENUMS[name]]
