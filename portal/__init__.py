"""The clients' self-service web pages (FastAPI + Jinja2, server-rendered, no JavaScript)."""
