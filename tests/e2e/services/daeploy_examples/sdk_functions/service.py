"""The functions Daeploy's SDK tests (tests/sdk_test/daeploy_test.py) registered on a service, registered the same way
here, with the import renamed; tests/e2e/test_daeploy_examples.py asserts what those tests asserted over HTTP."""

import numpy as np

from mvi import service
from mvi.data_types import ArrayInput, ArrayOutput, DataFrameInput, DataFrameOutput


def valid_entrypoint_method_no_args():
    return 10


def valid_entrypoint_method_args(name: str, age: int) -> str:
    return "hello"


def entrypoint_with_request_argument(request: str) -> int:
    return 10


def entrypoint_with_arrays(arr1: ArrayInput, arr2: ArrayInput) -> ArrayOutput:
    return arr1 + arr2


def entrypoint_with_dataframes(df1: DataFrameInput, df2: DataFrameInput) -> DataFrameOutput:
    return df1 + df2


def entrypoint_get(name: str, age: int) -> str:
    return "hello"


service.entrypoint(response_model=int)(valid_entrypoint_method_no_args)
service.entrypoint(status_code=222)(valid_entrypoint_method_args)
service.entrypoint(entrypoint_with_request_argument)
service.entrypoint(entrypoint_with_arrays)
service.entrypoint(entrypoint_with_dataframes)
service.entrypoint(monitor=False, method="GET")(entrypoint_get)

service.add_parameter("key", 10)
service.add_parameter("key2", 20)
service.add_parameter("internal", 10, expose=False)
service.add_parameter("monitored", 10, monitor=True)


@service.entrypoint(monitor=True)
def monitored_entrypoint(name: str, age: int) -> str:
    return "hello"


@service.entrypoint
def wrapped_direct_call() -> list:
    # test_entrypoint_function_validation: the decorated function validates a direct call
    import mvi
    try:
        service.valid_entrypoint_method_args(123, "name")
    except mvi.ValidationError:
        return ["ValidationError", service.valid_entrypoint_method_args("name", 123)]
    return ["no error"]
