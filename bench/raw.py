"""The machine's limit: the same rows an order costs the hub, inserted without the hub.

Per order, in transactions of `batch` orders (as the batch import commits): the order row (as many
columns as the hub's, receiver included), its lines, two conditional stock updates (reserve only
if available: `physical - reserved >= qty`), three events (the outbox rows of the paid and
allocated transitions and the stock change) and an audit row — with plain sqlite3 or psycopg
`executemany`, no ORM, no rules, no routing. Every throughput figure of bench/run is also shown as
a ratio to this rate, measured in the same run on the same database.
"""

import json
import sqlite3
import time
from pathlib import Path

from orders_gen import SKUS, make_order

SCHEMA = [
    """CREATE TABLE raw_order (id INTEGER PRIMARY KEY {auto}, shop_id INTEGER, channel_order_id VARCHAR(64),
       status VARCHAR(24), channel_status VARCHAR(32), warehouse_id INTEGER, placed_at TIMESTAMP,
       paid_at TIMESTAMP, channel_updated_at TIMESTAMP, buyer_ref VARCHAR(64), buyer_nick VARCHAR(64),
       receiver_name TEXT, receiver_phone TEXT, receiver_province VARCHAR(32), receiver_city VARCHAR(32),
       receiver_district VARCHAR(32), receiver_address TEXT, receiver_phone_hash VARCHAR(64),
       receiver_address_hash VARCHAR(64), lines_amount NUMERIC(12,2), freight NUMERIC(12,2),
       discount NUMERIC(12,2), paid_amount NUMERIC(12,2), flags TEXT, remark TEXT, updated_at TIMESTAMP,
       UNIQUE (shop_id, channel_order_id))""",
    """CREATE TABLE raw_line (id INTEGER PRIMARY KEY {auto}, order_id INTEGER REFERENCES raw_order(id),
       sku_id INTEGER, title VARCHAR(256), quantity INTEGER, unit_price NUMERIC(12,2), paid_amount NUMERIC(12,2))""",
    """CREATE TABLE raw_stock (id INTEGER PRIMARY KEY, physical INTEGER, reserved INTEGER,
       CHECK (reserved <= physical))""",
    """CREATE TABLE raw_event (id INTEGER PRIMARY KEY {auto}, topic VARCHAR(64), key VARCHAR(128), payload TEXT,
       actor VARCHAR(128), created_at TIMESTAMP, delivered_at TIMESTAMP, attempts INTEGER)""",
    """CREATE TABLE raw_audit (id INTEGER PRIMARY KEY {auto}, order_id INTEGER, from_status VARCHAR(24),
       to_status VARCHAR(24), actor VARCHAR(128), reason VARCHAR(400), at TIMESTAMP)""",
]
RESERVE = "UPDATE raw_stock SET reserved = reserved + {p} WHERE id = {p} AND physical - reserved >= {p}"


def _rows(orders: list[dict], first_id: int):
    order_rows, line_rows, stock_rows, event_rows, audit_rows = [], [], [], [], []
    for n, o in enumerate(orders):
        oid, r, now = first_id + n, o["receiver"], o["updated_at"]
        order_rows.append((oid, 1, o["channel_order_id"], "allocated", "paid", 1, o["created_at"], o["paid_at"],
                           now, "", "", r["name"], r["phone"], r["province"], "", "", r["address"], "h" * 64,
                           "a" * 64, o["paid_amount"], "0.00", "0.00", o["paid_amount"], "[]", "", now))  # fmt: skip
        for ln in o["lines"]:
            line_rows.append((oid, SKUS.index(ln["sku"]) + 1, ln["sku"], ln["quantity"], ln["unit_price"],
                              ln["paid_amount"]))  # fmt: skip
        for ln in (o["lines"] * 2)[:2]:  # two conditional stock updates
            sku = SKUS.index(ln["sku"]) + 1
            stock_rows.append((ln["quantity"], sku, ln["quantity"]))
        payload = json.dumps({"order_id": oid, "shop": "mp", "channel_order_id": o["channel_order_id"]})
        for topic in ("order.status_changed", "order.status_changed", "stock.changed"):
            event_rows.append((topic, f"order:{oid}", payload, "import", now, None, 0))
        audit_rows.append((oid, "paid", "allocated", "import", "分配至 CD", now))
    return order_rows, line_rows, stock_rows, event_rows, audit_rows


