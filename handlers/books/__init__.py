"""Books import and export (issue 7): the customer base in and out as JSON or a CSV folder.

`import_file(path, uow=, today=, dry_run=)` reads, checks and brings a file in, in one
transaction (`load_books` and `import_books` are its two halves); `export_books(uow=, today=)`
and `write_books(books, path)` take it out.
"""

from handlers.books.exporter import export_books
from handlers.books.formats import BooksFileError
from handlers.books.importer import ACTOR, ImportReport, import_books, import_file
from handlers.books.output import books_to_csv, books_to_json, write_books
from handlers.books.records import Books, Problem, Progress
from handlers.books.validation import load_books, validate_books

__all__ = [
    "ACTOR",
    "Books",
    "BooksFileError",
    "ImportReport",
    "Problem",
    "Progress",
    "books_to_csv",
    "books_to_json",
    "export_books",
    "import_books",
    "import_file",
    "load_books",
    "validate_books",
    "write_books",
]
