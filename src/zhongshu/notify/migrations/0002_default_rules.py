"""The shipped alert rules (without channels: a channel is added in the console)."""

from django.db import migrations

from zhongshu.notify.defaults import seed


def forwards(apps, schema_editor):
    seed(apps.get_model("notify", "AlertRule"))


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
