"""The warehouse floor's tables: packaging types, packages (包裹) with their orders, lines and audited
transitions, wave strategies, waves (波次) with their pick rows, and the fulfilment settings. The
decisions over them live in fulfilment.domain; writes go through fulfilment.services."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from zhongshu.fulfilment.domain import PackageStatus, WaveKind

PCT = {
    "max_digits": 5,
    "decimal_places": 2,
    "default": Decimal("5.00"),
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
}


class PackagingType(models.Model):
    """A box, bag or envelope; its weight counts in a package's expected weight."""

    name = models.CharField(_("名称"), max_length=64, unique=True)
    weight_g = models.PositiveIntegerField(_("重量(克)"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "包材")
        verbose_name_plural = _("包材")
        ordering = ["weight_g", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.weight_g} g)"


class WaveStrategy(models.Model):
    """How a wave is cut from a warehouse's pending packages (editable data, not code)."""

    class Kind(models.TextChoices):
        SINGLE_UNIT = WaveKind.SINGLE_UNIT.value, _("单品单件")
        SINGLE_SKU = WaveKind.SINGLE_SKU.value, _("单品多件")
        MULTI = WaveKind.MULTI.value, _("多品")
        HOT = WaveKind.HOT.value, _("爆款")

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    carrier = models.CharField(_("限定快递"), max_length=32, blank=True, help_text=_("留空表示不限快递"))
    max_packages = models.PositiveIntegerField(
        _("每波最多包裹数"), default=100, validators=[MinValueValidator(1)]
    )
    min_packages = models.PositiveIntegerField(
        _("每波最少包裹数"), default=1, validators=[MinValueValidator(1)], help_text=_("不足此数不生成波次")
    )
    priority = models.PositiveIntegerField(_("顺序"), default=100, help_text=_("定时生成波次时按此顺序"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "波次策略")
        verbose_name_plural = _("波次策略")
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(max_packages__gte=1), name="wave_strategy_max_positive"),
            models.CheckConstraint(condition=Q(min_packages__gte=1), name="wave_strategy_min_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Wave(models.Model):
    """A batch of a warehouse's packages picked together by one picker."""

    class Status(models.TextChoices):
        OPEN = "open", _("待领取")
        CLAIMED = "claimed", _("拣货中")
        DONE = "done", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        related_name="waves",
        verbose_name=pgettext_lazy("singular", "仓库"),
    )
    strategy = models.ForeignKey(
        WaveStrategy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waves",
        verbose_name=pgettext_lazy("singular", "波次策略"),
    )
    kind = models.CharField(_("类型"), max_length=16, choices=WaveStrategy.Kind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    picker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("拣货员"),
    )
    created_by = models.CharField(_("创建者"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "波次")
        verbose_name_plural = _("波次")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["warehouse", "status"], name="wave_warehouse_status")]

    def __str__(self) -> str:
        return f"W{self.pk}"


class WavePickRow(models.Model):
    """One row of a wave's pick list: a SKU, its bin location and the units to pick (picked so far)."""

    wave = models.ForeignKey(
        Wave,
        on_delete=models.CASCADE,
        related_name="pick_rows",
        verbose_name=pgettext_lazy("singular", "波次"),
    )
    position = models.PositiveIntegerField(_("顺序"))
    location = models.CharField(_("货位"), max_length=32, blank=True)
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    quantity = models.PositiveIntegerField(_("应拣数量"))
    picked = models.PositiveIntegerField(_("已拣数量"), default=0)
    short = models.PositiveIntegerField(_("缺货数量"), default=0)

    class Meta:
        verbose_name = pgettext_lazy("singular", "拣货单行")
        verbose_name_plural = _("拣货单")
        ordering = ["wave", "position"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "sku"], name="pick_row_one_per_sku"),
            models.CheckConstraint(
                condition=Q(picked__lte=models.F("quantity")), name="pick_row_picked_within_quantity"
            ),
        ]


