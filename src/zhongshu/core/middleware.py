"""Request middleware of the hub."""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """The UI speaks Simplified Chinese unless the person chose another language with the language
    switch (its cookie). The browser's Accept-Language is not consulted: a shared warehouse PC with
    an English browser still shows the Chinese the staff are trained on."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or settings.LANGUAGE_CODE
        try:
            language = translation.get_supported_language_variant(chosen)
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RequestGuardMiddleware:
    """Answers, as JSON and before any view, the requests no view could serve:

    - a body over settings.MAX_BODY_BYTES (ZHONGSHU_MAX_BODY_BYTES): 413 naming the limit, where
      Django alone answers an HTML 400. The body is read and thrown away first (up to
      DRAIN_MAX_BYTES): a client still sending would otherwise see the connection reset instead of
      the answer, and gunicorn would close a keep-alive connection it cannot drain. File uploads
      (multipart) are streamed to disk by Django and not counted, as with DATA_UPLOAD_MAX_MEMORY_SIZE;
    - a NUL character in the path or a query parameter of a console page: 400 naming it (the API's
      typed parameters answer 422 naming the parameter). Nothing stored can match
      one, and PostgreSQL refuses it in a query (a 500 otherwise)."""

    DRAIN_MAX_BYTES = 64 * 1024 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_BODY_BYTES
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > limit and not request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            if size <= self.DRAIN_MAX_BYTES:
                while request.read(64 * 1024):
                    pass
            msg = f"the request body is {size} bytes, over the limit of {limit} bytes"
            return _refused(413, "body", msg, limit_bytes=limit)
        if request.path_info.startswith("/api/"):
            return self.get_response(request)  # the API types its parameters: 422 naming the parameter
        if "\x00" in request.path_info:
            return _refused(400, "path", "must not contain NUL characters")
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return _refused(400, name.replace("\x00", ""), "must not contain NUL characters", "query")
        return self.get_response(request)


def _refused(status: int, field: str, msg: str, where: str = "", **extra) -> JsonResponse:
    loc = [where, field] if where else [field]
    return JsonResponse({"detail": [{"loc": loc, "field": field, "msg": msg}], **extra}, status=status)


class ServerTimingMiddleware:
    """`Server-Timing: app;dur=…, cpu;dur=…, db;dur=…, lock;dur=…` on API answers (milliseconds):
    the time in the hub for this request, the CPU time its thread used, the time in SQL, and the time
    waiting to begin a write transaction (SQLite's single writer: the process's own queue,
    zhongshu.core.sqlite, then SQLite's busy wait; ~0 on PostgreSQL). Benchmarks read it to tell the
    server's time from the client's and the network's, and the work from the waiting for a CPU on a
    busy machine; browsers' developer tools show it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        spent = {"db": 0.0, "lock": 0.0}

        def timed(execute, sql, params, many, context):
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                dt = time.perf_counter() - t
                spent["db"] += dt
                if sql.startswith("BEGIN"):
                    spent["lock"] += dt

        queued = getattr(connection, "writer_waited", 0.0)
        start, cpu = time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        app, cpu = time.perf_counter() - start, time.thread_time() - cpu
        lock = spent["lock"] + getattr(connection, "writer_waited", 0.0) - queued
        response["Server-Timing"] = ", ".join(
            f"{name};dur={value * 1000:.1f}"
            for name, value in (("app", app), ("cpu", cpu), ("db", spent["db"]), ("lock", lock))
        )
        return response
