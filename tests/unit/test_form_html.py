"""portal.forms.html_params renders a field's attributes exactly as WTForms' own does (it replaces it in
every widget for speed): same text, same escaping, same Markup."""

from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    Form,
    PasswordField,
    SearchField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms import widgets as wtforms_widgets
from wtforms.widgets import core as widgets_core

from portal import forms
from portal.forms import WTFORMS_HTML_PARAMS, choices, html_params, use_fast_html_params

KEYS = st.sampled_from(
    ["id", "name", "class_", "for_", "data_hx_get", "aria_describedby", "placeholder", "value", "x<y", 'a"b']
)
VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.text(),
    st.text().map(Markup),
    st.sampled_from(['"quoted"', "<script>", "a & b", "it's", Markup('<b class="x">')]),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # text()'s first use is slow
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_the_same_attributes_as_wtforms(attributes):
    ours, theirs = html_params(**attributes), WTFORMS_HTML_PARAMS(**attributes)
    assert ours == theirs
    assert isinstance(ours, Markup)


class EveryWidget(Form):
    search = SearchField("Search <any>", description="Order number")
    date = DateField("Departure from")
    channel = SelectField(
        "Channel", choices=choices([("", "Any"), ("bsp", 'BSP "cash"'), ("card", "Card & co")])
    )
    grouped = SelectField(
        "Grouped", choices=[*choices([("a", "A")], "Refunds"), *choices([("b", "B")], "Other <x>")]
    )
    note = TextAreaField("Note")
    secret = PasswordField("Password")
    agree = BooleanField("Agree")
    send = SubmitField("Send")


@contextmanager
def wtforms_own():
    """WTForms' html_params everywhere, for the duration."""
    saved = [(home, name, getattr(home, name)) for home, name in forms._HTML_PARAMS_HOMES]
    for home, name, _ in saved:
        setattr(home, name, WTFORMS_HTML_PARAMS)
    for cls in forms._HTML_PARAMS_CLASSES:
        cls.html_params = staticmethod(WTFORMS_HTML_PARAMS)
    try:
        yield
    finally:
        use_fast_html_params()


def _rendered(form) -> list[str]:
    out = []
    for field in form:
        out.append(str(field.label()))
        out.append(str(field(aria_invalid="true", class_="wide", data_x='"y"', placeholder="<e.g.>")))
    return out


def test_every_widget_renders_the_same_with_either():
    use_fast_html_params()
    form = EveryWidget(
        data={"search": 'TAN "WEI" <MING>', "channel": "bsp", "note": "a\nb & c", "agree": True}
    )
    ours = _rendered(form)
    with wtforms_own():
        theirs = _rendered(form)
    assert ours == theirs
    # And the replacement is in place wherever WTForms looks it up.
    assert widgets_core.html_params is html_params and wtforms_widgets.html_params is html_params
    assert widgets_core.Input.html_params is html_params and widgets_core.Button.html_params is html_params
