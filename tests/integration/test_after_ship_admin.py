# ruff: noqa: F811  (pytest fixtures imported from test_tracking / test_shipping)
"""The console after the ship: the order page shows the tracking timeline and the notices (read-only
sections hooked onto the order admin); the settings keep their secrets write-only and encrypted."""

from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_shipping import api, clean_queue, shop_double  # noqa: F401
from tests.integration.test_tracking import SALT, configured, kd100, push, shipped  # noqa: F401
from tests.platforms.kuaidi100 import push_form
from zhongshu.orders.models import Order
from zhongshu.shipping import tracking
from zhongshu.shipping.models import AfterShipSettings


def test_the_order_page_shows_the_timeline_and_the_notices(api, client, admin_client, kd100, configured):
    waybill = shipped(api, "A1")
    push(
        client,
        push_form(SALT, waybill.waybill_no, "shunfeng", "5", steps=[("北京市", "【北京市】派件员正在派件")]),
    )
    order = Order.objects.get(channel_order_id="A1")
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "物流轨迹" in page and "【北京市】派件员正在派件" in page
    assert "客户通知" in page and "发货通知" in page  # the shipped notice (skipped: SMS is not set up)
    assert "13800138000" not in page


def test_settings_secrets_are_write_only_and_encrypted(admin_client, db):
    form = {"kuaidi100_url": "", "complete_after_days": "5", "aliyun_access_key_id": "LTAI1",
            "aliyun_sign_name": "中枢", "aliyun_sms_url": "", "new_kuaidi100_key": "the-key",
            "new_kuaidi100_salt": "the-salt", "new_aliyun_secret": "the-secret"}  # fmt: skip
    r = admin_client.post("/admin/shipping/aftershipsettings/add/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    row = AfterShipSettings.objects.get()
    assert "the-salt" not in row.kuaidi100_salt_enc and tracking.kuaidi100_credentials() == (
        "the-key",
        "the-salt",
    )
    page = admin_client.get(f"/admin/shipping/aftershipsettings/{row.pk}/change/").content.decode()
    assert "the-salt" not in page and "the-key" not in page and "the-secret" not in page
    # saved again with the secret fields empty: the stored values stay
    r = admin_client.post(f"/admin/shipping/aftershipsettings/{row.pk}/change/",
                          {**form, "new_kuaidi100_key": "", "new_kuaidi100_salt": "", "new_aliyun_secret": ""})  # fmt: skip
    assert r.status_code == 302
    row.refresh_from_db()
    assert (row.kuaidi100_salt, row.aliyun_secret, row.complete_after_days) == ("the-salt", "the-secret", 5)


def test_env_vars_serve_scripted_set_ups(db, monkeypatch):
    monkeypatch.setenv("ZHONGSHU_KUAIDI100_KEY", "env-key")
    monkeypatch.setenv("ZHONGSHU_KUAIDI100_SALT", "env-salt")
    assert tracking.kuaidi100_credentials() == ("env-key", "env-salt")
    row = AfterShipSettings()
    row.kuaidi100_salt = "console-salt"
    row.save()
    assert tracking.kuaidi100_credentials() == ("env-key", "console-salt")  # the console's value wins
