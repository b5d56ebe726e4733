def test_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Log in</button>" in page


def test_agent_sees_own_booking(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert "AT10000001" in page
    assert "OT20000001" not in page


def test_pages_link_the_favicon_and_it_is_served_as_svg(client, auth, world):
    import re

    for page in (client.get("/login"), (auth.login(world.agent), client.get("/bookings/"))[1]):
        html = page.get_data(as_text=True)
        link = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html)
        assert link, "the page links no favicon"
    icon = client.get(link.group(1))
    body = icon.get_data(as_text=True)
    icon.close()
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert body.startswith("<svg") and "<script" not in body
