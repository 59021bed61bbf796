"""`docintake books`: Import and export the customer base."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from handlers.books import ImportReport
    from handlers.db import UnitOfWork

app = typer.Typer(help="Import and export the customer base.", no_args_is_help=True)

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
STEPS = {"checking": "Checking rows", "writing": "Writing"}
KINDS = (
    "customers",
    "contracts",
    "authorized_persons",
    "users",
    "ledger_entries",
    "fee_changes",
    "details_changes",
)

out = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def _open_books() -> UnitOfWork:
    """The configured accounts database, which must already have its tables."""
    from sqlalchemy import inspect

    from flows.common import load_settings, uow_factory

    uow = uow_factory(load_settings())
    if not inspect(uow.engine).has_table("customer"):
        raise _fail("The accounts database has no tables yet: run `docintake db upgrade` first.")
    return uow


class StepBars:
    """One rich progress bar per step (checking, writing), fed by the handlers' callbacks."""

    def __init__(self, progress: Progress, *, prefix: str = "") -> None:
        self.progress = progress
        self.prefix = prefix
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        """Move the step's bar to done of total, adding the bar on the step's first call."""
        if step not in self.tasks:
            label = f"{self.prefix}{STEPS.get(step, step)}"
            self.tasks[step] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)


def progress_bars(console: Console) -> Progress:
    """The bars a long books step shows on this console, gone when it ends."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _summary(report: ImportReport) -> Table:
    table = Table("", "new", "changed", "unchanged", "in the books, not in the file")
    counts: list[Counter[str]] = [
        report.created,
        report.updated,
        report.unchanged,
        report.not_in_file,
    ]
    for kind in KINDS:
        table.add_row(kind.replace("_", " "), *(str(c[kind]) for c in counts))
    return table


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A books .json file, or a folder of CSV files.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything and report; change nothing.")
    ] = False,
) -> None:
    """Bring customers, contracts, authorized persons, users and balances in, in one go.

    Exit code 0: done (or, with --dry-run, nothing wrong); 1: problems found, nothing changed;
    2: the file or the database cannot be used at all.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from handlers.books import BooksFileError, import_file

    uow = _open_books()
    with progress_bars(err) as progress:
        bar = StepBars(progress)
        try:
            report = import_file(file, uow=uow, today=date.today(), dry_run=dry_run, progress=bar)
        except BooksFileError as exc:
            raise _fail(str(exc)) from None
        except SQLAlchemyError as exc:
            # Parameters (personal data) stay out of the message; the transaction rolled back.
            err.print(f"[red]Database error ({type(exc).__name__}); nothing was changed.[/red]")
            raise typer.Exit(EXIT_PROBLEMS) from None
    problems = report.problems
    for problem in problems:
        out.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    out.print(_summary(report))
    if problems:
        out.print(
            f"[red]{len(problems)} problem(s) found: nothing was changed.[/red]", highlight=False
        )
        raise typer.Exit(EXIT_PROBLEMS)
    if dry_run:
        out.print("Dry run: no problems found; nothing was changed.")
    elif report.changes:
        out.print(f"[green]Imported: {report.changes} record(s) created or changed.[/green]")
    else:
        out.print("Nothing to change: the books already hold this file.")


@app.command("export")
def export_command(
    file: Annotated[
        Path, typer.Argument(help="A .json file to write, or else a folder for the CSV files.")
    ],
) -> None:
    """Write the whole customer base out in the import's format (a backup, or a move)."""
    from handlers.books import export_books, write_books

    if file.exists() and file.is_dir() == (file.suffix.lower() == ".json"):
        raise _fail(f"{file}: a .json path must be a file, any other path a folder.")
    uow = _open_books()
    with err.status("Exporting…"):
        books = export_books(uow=uow, today=date.today())
        write_books(books, file)
    contracts = [c for customer in books.customers for c in customer.contracts]
    out.print(
        f"Exported {len(books.customers)} customer(s), {len(contracts)} contract(s) and "
        f"{books.user_count} user(s) to {file}.",
        highlight=False,
    )
