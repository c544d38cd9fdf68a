"""A webhook subscriber: a real HTTP server on 127.0.0.1 that records every POST (with the failure
switches of PlatformDouble: fail_next, delay_next, outage) and answers 200 otherwise. Like a careful
subscriber it keeps what it accepted by `webhook-id` (a repeat is acknowledged, not kept twice)."""

from tests.platforms.server import PlatformDouble, Request, Response


class WebhookReceiver(PlatformDouble):
    def reset(self) -> None:
        super().reset()
        self.accepted: list[Request] = []  # in the order they arrived, first copy of each webhook-id
        self.duplicates = 0
        self.answer = 200

    def handle(self, request: Request) -> Response:
        with self._lock:
            if any(r.headers["webhook-id"] == request.headers.get("webhook-id") for r in self.accepted):
                self.duplicates += 1
            elif self.answer < 300:
                self.accepted.append(request)
        return Response(self.answer, b"")
