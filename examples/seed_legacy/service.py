import logging
from mvi.mvi import MviService, notify, Severity

mvi = MviService()
logger = logging.getLogger(__name__)

mvi.add_parameter("greeting_phrase", "Hello")


@mvi.entrypoint
def hello(name: str) -> str:
    greeting_phrase = mvi.get_parameter("greeting_phrase")
    if name == "World":
        notify(
            msg="Someone is trying to greet the World, too time consuming. Skipping!",
            severity=Severity.WARNING,
        )
        return "Greeting failed"
    logger.info(f"Greeting someone with the name: {name}")
    return f"{greeting_phrase} {name}"


mvi.run()
