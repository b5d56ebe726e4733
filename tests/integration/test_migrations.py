"""The migrations build exactly the schema the models describe, on a fresh database, idempotently."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal.extensions import db as _db
from tests.conftest import POSTGRES, _postgres_database, dispose, make_test_app


@pytest.fixture
def fresh_app(tmp_path_factory, tmp_path):
    if POSTGRES:
        url, drop = _postgres_database()
        if url is None:
            pytest.skip(drop)
    else:
        url, drop = f"sqlite:///{tmp_path / 'fresh.db'}", None
    app = make_test_app(url, tmp_path_factory)
    yield app
    dispose(app)
    if drop:
        drop()


def test_init_db_builds_the_models_schema_and_is_idempotent(fresh_app):
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output
    with fresh_app.app_context():
        with _db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            differences = compare_metadata(context, _db.metadata)
        assert differences == [], f"models and migrations differ: run `flask db migrate`: {differences}"
        assert "alembic_version" in inspect(_db.engine).get_table_names()
        from portal.models import RefundReason

        assert _db.session.query(RefundReason).count() >= 5  # defaults seeded once, not twice
        _db.session.remove()
