"""`docintake books import|export` from the command line, on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from flows.cli.books import app
from handlers.models import AuditEvent, Customer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "books"
runner = CliRunner()


@pytest.fixture
def books_db(
    engine: Engine, db_url: str, docintake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """The CLI pointed at a test database that has its tables."""
    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", db_url)
    return engine


def rows(engine: Engine) -> tuple[int, int]:
    """Customers and audit events in the database."""
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(Customer)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def test_dry_run_exits_0_and_changes_nothing(books_db: Engine) -> None:
    """`--dry-run` on a good file reports what it would add and writes nothing."""
    result = runner.invoke(app, ["import", str(FIXTURES / "books.json"), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Dry run: no problems found; nothing was changed." in result.output
    assert rows(books_db) == (0, 0)


def test_import_then_export_gives_the_normalized_file(books_db: Engine, tmp_path: Path) -> None:
    """A real import exits 0; the export writes the file the import's values normalize to."""
    imported = runner.invoke(app, ["import", str(FIXTURES / "csv")])
    exported = runner.invoke(app, ["export", str(tmp_path / "books.json")])
    again = runner.invoke(app, ["import", str(tmp_path / "books.json")])

    assert imported.exit_code == 0, imported.output
    assert "Imported:" in imported.output
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "books.json").read_bytes() == (FIXTURES / "expected.json").read_bytes()
    assert again.exit_code == 0, again.output
    assert "Nothing to change" in again.output


def test_file_with_errors_exits_1_lists_each_problem_and_changes_nothing(books_db: Engine) -> None:
    """Every problem is printed as file:row: field: LV / EN, and the run says nothing changed."""
    result = runner.invoke(app, ["import", str(FIXTURES / "errors.json")])

    assert result.exit_code == 1
    assert (
        'errors.json:customers[3].contracts[3].users[1]: phone: Tālrunis: "123" — jābūt '
        "tālruņa numuram" in result.output
    )
    assert "18 problem(s) found: nothing was changed." in result.output
    assert rows(books_db) == (0, 0)


def test_csv_problem_names_the_file_line_and_column(books_db: Engine, tmp_path: Path) -> None:
    """A bad cell in a CSV folder is reported by the file's name, its line and the column."""
    folder = tmp_path / "books"
    folder.mkdir()
    for source in (FIXTURES / "csv").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    users = folder / "users.csv"
    users.write_text(
        users.read_text(encoding="utf-8").replace("ilze@ozols.lv", "ilze@"), encoding="utf-8"
    )

    result = runner.invoke(app, ["import", str(folder)])

    assert result.exit_code == 1
    assert 'users.csv:5: email: E-pasts: "ilze@"' in result.output
    assert rows(books_db) == (0, 0)


def test_missing_file_exits_2(books_db: Engine, tmp_path: Path) -> None:
    """A path that is neither a file nor a folder is a usage error."""
    result = runner.invoke(app, ["import", str(tmp_path / "nothing.json")])

    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_database_without_tables_exits_2(docintake_home: Path) -> None:
    """Before `docintake db upgrade` the import refuses with a hint, touching nothing."""
    result = runner.invoke(app, ["import", str(FIXTURES / "books.json")])

    assert result.exit_code == 2
    assert "docintake db upgrade" in result.output
