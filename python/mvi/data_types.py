"""Daeploy's module name for the array and DataFrame types (`from daeploy.data_types import ArrayInput` becomes
`from mvi.data_types import ArrayInput`): the very objects of mvi.types. Thread-safety: definitions only."""

from .types import ArrayInput, ArrayOutput, DataFrameInput, DataFrameOutput, NDArray

__all__ = ["NDArray", "ArrayInput", "ArrayOutput", "DataFrameInput", "DataFrameOutput"]
