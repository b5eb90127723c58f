"""WeChat's wire format for the Official Account push: signatures, the AES envelope, the message XML, replies.

Pure functions and small classes, testable without HTTP:

- `signature_of` / `signature_matches`: SHA-1 over the sorted token, timestamp, nonce (and, in safe mode, the
  Encrypt text), compared in constant time;
- `fresh`: a push's timestamp is within five minutes of now (an older or future one is a replay);
- `xml_fields`: the top-level fields of a push's XML, parsed with defusedxml, so a DTD, an entity
  declaration (billion laughs, external entities) is refused as `BadPush`, never expanded;
- `PushCrypto`: safe mode's AES envelope (wechatpy's PrpCrypto), opened and made;
- `Push`: the fields a channel needs, `push_of(fields)` checks them;
- `inbound_of`: what a push means for the bot (text, the welcome, a menu intent, an image, nothing);
- `text_reply`: the passive text reply's XML.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

MAX_SKEW_S = 300  # WeChat's timestamp may be this far from ours, either way; beyond is a replay
PASSIVE_LIMIT_BYTES = 2048  # the longest text a passive reply may carry
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
MAX_FIELD_CHARS = 16 * 1024
WELCOME = "你好"  # what the web widget sends on a new session: the bot greets
IMAGE_PREFIX = "[图片] "
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class BadPush(ValueError):
    """The push cannot be read (malformed XML, a DTD or entity, a missing field, an envelope that does not open);
    the message says why, for the 400's reason."""


