"""快手电商开放平台 message push (消息推送): decrypt one pushed message and read which order it names.

The contract as followed here:

- Kuaishou POSTs every message on its own to the push URL set for the app. The body is text: the
  base64 of AES-CBC ciphertext of the message JSON, zero IV (16 zero bytes), PKCS#5 padding; the
  key is the app's message secret (MsgSecret, separate from appSecret and signSecret), itself
  base64. Nothing is signed and there is no MAC: a body is taken as genuine when it decrypts with
  the secret, unpads, parses as a message and names our appKey (the connector checks that).
- The message: eventId, msgId, bizId, userId, openId (the authorising merchant), appKey, event,
  info (the event's own fields as a JSON string), status, createTime, updateTime, operator, and
  `test` on the platform's connectivity test. msgId identifies the message content and is the
  replay key; eventId ("243_<end of the appKey>_…" in a real message) seems to name its delivery.
- Order events are kwaishop_order_* (addOrder, paySuccess, delivering, deliverySuccess,
  orderSuccess, orderFail, totalFeeChange, addNote, …); their `info.oid`, and the message's bizId,
  is the order id. After-sale events kwaishop_aftersales_* name the order in `info.orderId`.
  Messages carry ids only: the connector fetches the order (open.order.detail).
- The receiver acknowledges with `{"result": 1}` (the hub's push answer, channels/api.py, carries it).

Sources: kwaishopTradePlatform/kwaishop-digital-access-demo, Kuaishou's trade-platform demo
(PlatformEventSecurityUtil: "AES/CBC/PKCS5Padding", key = Base64.decodeBase64(secret), IV = new
byte[16], the request body is the base64 ciphertext; EventDTO incl. `test`; CommonController answers
{"result": 1}); WyntersN/go-kwai (core/d.go AesDecryptCBC: base64-decoded MsgSecret as key, zero IV,
PKCS#5 unpadding of the trimmed body; examples/message_decryption: the message fields); two public Go
clients' message types (a real kwaishop_order_addOrder message with bizId = info.oid and msgId
"84_…"; per-event structs linking open.kwaixiaodian.com/zone/new/docs/msg?name=… pages:
paySuccess/orderFail/delivering carry oid, sellerId, status, updateTime; aftersales_addRefund and
_updateRefund carry orderId, refundId); a Java receiver's KuaiShouMessageBody (eventId unique per
message, msgId unique per business content, `test` = heartbeat).

Not confirmed (no page of Kuaishou's own documentation could be read): the key length (16, 24 and
32 bytes are all accepted, as both SDKs do); whether a body can arrive in another form than the raw
base64 text; whether msgId stays the same across Kuaishou's retries and what makes it retry;
whether the answer body must be {"result": 1} or any HTTP 200 will do; the after-sale `orderId`
field (one client only); the console's name for the message secret; whether the push URL is set
per app (then every shop authorised on the app pushes to one URL) or per authorisation.
"""

import base64
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from zhongshu.channels.base import ConnectorError

ZERO_IV = bytes(16)
KEY_SIZES = (16, 24, 32)  # AES-128/192/256: whatever the decoded secret is
MESSAGE_ID_MAX = 128  # PushReceipt.message_id
ORDER_EVENTS, AFTERSALE_EVENTS = "kwaishop_order_", "kwaishop_aftersales_"


@dataclass(frozen=True)
class Message:
    msg_id: str
    app_key: str
    open_id: str
    event: str
    biz_id: str
    info: dict
    test: bool


def decrypt(body: bytes, message_secret: str) -> bytes:
    """The plain message; ConnectorError when the body is not ciphertext under this secret."""
    key = _key(message_secret)
    try:
        ciphertext = base64.b64decode(b"".join(body.split()), validate=True)
    except ValueError as exc:  # binascii.Error is one
        raise ConnectorError("kuaishou push: body is not base64", "body") from exc
    if not ciphertext or len(ciphertext) % 16:
        raise ConnectorError("kuaishou push: ciphertext is not whole AES blocks", "body")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()
    except ValueError as exc:
        raise ConnectorError(
            "kuaishou push: bad padding (another secret, or an altered body)", "decrypt"
        ) from exc


def parse(plain: bytes) -> Message:
    """The fields the hub uses; ConnectorError when the plain text is not a Kuaishou message."""
    try:
        data = json.loads(plain.decode("utf-8"))
        message = Message(
            msg_id=str(data.get("msgId") or ""),
            app_key=str(data.get("appKey") or ""),
            open_id=str(data.get("openId") or ""),
            event=str(data.get("event") or ""),
            biz_id=str(data.get("bizId") or ""),
            info=_object(data.get("info")),
            test=data.get("test") is True,
        )
    except (ValueError, TypeError, AttributeError) as exc:  # UnicodeDecodeError is a ValueError
        raise ConnectorError(
            "kuaishou push: not a message (another secret, or an altered body)", "body"
        ) from exc
    if not (message.app_key and message.event and 0 < len(message.msg_id) <= MESSAGE_ID_MAX):
        raise ConnectorError("kuaishou push: message without appKey, event or a usable msgId", "body")
    return message


def order_id(message: Message) -> str:
    """The order a message is about; "" for test messages and events about anything else."""
    if message.test:
        return ""
    if message.event.startswith(ORDER_EVENTS):
        value = message.info.get("oid") or message.biz_id
    elif message.event.startswith(AFTERSALE_EVENTS):
        value = message.info.get("orderId")
    else:
        return ""
    oid = str(value or "")
    return oid if oid.isascii() and oid.isdigit() else ""


def _key(message_secret: str) -> bytes:
    try:
        key = base64.b64decode(message_secret.strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) not in KEY_SIZES:
        raise ConnectorError("kuaishou push: no message secret, or not a base64 AES key", "secret")
    return key


def _object(info) -> dict:
    value = json.loads(info) if isinstance(info, str) and info else (info or {})
    if not isinstance(value, dict):
        raise ValueError("info is not an object")
    return value
