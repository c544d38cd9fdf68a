"""The load test's schedule: as many orders as the mean rate asks for, shaped by the curve."""

from zhongshu.loadtest import double11_curve, due_times


def test_double11_schedule_keeps_the_mean_rate_and_bursts_at_midnight():
    dues = due_times(20, 60, double11_curve(), None)
    assert 1190 <= len(dues) <= 1200 and dues == sorted(dues) and dues[-1] < 60
    first, last = sum(d < 6 for d in dues), sum(d >= 54 for d in dues)
    assert first > 3 * last  # the first tenth of the hour carries the burst


def test_flat_curve_and_order_limit():
    dues = due_times(10, 10, [1.0] * 24, None)
    assert 99 <= len(dues) <= 100 and abs(dues[50] - 5.0) < 0.2
    assert len(due_times(10, 10, [1.0], 7)) == 7


def test_each_shop_s_orders_go_the_way_its_platform_s_come_and_updates_follow_them():
    import re

    from zhongshu.loadtest import LOADTEST_IDS, has_path, route

    def body(shop, n, status="paid"):
        return {
            "shop": shop,
            "channel_order_id": f"LT123456-{n:07d}",
            "status": status,
        }

    planned = [
        (0.1 * n, "new", body(shop, n))
        for n, shop in enumerate(["tb", "jd", "mp", "dy", "dy", "dy", "dy", "dy"])
    ]
    planned.append((1.0, "update", body("tb", 0, "cancelled")))
    platforms = {"tb": "taobao", "jd": "jd", "mp": "own", "dy": "douyin"}
    routed = route(planned, platforms, {"api", "pull", "push", "file"}, "LT123456-", 123456)
    ways = [(r[2], r[3]["channel_order_id"]) for r in routed]
    assert ways == [("pull", "81234560000000"), ("pull", "81234560000001"), ("push", "LT123456-P0000002"),
                    ("api", "LT123456-0000003"), ("api", "LT123456-0000004"), ("file", "LT123456-F0000005"),
                    ("api", "LT123456-0000006"), ("api", "LT123456-0000007"), ("pull", "81234560000000")]  # fmt: skip
    assert routed[-1][1] == "update" and routed[-1][3]["status"] == "cancelled"
    assert all(re.match(LOADTEST_IDS, i) for _, i in ways)
    only_pull = route(planned, platforms, {"pull"}, "LT123456-", 123456)
    assert {r[3]["shop"] for r in only_pull} == {"tb", "jd"}
    assert (
        not has_path("douyin", {"pull", "push"}) and has_path("own", {"push"}) and has_path("pdd", {"pull"})
    )