def signature_of(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def signature_matches(given: str | None, *parts: str) -> bool:
    """`given` is the signature of `parts` (constant-time comparison)."""
    return hmac.compare_digest(signature_of(*parts).encode(), (given or "").encode("utf-8", "replace"))


def fresh(timestamp: str | None, now: float | None = None, max_skew_s: int = MAX_SKEW_S) -> bool:
    """The push's timestamp is a whole number of seconds within `max_skew_s` of now."""
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:  # not "²"
        return False
    current = time.time() if now is None else now
    return abs(current - int(timestamp)) <= max_skew_s


def xml_fields(xml: bytes | str) -> dict[str, str]:
    """The text of each top-level element of `<xml>…</xml>`; `BadPush` when it is not such a document."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadPush("XML with a DTD or entity declarations is refused") from exc
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an encoding Python does not know
        raise BadPush("the body is not well-formed XML") from exc
    if root.tag != "xml":
        raise BadPush("the body must be an <xml> document")
    fields: dict[str, str] = {}
    for child in root:
        text = (child.text or "").strip()
        if len(text) > MAX_FIELD_CHARS:
            raise BadPush(f"<{child.tag}> is too long")
        fields.setdefault(str(child.tag), text)
    return fields


class PushCrypto:
    """Safe mode: the AES-256-CBC envelope keyed by the 43-character EncodingAESKey, bound to the app id."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("WECHAT_AES_KEY must be WeChat's 43-character EncodingAESKey (base64)") from exc
        if len(key) != 32:
            raise ValueError("WECHAT_AES_KEY must decode to 32 bytes")
        if not app_id:
            raise ValueError("WECHAT_APP_ID is required when WECHAT_AES_KEY is set (safe mode)")
        self._key = key
        self._token = token
        self._app_id = app_id

    def open(self, encrypted: str) -> str:
        """The XML inside an Encrypt field; `BadPush` when it does not decrypt to a message for this app."""
        try:
            return str(PrpCrypto(self._key).decrypt(encrypted, self._app_id))
        except Exception as exc:  # bad base64, padding, length, UTF-8, or another app's id: all one answer
            raise BadPush("the encrypted message does not open with this account's key") from exc

    def seal(self, xml: str, nonce: str, timestamp: str) -> str:
        """The encrypted, signed envelope of a passive reply."""
        encrypted = PrpCrypto(self._key).encrypt(xml, self._app_id).decode()
        signature = signature_of(self._token, timestamp, nonce, encrypted)
        return ("<xml><Encrypt>" + cdata(encrypted) + "</Encrypt><MsgSignature>" + cdata(signature)
                + f"</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>" + cdata(nonce) + "</Nonce></xml>")


@dataclass(frozen=True)
class Push:
    """One message or event WeChat pushed; names as in WeChat's XML, lower-cased types."""

    account: str  # ToUserName: the Official Account's own id
    openid: str  # FromUserName: the user, per account
    create_time: str
    msg_type: str
    msg_id: str = ""
    content: str = ""
    event: str = ""
    event_key: str = ""
    recognition: str = ""
    pic_url: str = ""

    @property
    def dedup_key(self) -> str:
        """What a retry of this push shares with it: its MsgId, or for events the user and the creation time."""
        if self.msg_id:
            return f"msg:{self.account}:{self.msg_id}"[:128]
        return f"event:{signature_of(self.openid, self.create_time, self.account)}"


def push_of(fields: Mapping[str, str]) -> Push:
    """The push in `fields` (from `xml_fields`); `BadPush` when a required field is missing or malformed."""
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        raise BadPush(f"the push lacks {', '.join(missing)}")
    if not OPENID.fullmatch(fields["FromUserName"]):
        raise BadPush("FromUserName is not an openid")
    if not fields["CreateTime"].isdigit():
        raise BadPush("CreateTime must be a whole number")
    return Push(
        account=fields["ToUserName"][:64], openid=fields["FromUserName"], create_time=fields["CreateTime"][:16],
        msg_type=fields["MsgType"].lower(), msg_id=(fields.get("MsgId") or fields.get("MsgID") or "")[:64],
        content=fields.get("Content", ""), event=(fields.get("Event") or "").lower(),
        event_key=fields.get("EventKey", ""), recognition=fields.get("Recognition", ""),
        pic_url=fields.get("PicUrl", ""),
    )


def cdata(text: str) -> str:
    """`text` as CDATA, also when it contains "]]>" (characters XML cannot carry are left out)."""
    return "<![CDATA[" + NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(push: Push, content: str, now: float | None = None) -> str:
    """The passive reply to `push` that shows `content` to its user."""
    created = int(time.time() if now is None else now)
    return ("<xml><ToUserName>" + cdata(push.openid) + "</ToUserName><FromUserName>" + cdata(push.account)
            + f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            + "<Content>" + cdata(content) + "</Content></xml>")


class Kind(str, Enum):
    BOT = "bot"  # `text` goes to the bot
    IMAGE = "image"  # during a handoff `text` goes to the agent (through the bot), else as UNSUPPORTED
    UNSUPPORTED = "unsupported"  # a polite "text only, please"
    IGNORED = "ignored"  # nothing to say (unsubscribe, a menu link, a report WeChat sends)


@dataclass(frozen=True)
class Inbound:
    """What a push means: its kind, the text for the bot, the "/intent" payloads the channel itself vouches for,
    and whether the user acted (which opens WeChat's 48-hour window for customer-service messages)."""

    kind: Kind
    text: str = ""
    payloads: frozenset[str] = frozenset()
    user_acted: bool = True


USER_EVENTS = frozenset({"subscribe", "scan", "click", "view"})  # events that open the 48-hour window


def inbound_of(push: Push, menu: Mapping[str, str]) -> Inbound:
    """What `push` asks of the bot; `menu` maps CLICK keys to intents."""
    kind = push.msg_type
    if kind == "text":
        return Inbound(Kind.BOT, push.content) if push.content.strip() else Inbound(Kind.IGNORED)
    if kind == "voice":
        heard = push.recognition.strip()
        return Inbound(Kind.BOT, heard) if heard else Inbound(Kind.UNSUPPORTED)
    if kind == "image" and push.pic_url.startswith(("http://", "https://")):
        return Inbound(Kind.IMAGE, IMAGE_PREFIX + push.pic_url)
    if kind != "event":
        return Inbound(Kind.UNSUPPORTED)
    if push.event == "subscribe":
        return Inbound(Kind.BOT, WELCOME)
    if push.event == "click":
        intent = menu.get(push.event_key)
        if intent is None:
            return Inbound(Kind.UNSUPPORTED)
        payload = "/" + intent
        return Inbound(Kind.BOT, payload, frozenset({payload}))
    return Inbound(Kind.IGNORED, user_acted=push.event in USER_EVENTS)
