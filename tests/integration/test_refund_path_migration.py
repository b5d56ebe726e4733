"""Migration e4a7c2b9d813: the database's CHECK on refund.path accepts the Cancel & Refund paths (the
models' metadata comparison does not look at CHECK constraints, so this asks the database itself)."""

from sqlalchemy import inspect

from portal.domain.refunds import RefundPath
from portal.extensions import db as _db
from tests.integration.test_migrations import fresh_app  # noqa: F401 (a fixture)


def test_the_migrated_path_check_knows_every_path(fresh_app):  # noqa: F811
    result = fresh_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        checks = inspect(_db.engine).get_check_constraints("refund")
        [path_check] = [c["sqltext"] for c in checks if c["name"] == "ck_refund_path_known"]
        for path in RefundPath:
            assert f"'{path.value}'" in path_check, path
        columns = {c["name"] for c in inspect(_db.engine).get_columns("refund")}
        assert "submitted_at" in columns
        _db.session.remove()
