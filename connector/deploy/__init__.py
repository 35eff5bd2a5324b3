"""The service recipe the wheel carries: everything IT needs to install b1-backflush as a service from
the wheel alone, without a checkout of the repository.

``b1-backflush deploy systemd DIR`` writes it into ``DIR``: ``install.sh`` (the one install and
upgrade procedure), the template unit ``b1-backflush@.service``, ``b1-backflush.sysusers``,
``verify-units.sh`` and ``env.example`` (the settings file every instance starts from). The files are
copies of the repository's ``deploy/`` folder and ``.env.example`` (tests keep them identical), so a
checkout and a wheel install the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from connector.errors import ConfigError

#: File name → mode. The two scripts are run directly (``sudo DIR/install.sh COMPANY WHEEL``).
RECIPE = {
    "install.sh": 0o755,
    "verify-units.sh": 0o755,
    "b1-backflush@.service": 0o644,
    "b1-backflush.sysusers": 0o644,
    "env.example": 0o644,
}


def recipe_text(name: str) -> str:
    """One file of the recipe, as the wheel carries it."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def write_recipe(folder: Path) -> list[Path]:
    """Write the recipe into ``folder`` (created if missing); refuses to overwrite any of its files."""
    targets = [folder / name for name in RECIPE]
    present = [path.name for path in targets if path.exists()]
    if present:
        raise ConfigError(
            f"{folder} already holds {', '.join(present)}: choose an empty folder, or remove them first"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path in targets:
            path.write_text(recipe_text(path.name), encoding="utf-8")
            path.chmod(RECIPE[path.name])
    except OSError as exc:
        raise ConfigError(
            f"cannot write the recipe into {folder}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None
    return targets
