"""The FastAPI side of the benchmark: the same service logic as ./mvi_*/service.py, served by
`python3 -m uvicorn fastapi_app:app --workers 1` (FastAPI 0.92 and pydantic 1.10 from Debian 12).

Every body has the same shape as mvi-runtime's (one JSON object, one field per argument), hence Body(embed=True).
Routes:
  POST /hello_sync    hello(name: str) -> str as a sync def (what MVI/Daeploy ran; FastAPI runs it in its threadpool)
  POST /hello_async   the same as an async def (runs on the event loop)
  POST /total_list    values: List[float] validated by FastAPI/pydantic, summed with the builtin sum
  POST /total_raw     json.loads on the raw body, no validation, builtin sum (the cheapest a FastAPI user can do)
  POST /order_total   the 20-field nested pydantic v1 model
  POST /spin          the CPU-bound loop of ./mvi_cpu/service.py (bench/workers.py, under gunicorn with 2 workers)
  GET  /health/ready  a trivial route, used to time start-up
"""

import datetime as dt
import json
from typing import List, Optional

from fastapi import Body, FastAPI, Request
from pydantic import BaseModel

app = FastAPI()

PARAMETERS = {"greeting_phrase": "Hello"}  # mvi's service.add_parameter("greeting_phrase", "Hello")


def _hello(name: str) -> str:
    greeting_phrase = PARAMETERS["greeting_phrase"]
    if name == "World":
        return "Greeting failed"
    return f"{greeting_phrase} {name}"


@app.post("/hello_sync")
def hello_sync(name: str = Body(..., embed=True)) -> str:
    return _hello(name)


@app.post("/hello_async")
async def hello_async(name: str = Body(..., embed=True)) -> str:
    return _hello(name)


@app.post("/total_list")
def total_list(values: List[float] = Body(..., embed=True)) -> float:
    return float(sum(values))


@app.post("/total_raw")
async def total_raw(request: Request) -> float:
    data = json.loads(await request.body())
    return float(sum(data["values"]))


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


@app.post("/order_total")
def order_total(order: Order = Body(..., embed=True)) -> dict:
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


@app.get("/health/ready")
async def ready() -> dict:
    return {"status": "ready"}


@app.post("/spin")
def spin(n: int = Body(..., embed=True)) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