def _statements(p: str) -> list[str]:
    return [
        f"INSERT INTO raw_order (id, shop_id, channel_order_id, status, channel_status, warehouse_id, placed_at, "
        f"paid_at, channel_updated_at, buyer_ref, buyer_nick, receiver_name, receiver_phone, receiver_province, "
        f"receiver_city, receiver_district, receiver_address, receiver_phone_hash, receiver_address_hash, "
        f"lines_amount, freight, discount, paid_amount, flags, remark, updated_at) VALUES ({', '.join([p] * 26)})",
        f"INSERT INTO raw_line (order_id, sku_id, title, quantity, unit_price, paid_amount) "
        f"VALUES ({', '.join([p] * 6)})",
        RESERVE.format(p=p),
        f"INSERT INTO raw_event (topic, key, payload, actor, created_at, delivered_at, attempts) "
        f"VALUES ({', '.join([p] * 7)})",
        f"INSERT INTO raw_audit (order_id, from_status, to_status, actor, reason, at) VALUES ({', '.join([p] * 6)})",
    ]


def sqlite_rate(path: Path, n_orders: int, batch: int = 500) -> float:
    """Orders/s into a fresh SQLite file with the hub's settings (WAL, synchronous=NORMAL)."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for ddl in SCHEMA:
        db.execute(ddl.format(auto=""))
    db.executemany("INSERT INTO raw_stock VALUES (?, ?, 0)", [(i + 1, 10**9) for i in range(len(SKUS))])
    orders = [make_order(n, prefix="R") for n in range(n_orders)]
    ins_order, ins_line, reserve, ins_event, ins_audit = _statements("?")
    t0 = time.perf_counter()
    for i in range(0, n_orders, batch):
        o, ln, st, ev, au = _rows(orders[i : i + batch], i + 1)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(ins_order, o)
        db.executemany(ins_line, ln)
        db.executemany(reserve, st)
        db.executemany(ins_event, ev)
        db.executemany(ins_audit, au)
        db.execute("COMMIT")
    rate = n_orders / (time.perf_counter() - t0)
    db.close()
    return rate


def postgres_rate(url: str, n_orders: int, batch: int = 500) -> float:
    """Orders/s into tables of a scratch schema of the benchmark's PostgreSQL database (over TCP)."""
    import psycopg

    orders = [make_order(n, prefix="R") for n in range(n_orders)]
    ins_order, ins_line, reserve, ins_event, ins_audit = _statements("%s")
    with psycopg.connect(url) as conn:
        conn.execute("DROP SCHEMA IF EXISTS raw_bench CASCADE")
        conn.execute("CREATE SCHEMA raw_bench")
        conn.execute("SET search_path TO raw_bench")
        for ddl in SCHEMA:
            conn.execute(ddl.replace("INTEGER PRIMARY KEY {auto}", "BIGSERIAL PRIMARY KEY").format(auto=""))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO raw_stock VALUES (%s, %s, 0)", [(i + 1, 10**9) for i in range(len(SKUS))]
            )
        conn.commit()
        t0 = time.perf_counter()
        for i in range(0, n_orders, batch):
            o, ln, st, ev, au = _rows(orders[i : i + batch], i + 1)
            with conn.cursor() as cur:
                cur.executemany(ins_order, o)
                cur.executemany(ins_line, ln)
                cur.executemany(reserve, st)
                cur.executemany(ins_event, ev)
                cur.executemany(ins_audit, au)
            conn.commit()
        rate = n_orders / (time.perf_counter() - t0)
        conn.execute("DROP SCHEMA raw_bench CASCADE")
        conn.commit()
    return rate
