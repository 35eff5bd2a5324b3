"""The demo company ``SBODEMOUS``: what the mock Service Layer serves by default (``demo``, ``mock-sl``).

Package data, found through ``importlib.resources`` so an installed wheel runs the demo from any
folder: ``company.json`` (CompanyDB, users) and one ``<EntitySet>.json`` per entity set, SAP names
verbatim. README.md beside them lists each order's case and its expected outcome.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def demo_company_folder() -> Path:
    """The folder of the demo company's JSON files, inside the installed package."""
    folder = files(__name__)
    # The mock reads a real folder; pip installs packages unzipped, so this is one (a zipapp is not).
    if not isinstance(folder, Path):
        raise RuntimeError(f"the demo company must be installed as files, not inside {folder}")
    return folder


#: The demo company's folder (company.json + <EntitySet>.json).
DEMO_COMPANY: Path = demo_company_folder()
