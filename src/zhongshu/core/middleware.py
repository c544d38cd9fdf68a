"""Request middleware of the hub."""

from django.conf import settings
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


class BodyLimitMiddleware:
    """A request body over settings.MAX_BODY_BYTES (ZHONGSHU_MAX_BODY_BYTES) is answered with a JSON
    413 naming the limit; Django alone answers an HTML 400. The body is read and thrown away first
    (up to DRAIN_MAX_BYTES): a client still sending would otherwise see the connection reset instead
    of the answer, and gunicorn would close a keep-alive connection it cannot drain. File uploads
    (multipart) are streamed to disk by Django and are not counted, as with DATA_UPLOAD_MAX_MEMORY_SIZE."""

    DRAIN_MAX_BYTES = 64 * 1024 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_BODY_BYTES
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size <= limit or request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            return self.get_response(request)
        if size <= self.DRAIN_MAX_BYTES:
            while request.read(64 * 1024):
                pass
        msg = f"the request body is {size} bytes, over the limit of {limit} bytes"
        error = {"loc": ["body"], "field": "body", "msg": msg, "type": "body_too_large"}
        return JsonResponse({"detail": [error], "limit_bytes": limit}, status=413)
