"""Background work of the floor: scheduled wave creation (FulfilmentSettings.wave_every_minutes)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from zhongshu.fulfilment import services


@db_periodic_task(crontab(minute="*"))
def scheduled_waves_periodic() -> int:
    """Every minute: waves for warehouses whose last wave is older than the setting's interval."""
    return len(services.scheduled_waves())
