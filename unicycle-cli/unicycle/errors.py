"""Typed errors of the library; cli.py turns them into one line and an exit code."""


class UnicycleError(Exception):
    """A failure the user can act on. Exit code 1."""

    exit_code = 1


class InputError(UnicycleError):
    """Bad user input: manifest, board, configuration, arguments. Exit code 2."""

    exit_code = 2


class ManifestError(InputError):
    """unicycle.toml is malformed or names something that does not exist."""


class BoardError(InputError):
    """A board file is invalid, or an unknown board was asked for."""


class ConfigError(InputError):
    """A configuration request cannot be satisfied (Kconfig rules)."""


class BuildError(UnicycleError):
    """Compiling, linking or packaging failed."""


class SetupError(UnicycleError):
    """Third-party sources or host tools are missing or do not verify."""


class FlashError(UnicycleError):
    """Writing or verifying a USB stick failed."""


class Interrupted(FlashError):
    """Ctrl-C while writing or verifying: the stick is left half-written. Exit code 130."""

    exit_code = 130


class DeviceRefused(InputError):
    """The device is not a safe target (mounted, internal, too small...)."""


class ImageInvalid(InputError):
    """The image to write is missing or is not a GPT disk image."""


class RunError(UnicycleError):
    """QEMU could not be started or did not finish as asked."""
