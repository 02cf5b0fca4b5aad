"""Scenario: what Daeploy's services rely on (issue 15): explicit nulls for arguments, notify() that never raises."""
from typing import Optional

from mvi import service
from mvi.communication import notify

service.add_parameter("quiet", 1, disable_http_logs=True)
service.add_parameter("loud", 1)
service.add_parameter("ratio", 10)  # "a number": Daeploy accepted 0.5
service.add_parameter("count", 10, type=int)  # explicitly typed: strict


@service.entrypoint
def args(a: int, b: int = 5, c=None, d: Optional[int] = 7) -> dict:
    return {"a": a, "b": b, "c": c, "d": d}


@service.entrypoint
def loose_notify(timer: float, severity: int) -> str:
    notify("loose", severity, timer=timer, emails=[1, "ops@example.com"])
    return "sent"


# ---- return annotations are response models (FastAPI's response_model, as Daeploy's services relied on) ----

import dataclasses

from pydantic import BaseModel


class UserOut(BaseModel):
    name: str
    role: str = "viewer"


class UserIn(UserOut):
    password: str


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


@service.entrypoint
def as_int(value: str) -> int:
    return value  # "10" answers 10; "ten" is the service's bug: 500


@service.entrypoint
def user_from_model(name: str) -> UserOut:
    return UserIn(name=name, password="s3cret")  # a subclass: the password must not leak


@service.entrypoint
def user_from_dict(name: str) -> UserOut:
    return {"name": name, "password": "s3cret"}  # extra key dropped, missing field gets its default


@service.entrypoint
def points() -> list[Point]:
    return [{"x": 1, "extra": True}, Point(2.5, 3)]


@service.entrypoint(response_model=UserOut)
def via_response_model(name: str):
    return {"name": name, "password": "s3cret", "role": "admin"}


@service.entrypoint(response_model=None)
def unchecked() -> int:
    return "not an int"


# ---- FastAPI's route options ----

from fastapi.responses import HTMLResponse, PlainTextResponse


@service.entrypoint(method="GET", response_class=PlainTextResponse, tags=["text"], summary="Plain greeting",
                    response_description="The greeting as text")
def plain(name: str = "world") -> str:
    return f"hello {name}"


@service.entrypoint(method="GET", response_class=HTMLResponse, deprecated=True, operation_id="page_v1")
def page() -> str:
    return "<h1>hi</h1>"


@service.entrypoint(include_in_schema=False, name="hidden_route", dependencies=[])
def hidden() -> str:
    return "hidden"


# ---- service.app.mount: a user's own WSGI and ASGI apps under a path ----

from fastapi import FastAPI
from starlette.middleware.wsgi import WSGIMiddleware


def wsgi_app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("the mounted app failed")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    sent = environ["wsgi.input"].read(length) if length else b""
    text = (f"{environ['REQUEST_METHOD']} script={environ['SCRIPT_NAME']} path={environ['PATH_INFO']} "
            f"query={environ['QUERY_STRING']} type={environ.get('CONTENT_TYPE', '')} "
            f"agent={environ.get('HTTP_X_AGENT', '')} body=").encode() + sent
    start_response("201 Created", [("Content-Type", "text/plain; charset=utf-8"), ("X-From", "wsgi")])
    return [text]


async def asgi_app(scope, receive, send):
    message = await receive()
    text = f"{scope['method']} root={scope['root_path']} path={scope['path']} body=".encode() + message["body"]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


api = FastAPI()


@api.get("/items/{item_id}")
def read_item(item_id: int, q: str = ""):
    return {"item_id": item_id, "q": q}


service.app.mount("/wsgi", wsgi_app)
service.app.mount("/dashboard", WSGIMiddleware(wsgi_app))  # Daeploy's recipe for a Dash app's server
service.app.mount("/asgi", asgi_app)
service.app.mount("/api", api)


import mvi


@service.entrypoint(method="GET")
def root_path() -> str:
    return mvi.utilities.get_service_root_path()
