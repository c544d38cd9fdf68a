"""Request middleware of the hub."""

from django.conf import settings
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
