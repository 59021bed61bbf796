"""The `docintake` command line: one Typer app with a sub-command group per concern.

Each group's module imports only Typer at the top and the rest inside its commands, so
`docintake --help` and a quick command do not pay for Prefect, Alembic or the form readers.
"""

from __future__ import annotations

import typer

from flows.cli import (
    accounts,
    books,
    db,
    demo,
    forms,
    intake,
    invoices,
    portal,
    requests,
    serve,
    staff,
)

app = typer.Typer(
    name="docintake",
    help="Document-intake workflow engine: e-mailed application forms to approved changes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(forms.app, name="forms")
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="accounts")
app.add_typer(books.app, name="books")
app.add_typer(intake.app, name="intake")
app.add_typer(requests.app, name="requests")
app.add_typer(invoices.app, name="invoices")
app.add_typer(staff.app, name="staff")
app.add_typer(demo.app, name="demo")
serve.register(app)
portal.register(app)

if __name__ == "__main__":
    app()
