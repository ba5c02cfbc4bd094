"""WSGI entry point for any server: ``gunicorn wsgi:app`` (settings from PAYYMO_* env)."""

from payymo import create_app

app = create_app()
