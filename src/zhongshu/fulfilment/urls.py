"""The warehouse floor's phone pages (included under /pda/)."""

from django.urls import path

from zhongshu.fulfilment import views

app_name = "pda"

urlpatterns = [
    path("", views.waves, name="waves"),
    path("login/", views.PdaLoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("waves/<int:wave_id>/claim/", views.claim, name="claim"),
    path("waves/<int:wave_id>/", views.pick, name="pick"),
    path("waves/<int:wave_id>/scan/", views.pick_scan, name="pick_scan"),
    path("waves/<int:wave_id>/shortage/", views.pick_shortage, name="pick_shortage"),
    path("waves/<int:wave_id>/finish/", views.pick_finish, name="pick_finish"),
    path("pack/", views.pack, name="pack"),
]
