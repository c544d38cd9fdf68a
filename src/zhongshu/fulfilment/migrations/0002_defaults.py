"""Shipped defaults: packaging types, the four wave strategies (爆款, 单品单件, 单品多件, 多品) and the
settings row with the 50 g / 5 % weigh tolerance."""

from django.db import migrations

from zhongshu.fulfilment.defaults import seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("fulfilment", "PackagingType"),
        apps.get_model("fulfilment", "WaveStrategy"),
        apps.get_model("fulfilment", "FulfilmentSettings"),
    )


class Migration(migrations.Migration):
    dependencies = [("fulfilment", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