class Package(models.Model):
    """包裹: what leaves one warehouse in one box; one or more orders (合单), or part of one (拆单)."""

    class Status(models.TextChoices):
        PENDING = PackageStatus.PENDING.value, _("待生成波次")
        WAVED = PackageStatus.WAVED.value, _("已生成波次")
        PICKING = PackageStatus.PICKING.value, _("拣货中")
        PICKED = PackageStatus.PICKED.value, _("已拣货")
        PACKED = PackageStatus.PACKED.value, _("已打包")
        SHIPPED = PackageStatus.SHIPPED.value, _("已发货")
        STOPPED = PackageStatus.STOPPED.value, _("已拦截")
        CANCELLED = PackageStatus.CANCELLED.value, _("已取消")

    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        related_name="packages",
        verbose_name=pgettext_lazy("singular", "仓库"),
    )
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.PROTECT,
        related_name="packages",
        verbose_name=pgettext_lazy("singular", "店铺"),
    )
    carrier = models.CharField(_("快递"), max_length=32, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    stop_code = models.CharField(_("拦截代码"), max_length=32, blank=True)
    stop_reason = models.CharField(_("拦截原因"), max_length=400, blank=True)
    packaging = models.ForeignKey(
        PackagingType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("singular", "包材"),
    )
    expected_weight_g = models.PositiveIntegerField(_("预计重量(克)"), default=0)
    measured_weight_g = models.PositiveIntegerField(_("实称重量(克)"), null=True, blank=True)
    flags = models.JSONField(_("包裹标记"), default=list, blank=True)
    # A keyed hash of the merge key without the shop (receiver, warehouse, carrier, presale, cold
    # chain; "" = never merged): finding a pending package to merge into is one indexed lookup.
    merge_key = models.CharField(_("合单键"), max_length=64, blank=True, editable=False)
    ship_by = models.DateTimeField(_("最晚发货时间"), null=True, blank=True)
    wave = models.ForeignKey(
        Wave,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="packages",
        verbose_name=pgettext_lazy("singular", "波次"),
    )
    seed_slot = models.PositiveIntegerField(_("分拣格"), null=True, blank=True)

    # processing-time records (paid → packed → shipped per day is one query)
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)
    allocated_at = models.DateTimeField(_("分仓时间"), null=True, blank=True)
    waved_at = models.DateTimeField(_("生成波次时间"), null=True, blank=True)
    picked_at = models.DateTimeField(_("拣货完成时间"), null=True, blank=True)
    packed_at = models.DateTimeField(_("打包时间"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("发货时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    orders = models.ManyToManyField(
        "orders.Order",
        through="PackageOrder",
        related_name="packages",
        verbose_name=_("订单"),
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "包裹")
        verbose_name_plural = _("包裹")
        ordering = ["-created_at", "-id"]
        # A supervisor's actions on a stopped package: weight override, resume, cancel.
        permissions = [("supervise_package", "放行、恢复或取消被拦截的包裹")]
        indexes = [
            models.Index(fields=["warehouse", "status", "ship_by"], name="package_wh_status_shipby"),
            models.Index(fields=["warehouse", "status", "merge_key"], name="package_wh_status_mergekey"),
            models.Index(fields=["packed_at"], name="package_packed_at"),
            models.Index(fields=["shipped_at"], name="package_shipped_at"),
        ]

    def __str__(self) -> str:
        return f"P{self.pk}"


class PackageOrder(models.Model):
    """A package ↔ order link: several orders in one package (合单), one order in several (拆单)."""

    package = models.ForeignKey(
        Package,
        on_delete=models.CASCADE,
        related_name="package_orders",
        verbose_name=pgettext_lazy("singular", "包裹"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="package_orders",
        verbose_name=pgettext_lazy("singular", "订单"),
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "包裹订单")
        verbose_name_plural = _("包裹订单")
        constraints = [models.UniqueConstraint(fields=["package", "order"], name="package_order_once")]


class PackageLine(models.Model):
    """Units of one order line (or of a SKU) in a package."""

    package = models.ForeignKey(
        Package,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name=pgettext_lazy("singular", "包裹"),
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.SET_NULL,  # intake replaces an order's lines; the package then re-syncs
        null=True,
        blank=True,
        related_name="package_lines",
        verbose_name=pgettext_lazy("singular", "订单行"),
    )
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    quantity = models.PositiveIntegerField(_("数量"))

    class Meta:
        verbose_name = pgettext_lazy("singular", "包裹明细")
        verbose_name_plural = _("包裹明细")
        ordering = ["package", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="package_line_quantity_positive")
        ]


class PackageTransition(models.Model):
    """Audit of the package state machine: who, when, from, to and why."""

    package = models.ForeignKey(
        Package,
        on_delete=models.CASCADE,
        related_name="transitions",
        verbose_name=pgettext_lazy("singular", "包裹"),
    )
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16)
    actor = models.CharField(_("操作者"), max_length=128)
    reason = models.CharField(_("原因"), max_length=400, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("包裹状态变更")
        verbose_name_plural = _("包裹状态变更记录")
        ordering = ["package", "id"]
        indexes = [models.Index(fields=["to_status", "at"], name="pkg_transition_status_at")]


class FulfilmentSettings(models.Model):
    """One row: merging across shops, scheduled waves and the weigh-check tolerance (称重复核)."""

    merge_across_shops = models.BooleanField(
        _("同平台跨店合单"), default=False, help_text=_("同一平台不同店铺、同一收货人的订单合并为一个包裹")
    )
    wave_every_minutes = models.PositiveIntegerField(
        _("自动生成波次间隔(分钟)"), default=0, help_text=_("0 表示只手动生成")
    )
    weigh_over_g = models.PositiveIntegerField(_("超重允许(克)"), default=50)
    weigh_over_pct = models.DecimalField(_("超重允许(%)"), **PCT)
    weigh_under_g = models.PositiveIntegerField(_("偏轻允许(克)"), default=50)
    weigh_under_pct = models.DecimalField(_("偏轻允许(%)"), **PCT)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "发货设置")
        verbose_name_plural = _("发货设置")

    def __str__(self) -> str:
        return str(_("发货设置"))


class WarehouseStaff(models.Model):
    """仓库人员: the warehouses a floor user works in. The PDA lists and lets claim only their waves and
    the packing page finds only their packages; a user without a row (or without warehouses) sees
    none. Superusers and rows with `all_warehouses` (supervisors) see every warehouse."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="warehouse_staff",
        verbose_name=_("用户"),
    )
    warehouses = models.ManyToManyField(
        "inventory.Warehouse", blank=True, related_name="staff", verbose_name=_("所属仓库")
    )
    all_warehouses = models.BooleanField(
        _("所有仓库"), default=False, help_text=_("主管等可处理所有仓库的波次和包裹")
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "仓库人员")
        verbose_name_plural = _("仓库人员")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()


class RecountTask(models.Model):
    """盘点任务: a picker found fewer units at a location than the pick list asked (a shortage on the
    PDA); someone counts that SKU at that location and closes the task with the counted quantity."""

    class Status(models.TextChoices):
        OPEN = "open", _("待盘点")
        DONE = "done", _("已盘点")

    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        related_name="recount_tasks",
        verbose_name=pgettext_lazy("singular", "仓库"),
    )
    location = models.CharField(_("货位"), max_length=32, blank=True)
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU"))
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    reason = models.CharField(_("原因"), max_length=400, blank=True)
    wave = models.ForeignKey(
        Wave,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recount_tasks",
        verbose_name=pgettext_lazy("singular", "波次"),
    )
    missing = models.PositiveIntegerField(_("缺少数量"), default=0)
    counted = models.PositiveIntegerField(_("盘点数量"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    raised_by = models.CharField(_("发起人"), max_length=128, blank=True)
    done_by = models.CharField(_("盘点人"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "盘点任务")
        verbose_name_plural = _("盘点任务")
        ordering = ["status", "-created_at", "-id"]
        indexes = [models.Index(fields=["warehouse", "status"], name="recount_warehouse_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | Q(counted__isnull=False), name="recount_done_has_count"
            )
        ]

    def __str__(self) -> str:
        return f"R{self.pk}"
