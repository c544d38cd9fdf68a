"""The hub's own health, sampled each minute by the worker (monitor/health.py): the availability
figure of the KPI report (R-MON3, "availability during promotions") is computed from these rows."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HealthSample(models.Model):
    """One minute's health check: the API answered, the worker ran on time, the database was quick."""

    at = models.DateTimeField(_("时间"), db_index=True)
    api_ok = models.BooleanField(_("接口正常"))
    worker_ok = models.BooleanField(_("后台任务正常"))
    db_latency_ms = models.PositiveIntegerField(_("数据库延迟(毫秒)"))
    peak_mode = models.BooleanField(_("大促模式"), default=False)
    ok = models.BooleanField(_("可用"))

    class Meta:
        verbose_name = pgettext_lazy("singular", "健康采样")
        verbose_name_plural = _("健康采样")
        ordering = ["-at"]
        permissions = [("view_kpi_report", "查看 KPI 报表")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'down'}"
