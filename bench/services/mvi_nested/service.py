"""Benchmark workload 3 for mvi-runtime: a nested object with 20 declared fields (Order 8, Customer 5, Address 4,
Line 3) as dataclasses; the runtime validates it in C++ and builds the dataclasses. Same classes and logic as
`Order`/`order_total` in ../fastapi_app.py (pydantic v1 models there) and ../mvi_nested_pydantic."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from mvi import service


@dataclass
class Address:
    street: str
    city: str
    postcode: str
    country: str


@dataclass
class Customer:
    id: int
    name: str
    email: str
    vip: bool
    address: Address


@dataclass
class Line:
    sku: str
    quantity: int
    unit_price: float


@dataclass
class Order:
    order_id: int
    created: dt.datetime
    customer: Customer
    lines: list[Line]
    currency: str
    discount: float = 0.0
    notes: Optional[str] = None
    tags: list[str] = field(default_factory=list)


@service.entrypoint
def order_total(order: Order) -> dict:
    items = sum(line.quantity for line in order.lines)
    subtotal = sum(line.quantity * line.unit_price for line in order.lines)
    return {
        "order_id": order.order_id,
        "customer": order.customer.name,
        "country": order.customer.address.country,
        "items": items,
        "total": round(subtotal * (1.0 - order.discount), 2),
        "currency": order.currency,
        "created": order.created.isoformat(),
        "tags": len(order.tags),
    }


if __name__ == "__main__":
    service.run()
