"""Every client-facing text uses the provider's terms from the glossary, never the old words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notifications.glossary import AVOID, GLOSSARY
from notifications.render import TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]
# The templates, and every module that writes Latvian text a client or staff reads.
TEXTS = [
    *sorted(TEMPLATES_DIR.glob("*.j2")),
    *sorted((ROOT / "portal" / "templates").rglob("*.j2")),
    *(
        path
        for package in ("handlers", "forms", "intake", "flows", "portal")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ),
]
# The intake mailbox's address is a name, not a word of the text.
ADDRESS = re.compile(r"pieteikumi@\S+")


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_text_uses_a_word_the_glossary_replaced(path: Path) -> None:
    """No text says "pieteikums", "pieejas dati", "apturēts" or guesses a person's gender."""
    text = ADDRESS.sub("", path.read_text(encoding="utf-8").casefold())
    found = [stem for stem in AVOID if stem in text]
    assert found == [], f"{path.name}: use {[AVOID[stem] for stem in found]}"


def test_the_provider_terms_are_what_the_forms_print() -> None:
    """The glossary's application and credentials are the forms' and the FAQ's words."""
    assert GLOSSARY["application"].lv == "iesniegums"
    assert GLOSSARY["credentials"].lv == "lietotāja rekvizīti"
    assert "pārtraukt" in GLOSSARY["suspend"].lv
