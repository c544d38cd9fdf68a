"""Admin actions that change something ask first (a GET shows a confirmation form, its POST acts).

Kept apart from core/admin.py: importing that module imports the login guard, whose signal receiver
must be connected after django-axes' own (apps' ready order), not during the admin's autodiscovery."""

from django.shortcuts import render


def confirm_then(modeladmin, request, *, title, question, button, back: str, run):
    """An admin action that changes something answers GET with a confirmation form (a link, a
    prefetch or a forged page cannot make it act) and acts only on the POST of that form (CSRF
    checked): `run()` returns the response, usually a redirect with a message."""
    if request.method == "POST":
        return run()
    context = {**modeladmin.admin_site.each_context(request), "title": title, "question": question,
               "button": button, "back": back}  # fmt: skip
    return render(request, "admin/confirm_action.html", context)
