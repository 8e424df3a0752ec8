"""One message catalog per language: ``en.py``, ``ja.py`` (the same keys in each)."""
