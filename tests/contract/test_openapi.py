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
              "Product", "Todo", "AfterSale", "Refund", "Invoice", "Policy", "Customer",
              "Followup", "Upload", "Coupon", "Promotion", "PromotionTier", "PromotionQuote",
              "QuoteReduction", "QuoteNextTier", "SizeAdvice", "SizeAlternative", "FitFeedback",
              "FeedbackSummary", "FeedbackSizeCount", "ShipPromise", "StockedProduct",
              "ViewedProduct", "PurchasedProduct", "RecentItems", "RelatedProduct",
              "PriceCheckItem", "PriceProtection"]
RESPONSES: Dict[str, Tuple[str, str, str]] = {
    "CustomerOrders": ("/api/customers/{customer_id}/orders", "get", "200"),
    "CouponList": ("/api/customers/{customer_id}/coupons", "get", "200"),
    "ViewRecorded": ("/api/customers/{customer_id}/views", "post", "201"),
    "OrderList": ("/api/orders/lookup", "post", "200"),
    "CancelledOrder": ("/api/orders/{order_id}/cancel", "post", "200"),
    "Urge": ("/api/orders/{order_id}/urge", "post", "201"),
    "Verification": ("/api/orders/{order_id}/verify", "post", "200"),
    "ProductList": ("/api/products", "get", "200"),
    "RelatedProducts": ("/api/products/{product_id}/related", "get", "200"),
    "AfterSaleList": ("/api/orders/{order_id}/after-sales", "get", "200"),
    "AfterSaleCreated": ("/api/orders/{order_id}/after-sales", "post", "201"),
    "InvoiceList": ("/api/orders/{order_id}/invoices", "get", "200"),
    "InvoiceCreated": ("/api/orders/{order_id}/invoices", "post", "201"),
    "UploadCreated": ("/api/uploads", "post", "201"),
    "TodoList": ("/api/todos", "get", "200"),
    "PromotionList": ("/api/promotions", "get", "200"),
}
# Operations answering with a component (checked above).
ANSWERS = [("Customer", "/api/customers/by-channel/{channel_user_id}", "get", "200"),
           ("Coupon", "/api/customers/{customer_id}/coupons", "post", "201"),
           ("RecentItems", "/api/customers/{customer_id}/recent", "get", "200"),
           ("PromotionQuote", "/api/promotions/quote", "get", "200"),
           ("PriceProtection", "/api/orders/{order_id}/price-protection", "post", "201"),
           ("ShipPromise", "/api/products/{product_id}/ship-promise", "get", "200"),
           ("SizeAdvice", "/api/products/{product_id}/size-advice", "get", "200")]
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


@pytest.mark.parametrize("name, path, method, status", ANSWERS, ids=[a[0] for a in ANSWERS])
def test_operations_answer_with_the_component(name: str, path: str, method: str,
                                              status: str) -> None:
    schema = _response_schema(path, method, status)
    assert schema.get("$ref") == f"#/components/schemas/{name}"
