# `make run` and `make test` each do all the set-up a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Debian packages the tests and the demo use: a real IMAP server, a real browser,
# LibreOffice to prove the blank forms open cleanly, DejaVu fonts embedded in invoice PDFs
# (Latvian letters), and pdftotext to read those PDFs back in the tests.
APT_PACKAGES := dovecot-imapd chromium libreoffice-writer-nogui fonts-dejavu-core poppler-utils abiword pandoc

.PHONY: run test test-fast setup system-deps lint bench clean

setup: $(STAMP) system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

system-deps:
	@missing=""; \
	command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || missing="$$missing dovecot-imapd"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing libreoffice-writer-nogui"; \
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || missing="$$missing fonts-dejavu-core"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v abiword >/dev/null 2>&1 || missing="$$missing abiword"; \
	command -v pandoc >/dev/null 2>&1 || missing="$$missing pandoc"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup
	$(BIN)/docintake demo run

test: setup
	$(BIN)/python -m pytest

# The unit tier only: no servers, seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/operations.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/portal.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
