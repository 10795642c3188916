"""One exception tree. Every message quotes the bad value, the constraint and the fix."""

from __future__ import annotations


class RecbenchError(Exception):
    """Base of every error recbench raises on purpose.

    Attributes:
        hint: an optional one-line suggestion the CLI prints after the message.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class PluginError(RecbenchError):
    """A plugin could not be loaded, conflicts with another, or was not found."""


class ConfigError(RecbenchError):
    """A run configuration or command-line value is invalid."""


class DataError(RecbenchError):
    """A data file is missing, malformed or fails its checksum."""


class TrainingError(RecbenchError):
    """Training failed in a way that is the model's or configuration's fault."""


class DivergedError(TrainingError):
    """The loss became NaN or Inf. The run is recorded as ``diverged``."""


class RunTimeout(TrainingError):
    """A run passed the sweep's ``run_timeout_s``. The run is recorded as ``timeout``."""


def describe_exception(exc: BaseException, with_hint: bool = False) -> str:
    """One line for a report: our own errors as their message, others prefixed with their type."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, RecbenchError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    hint = getattr(exc, "hint", None)
    return f"{text} (hint: {hint})" if with_hint and hint else text
