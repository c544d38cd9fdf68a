# The shop moved to the shops app with its table (channels_shop): the foreign keys point at the same
# table and the table is not dropped; only Django's state changes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels', '0005_field_labels'),
        ('orders', '0006_shop_in_shops'),
        ('shops', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='syncstate',
                    name='shop',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='sync', to='shops.shop', verbose_name='店铺'),
                ),
                migrations.AlterField(
                    model_name='shopcredential',
                    name='shop',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='credential', to='shops.shop', verbose_name='店铺'),
                ),
                migrations.AlterField(
                    model_name='stockpush',
                    name='shop',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stock_pushes', to='shops.shop', verbose_name='店铺'),
                ),
                migrations.AlterField(
                    model_name='pushreceipt',
                    name='shop',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='shops.shop', verbose_name='店铺'),
                ),
                migrations.DeleteModel(
                    name='Shop',
                ),
            ],
            database_operations=[],
        ),
    ]
