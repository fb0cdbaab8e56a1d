"""Data sets built from data that ships inside installed packages (see visiona.data.builders)."""
