"""The shipped rule sets and interception templates, enabled by default (rules/templates.py)."""

from django.db import migrations

from zhongshu.rules.templates import seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("rules", "RuleSet"),
        apps.get_model("rules", "Rule"),
        apps.get_model("rules", "RuleVersion"),
        apps.get_model("rules", "RuntimeState"),
    )


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
