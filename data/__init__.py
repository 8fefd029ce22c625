"""The bundled corpus (the article) and its profile, shipped as package data."""

from importlib import resources
from pathlib import Path

BUNDLED_DATA = Path(str(resources.files(__name__)))
BUNDLED_CORPUS = BUNDLED_DATA / "nanhai-2023.txt"
BUNDLED_PROFILE = BUNDLED_DATA / "nanhai-2023.profile.json"
