"""Names in the admin lists (issue 13, item 11): case and spacing do not make a different name."""

from portal.domain.requests import duplicate_name, same_name_key


def test_case_and_spacing_do_not_make_a_different_name():
    assert same_name_key("  Name   CORRECTION ") == same_name_key("Name Correction")
    assert same_name_key("Straße") == same_name_key("STRASSE")
    assert same_name_key("Name Correction") != same_name_key("Name Corrections")


def test_the_repeated_name_is_the_one_already_in_the_list():
    assert duplicate_name("other", ["Cancel & Refund", "Other"]) == "Other"
    assert duplicate_name("Others", ["Cancel & Refund", "Other"]) is None
    assert duplicate_name("x", []) is None
