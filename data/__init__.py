"""The bundled corpus (the article) and its profile, shipped as package data."""
