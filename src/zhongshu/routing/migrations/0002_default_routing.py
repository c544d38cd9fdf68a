"""Shipped default of the source: 华中 and 西南 → 成都仓 (CD); everywhere else → 广州仓 (GZ)."""

from django.db import migrations

from zhongshu.routing.defaults import seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("inventory", "Warehouse"),
        apps.get_model("routing", "ProvinceRegion"),
        apps.get_model("routing", "RegionRoute"),
        apps.get_model("routing", "RoutingSettings"),
    )


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial"), ("inventory", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
