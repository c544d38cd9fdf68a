# Encrypts the receivers stored in clear before 0004 and fills their blind indexes (and back).
# Raw SQL in chunks by id: the fields now decrypt on read, so the clear rows are read as they are.

from django.db import migrations

from zhongshu.core.crypto import SEALED, seal, unseal
from zhongshu.core.pii import address_hash, phone_hash, phone_tail_hash

CHUNK = 2000


def _rows(cursor, table, after):
    cursor.execute(
        f"SELECT id, receiver_name, receiver_phone, receiver_address FROM {table} WHERE id > %s "
        f"ORDER BY id LIMIT {CHUNK}",
        [after],
    )
    return cursor.fetchall()


def _each_chunk(apps, schema_editor, change):
    Order = apps.get_model("orders", "Order")
    conn = schema_editor.connection
    table = conn.ops.quote_name(Order._meta.db_table)
    after = 0
    with conn.cursor() as cursor:
        while rows := _rows(cursor, table, after):
            updates = [u for u in (change(*row) for row in rows) if u]
            if updates:
                cursor.executemany(
                    f"UPDATE {table} SET receiver_name = %s, receiver_phone = %s, receiver_address = %s, "
                    f"receiver_phone_hash = %s, receiver_phone_tail_hash = %s, receiver_address_hash = %s "
                    f"WHERE id = %s",
                    updates,
                )
            after = rows[-1][0]


def _encrypt(pk, name, phone, address):
    if any(v.startswith(SEALED) for v in (name, phone, address) if v):
        return None  # already encrypted (a repeated run)
    return (seal(name), seal(phone), seal(address), phone_hash(phone), phone_tail_hash(phone),
            address_hash(address), pk)  # fmt: skip


def _decrypt(pk, name, phone, address):
    if not any(v.startswith(SEALED) for v in (name, phone, address) if v):
        return None
    return (unseal(name), unseal(phone), unseal(address), "", "", "", pk)


def encrypt(apps, schema_editor):
    _each_chunk(apps, schema_editor, _encrypt)


def decrypt(apps, schema_editor):
    _each_chunk(apps, schema_editor, _decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_receiver_encrypted_blind_indexes"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt)]
