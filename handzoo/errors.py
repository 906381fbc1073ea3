"""The handzoo exception hierarchy.

Every error handzoo raises on purpose is a :class:`HandzooError`. Each message says what went
wrong and, in ``hint``, what to do next (which file is missing, where to get it, which command
fixes it). Children also derive from the closest builtin so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "HandzooError",
    "ConfigError",
    "InputError",
    "PluginError",
    "RegistryError",
    "ModelNotFoundError",
    "WeightsError",
    "WeightsNotAvailableError",
    "ChecksumError",
    "DownloadError",
    "CheckpointError",
    "AssetError",
    "DatasetError",
    "DatasetNotFoundError",
    "AnnotationError",
    "PlannedVariantError",
    "SubmissionError",
    "RenderError",
]


class HandzooError(Exception):
    """Base class of every handzoo error.

    Args:
        message: What went wrong, in one sentence.
        hint: What the user should do next (a command, a path, a URL). Optional.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(HandzooError, ValueError):
    """An invalid argument or configuration value."""


class InputError(HandzooError, ValueError):
    """An image, tensor or array given by the user has the wrong type, shape or content."""


class PluginError(HandzooError):
    """A plugin failed to load or misbehaved."""


class RegistryError(HandzooError, KeyError):
    """A registry lookup failed or a name was registered twice."""

    def __str__(self) -> str:  # KeyError would quote the message
        return HandzooError.__str__(self)


class ModelNotFoundError(RegistryError):
    """No model variant of that name is known."""


class PlannedVariantError(HandzooError, NotImplementedError):
    """The variant's card is ``status: planned``: its method has no code in handzoo yet."""


class WeightsError(HandzooError):
    """Model weights are missing, invalid or could not be obtained."""


class WeightsNotAvailableError(WeightsError, FileNotFoundError):
    """No published weights exist; the user must convert the authors' checkpoint."""


class ChecksumError(WeightsError):
    """A downloaded or cached file does not match the sha256 in its model card."""


class DownloadError(WeightsError, ConnectionError):
    """A download from the Hugging Face Hub failed (network, 404, offline without cache)."""


class CheckpointError(HandzooError):
    """An original checkpoint cannot be read or converted (unsafe pickle, key or shape mismatch)."""


class AssetError(HandzooError, FileNotFoundError):
    """A required asset file (MANO pickle, mesh template, ...) is missing or malformed."""


class DatasetError(HandzooError):
    """A dataset cannot be read."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset root, or files inside it, are missing."""


class AnnotationError(DatasetError, ValueError):
    """An annotation file is malformed (names the file and the sample)."""


class SubmissionError(HandzooError, ValueError):
    """A prediction/submission file for scoring is malformed (count, shape, NaN, missing file)."""


class RenderError(HandzooError):
    """Rendering failed (bad mesh, camera or image size)."""
