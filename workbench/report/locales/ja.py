"""日本語のメッセージ。キーは ``en.py`` と同じ。"""

MESSAGES = {
    "report.title": "フィット報告書: {name}",
}
