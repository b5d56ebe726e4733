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
