"""``workbench schema``: print the config's JSON Schema, for editors that autocomplete YAML."""

from __future__ import annotations

import json

import click


@click.command("schema")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write to this file instead of stdout.")
def command(out: str | None) -> None:
    """Print the JSON Schema of fit configs (point your editor's YAML plugin at it)."""
    from workbench.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    from workbench.atomic import write_text

    write_text(Path(out), text)
    click.echo(f"wrote {out}")
