"""The hub's own channel: orders in the JSON contract (src/zhongshu/orders/order.schema.json).

`connector` speaks the own shop's signed webhooks and registers itself; `jsonl` imports files.
"""

from zhongshu.channels.own import connector  # noqa: F401  (registers the own-shop connector)
