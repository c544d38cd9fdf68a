# The shop moves from channels to shops with its table (channels_shop) and rows: only Django's state
# changes here; the table stays. The content type is renamed so that permissions granted on shops
# (and the groups holding them) carry over.

from django.db import migrations, models


def rename_content_type(apps, schema_editor, old="channels", new="shops"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model="shop").exists():
        ContentType.objects.using(db).filter(app_label=old, model="shop").update(app_label=new)


def restore_content_type(apps, schema_editor):
    rename_content_type(apps, schema_editor, old="shops", new="channels")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("channels", "0005_field_labels"),  # the table exists, with every column
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Shop',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=64, unique=True, verbose_name='店铺代码')),
                        ('name', models.CharField(max_length=128, verbose_name='店铺名称')),
                        ('platform', models.CharField(choices=[('taobao', '淘宝/天猫'), ('jd', '京东'), ('pdd', '拼多多'), ('douyin', '抖音'), ('kuaishou', '快手'), ('meituan', '美团'), ('own', '自有商城/小程序')], max_length=16, verbose_name='平台')),
                        ('active', models.BooleanField(default=True, verbose_name='启用')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                        ('stock_share_percent', models.PositiveSmallIntegerField(default=100, verbose_name='可售比例(%)')),
                        ('stock_buffer', models.PositiveIntegerField(default=0, help_text='不推送给该店铺的数量', verbose_name='保留库存')),
                        ('stock_cap', models.PositiveIntegerField(blank=True, null=True, verbose_name='推送上限')),
                    ],
                    options={
                        'verbose_name': '店铺',
                        'verbose_name_plural': '店铺',
                        'db_table': 'channels_shop',
                        'ordering': ['code'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, restore_content_type),
    ]
