import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhongshu.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Load at boot what Django otherwise loads on a worker's first request: the URLconf with every
    API module (django-ninja builds its pydantic schemas on import, ~1 s) and the translations. A web
    worker serves only after this, so no first request pays it — or, worse, makes the requests of
    other threads wait on the import lock while one of them holds SQLite's write lock (measured:
    1.8 s lock waits behind a cold worker in bench/fulfilment.py)."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().resolve("/api/v1/health")
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("包裹")


_warm_up()
