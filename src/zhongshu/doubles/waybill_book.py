"""The waybill side every platform double shares (电子面单): numbers by idempotency key, a balance,
areas out of reach, cancellations.

Like the platforms: asking again with the same key (object_id / pack_id / packageCode / orderId)
returns the number given the first time and costs no balance; an empty balance (`balance = 0`) and a
receiver province in `unreachable` are refused; a cancelled number is not given again. Each double
answers these refusals in its own envelope and words (see the waybill handlers in each double).
"""

import itertools
import threading


class Refused(Exception):  # noqa: N818 (a platform's refusal, not a bug)
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "balance" | "unreachable"


class WaybillBook:
    def __init__(self, prefix: str, start: int = 10_000_001):
        self.prefix = prefix
        self.numbers: dict[str, str] = {}  # key → number
        self.balance: int | None = None  # None: unlimited
        self.unreachable: set[str] = set()  # receiver provinces refused
        self.cancelled: list[str] = []
        self.calls = 0  # get calls received (a batch is one call)
        self._seq = itertools.count(start)
        self._lock = threading.Lock()

    def take(self, key: str, province: str) -> str:
        """The number for `key` (the same one when asked again); Refused when the platform would refuse."""
        with self._lock:
            if key in self.numbers:
                return self.numbers[key]
            if province in self.unreachable:
                raise Refused("unreachable")
            if self.balance is not None and self.balance <= 0:
                raise Refused("balance")
            if self.balance is not None:
                self.balance -= 1
            number = f"{self.prefix}{next(self._seq)}"
            self.numbers[key] = number
            return number

    def known(self, number: str) -> bool:
        return number in self.numbers.values() and number not in self.cancelled

    def cancel(self, number: str) -> bool:
        with self._lock:
            if not self.known(number):
                return False
            self.cancelled.append(number)
            return True

    @property
    def issued(self) -> int:
        return len(self.numbers)
