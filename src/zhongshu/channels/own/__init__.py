"""The hub's own channel: orders in the JSON contract (shared/contracts/order.schema.json)."""
