"""The shipped routing rule: the foundation's default region routing (华中, 西南 → CD) as an editable
rule of the `routing` rule set (rules/templates.py); the region table stays as the fallback."""

from django.db import migrations

from zhongshu.rules.templates import seed_routing


def forwards(apps, schema_editor):
    seed_routing(
        apps.get_model("rules", "RuleSet"),
        apps.get_model("rules", "Rule"),
        apps.get_model("rules", "RuleVersion"),
        apps.get_model("rules", "RuntimeState"),
    )


class Migration(migrations.Migration):
    dependencies = [("rules", "0002_templates")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
