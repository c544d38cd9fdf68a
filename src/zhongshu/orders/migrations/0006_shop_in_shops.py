# The shop moved to the shops app with its table: the foreign key points at the same table, so only
# Django's state changes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_encrypt_stored_receivers'),
        ('shops', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='order',
                    name='shop',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='shops.shop', verbose_name='店铺'),
                ),
            ],
            database_operations=[],
        ),
    ]
