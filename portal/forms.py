"""Form helpers shared by the blueprints."""

from wtforms.fields.choices import SelectChoice


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]
