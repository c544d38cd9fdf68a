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
