"""Issue 16: Admin → Import hands a large file to the job runner instead of holding a web worker, and the
page shows each background import's state and progress; a second large import waits for the first."""

import io
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.clock import utcnow
from portal.jobs import run_job
from portal.models import Booking, ImportJob
from portal.services import import_jobs
from tests.conftest import AIRLINES, booking_doc


@pytest.fixture
def background(app, monkeypatch):
    """Every file of 1 KB or more goes to the job runner."""
    monkeypatch.setitem(app.config, "IMPORT_IN_BACKGROUND_BYTES", 1024)


def _file(*numbers, account="DEMO") -> bytes:
    doc = {
        "format": "portal-bookings/1",
        "airlines": AIRLINES,
        "bookings": [booking_doc(n, account=account) for n in numbers],
    }
    return json.dumps(doc, indent=2).encode()


def _upload(client, content: bytes, name="bookings.json"):
    return client.post(
        "/admin/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def _imports_block(client) -> str:
    """The part of the page htmx asks for every few seconds."""
    return client.get("/admin/import", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_a_large_file_is_queued_and_the_page_follows_it_to_the_end(client, auth, world, db, background):
    auth.login(world.admin)
    response = _upload(client, _file("BG00000001", "BG00000002"), name="daily-delta.json")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/import")
    assert (
        db.session.scalar(select(func.count()).select_from(Booking).where(Booking.order_number.like("BG%")))
        == 0
    )

    page = client.get("/admin/import").get_data(as_text=True)
    assert "being imported in the background" in page
    assert "daily-delta.json" in page and "Waiting for the job runner" in page
    block = _imports_block(client)
    assert "<html" not in block and 'hx-trigger="every 3s"' in block  # asks again while it waits

    assert run_job("import-bookings") == {"imported": 1, "refused": 0}
    block = _imports_block(client)
    assert "Imported" in block and "2 booking(s) created, 0 updated" in block
    assert "hx-trigger" not in block  # nothing left to follow: the page stops asking
    numbers = db.session.scalars(select(Booking.order_number).where(Booking.order_number.like("BG%")))
    assert sorted(numbers) == ["BG00000001", "BG00000002"]
    job = db.session.scalar(select(ImportJob))
    assert not import_jobs.file_of(job).exists()  # the upload is removed once imported


def test_a_running_import_shows_its_progress(client, auth, world, db, background):
    auth.login(world.admin)
    _upload(client, _file("BG00000011", "BG00000012"))
    job = import_jobs.claim_next()  # the runner has taken it and checked the first chunk
    db.session.commit()
    with import_jobs.file_of(job).open("rb") as stream:
        stream.seek(job.size // 2)
        import_jobs.progress_writer(job, stream)(1000)
    block = _imports_block(client)
    assert "Importing" in block and "1,000 bookings checked (50 % of the file read)" in block
    assert 'hx-trigger="every 3s"' in block


def test_a_second_large_import_waits_for_the_first(client, auth, world, db, background):
    auth.login(world.admin)
    _upload(client, _file("BG00000021"), name="first.json")
    first = import_jobs.claim_next()
    db.session.commit()
    assert _upload(client, _file("BG00000022"), name="second.json").status_code == 303
    block = _imports_block(client)
    assert block.index("second.json") < block.index("first.json")  # newest first
    rows = db.session.execute(select(ImportJob.file_name, ImportJob.status).order_by(ImportJob.id)).all()
    assert [tuple(r) for r in rows] == [("first.json", "running"), ("second.json", "queued")]
    # The runner takes waiting imports one after another, oldest first; the running one is not taken again.
    assert run_job("import-bookings") == {"imported": 1, "refused": 0}
    db.session.expire_all()
    assert db.session.get(ImportJob, first.id).status == "running"
    numbers = db.session.scalars(select(Booking.order_number).where(Booking.order_number.like("BG%")))
    assert list(numbers) == ["BG00000022"]


def test_a_refused_background_import_lists_its_errors_and_imports_nothing(
    client, auth, world, db, background
):
    auth.login(world.admin)
    _upload(client, _file("BG00000031", "BG00000032", account="NOPE"))
    assert run_job("import-bookings") == {"imported": 0, "refused": 1}
    block = _imports_block(client)
    assert "Nothing was imported" in block and "2 error(s); nothing was imported." in block
    assert "bookings[0] (BG00000031): account: no client account with code NOPE" in block
    assert (
        db.session.scalar(select(func.count()).select_from(Booking).where(Booking.order_number.like("BG%")))
        == 0
    )


def test_a_small_file_is_still_imported_while_the_page_waits(client, auth, world, db):
    auth.login(world.admin)
    response = _upload(client, _file("BG00000041"))
    assert response.status_code == 200 and "1 booking(s) created" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def _went_quiet(job, minutes: float) -> None:
    """The runner's last progress (its heartbeat file) `minutes` ago, as if it had been killed then."""
    with import_jobs.file_of(job).open("rb") as stream:
        stream.seek(job.size // 2)
        import_jobs.progress_writer(job, stream)(1000)
    moment = (utcnow() - timedelta(minutes=minutes)).timestamp()
    os.utime(import_jobs._progress_file(job), (moment, moment))


def test_an_import_whose_runner_was_killed_shows_interrupted_and_runs_again(
    client, auth, world, db, background
):
    """The runner died mid-import (its transaction went with it): after IMPORT_STALE_MINUTES without
    progress the page says so at once, the next runner records it, and Run again imports the kept file."""
    auth.login(world.admin)
    _upload(client, _file("BG00000051", "BG00000052"), name="killed.json")
    job = import_jobs.claim_next()
    db.session.commit()
    _went_quiet(job, minutes=3)  # quiet, but not for long: still importing
    block = _imports_block(client)
    assert "Importing" in block and "Run again" not in block and 'hx-trigger="every 3s"' in block
    assert client.post(f"/admin/import/{job.id}/run-again").status_code == 303
    assert "only an interrupted import can" in client.get("/admin/import").get_data(as_text=True)

    _went_quiet(job, minutes=11)  # past the 10 minutes: the runner is gone
    block = _imports_block(client)
    assert "Interrupted: nothing was imported" in block and "Run again" in block
    assert "hx-trigger" not in block  # nothing to follow until it is run again

    assert run_job("import-bookings") == {"imported": 0, "refused": 0}  # records it; imports nothing
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "interrupted" and "its job runner was stopped" in job.summary
    assert import_jobs.file_of(job).exists()  # kept to run again

    assert client.post(f"/admin/import/{job.id}/run-again").status_code == 303
    assert "queued again" in client.get("/admin/import").get_data(as_text=True)
    assert run_job("import-bookings") == {"imported": 1, "refused": 0}
    numbers = db.session.scalars(select(Booking.order_number).where(Booking.order_number.like("BG%")))
    assert sorted(numbers) == ["BG00000051", "BG00000052"]
    assert db.session.get(ImportJob, job.id).status == "done"


def test_a_finished_import_is_not_run_again(client, auth, world, db, background):
    auth.login(world.admin)
    _upload(client, _file("BG00000061"))
    run_job("import-bookings")
    job = db.session.scalar(select(ImportJob))
    assert client.post(f"/admin/import/{job.id}/run-again").status_code == 303
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done"
