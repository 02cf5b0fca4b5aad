"""Scenario: print() and logging of a str holding a lone surrogate (not encodable as UTF-8), then a plain print()."""
import logging

from mvi import service

log = logging.getLogger("svc")


@service.entrypoint
def surrogate(tag: str) -> str:
    print(f"print-surrogate {tag} \udc80 end")
    log.info("log-surrogate %s \udc80 end", tag)
    return "ok"


@service.entrypoint
def plain(tag: str) -> str:
    print(f"print-line {tag}")
    return "ok"


if __name__ == "__main__":
    service.run()
