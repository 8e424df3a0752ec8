"""English messages for reports. Keys are shared with ``ja.py``; fields are ``{named}``."""

MESSAGES = {
    "report.title": "Fit report: {name}",
}
