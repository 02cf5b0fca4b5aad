"""Benchmark workload 3, variant: the same 20-field nested object as pydantic v1 models, exactly the classes the
FastAPI app uses. The runtime validates in C++ first, then pydantic validates again when the model is built, so
this is what a user who keeps their FastAPI models pays. Same logic as ../mvi_nested."""

import datetime as dt
from typing import List, Optional

from pydantic import BaseModel

from mvi import service


class Address(BaseModel):
    street: str
    city: str
    postcode: str
    country: str


class Customer(BaseModel):
    id: int
    name: str
    email: str
    vip: bool
    address: Address


class Line(BaseModel):
    sku: str
    quantity: int
    unit_price: float


class Order(BaseModel):
    order_id: int
    created: dt.datetime
    customer: Customer
    lines: List[Line]
    currency: str
    discount: float = 0.0
    notes: Optional[str] = None
    tags: List[str] = []


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
