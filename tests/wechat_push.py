"""Pushes exactly as WeChat's servers send them to an Official Account's webhook, and their replies read back.

    pusher = WeChatPusher(token="tok", aes_key=None)          # plain mode; give aes_key + app_id for safe mode
    query, body = pusher.text("oUser1", "我的快递到哪了", msg_id="1001")
    POST f"/webhooks/wechat/webhook?{query}" with body
    pusher.reply_text(response_body, query)                   # the passive reply's Content (decrypted in safe mode)

The query string carries `signature` over (token, timestamp, nonce), and in safe mode `encrypt_type=aes` and
`msg_signature` over (token, timestamp, nonce, Encrypt); the body is the message XML, or in safe mode the
envelope `<xml><ToUserName/><Encrypt/></xml>` around the AES-encrypted message.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from connectors.wechat_messages import PushCrypto, cdata, signature_of, xml_fields

ACCOUNT = "gh_xiaozhi0001"
Signed = tuple[str, bytes]  # (query string, body)


class WeChatPusher:
    def __init__(self, token: str, aes_key: str | None = None, app_id: str = "wx0000000000000001",
                 account: str = ACCOUNT, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.account = account
        self.clock = clock
        self.crypto = PushCrypto(token, aes_key, app_id) if aes_key else None

    def query(self, timestamp: int | None = None, nonce: str | None = None, **extra: str) -> dict[str, str]:
        """The signed query WeChat adds to every request (GET check or POST push)."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        return {"signature": signature_of(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce, **extra}

    def verification(self, echostr: str = "5837397520912278720", **query: int | str) -> str:
        """The query string of WeChat's URL check (GET)."""
        return urlencode(self.query(echostr=echostr, **query))  # type: ignore[arg-type]

    def sign(self, xml: str, openid: str, timestamp: int | None = None, nonce: str | None = None) -> Signed:
        """`xml` as WeChat pushes it: signed, and sealed in safe mode."""
        query = self.query(timestamp, nonce, openid=openid)
        if self.crypto is None:
            return urlencode(query), xml.encode()
        encrypted = xml_fields(self.crypto.seal(xml, query["nonce"], query["timestamp"]))["Encrypt"]
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature_of(self.token, query["timestamp"], query["nonce"], encrypted)
        body = f"<xml><ToUserName>{cdata(self.account)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
        return urlencode(query), body.encode()

    def message_xml(self, openid: str, msg_type: str, create_time: int | None = None, **fields: str) -> str:
        created = int(self.clock()) if create_time is None else create_time
        parts = [f"<ToUserName>{cdata(self.account)}</ToUserName>", f"<FromUserName>{cdata(openid)}</FromUserName>",
                 f"<CreateTime>{created}</CreateTime>", f"<MsgType>{cdata(msg_type)}</MsgType>"]
        parts += [f"<{name}>{value}</{name}>" if name in ("MsgId", "MsgID") else f"<{name}>{cdata(value)}</{name}>"
                  for name, value in fields.items()]
        return "<xml>" + "".join(parts) + "</xml>"

    def push(self, openid: str, msg_type: str, create_time: int | None = None, **fields: str) -> Signed:
        return self.sign(self.message_xml(openid, msg_type, create_time, **fields), openid)

    def text(self, openid: str, content: str, msg_id: str | None = None) -> Signed:
        return self.push(openid, "text", Content=content, MsgId=msg_id or new_msg_id())

    def voice(self, openid: str, recognition: str | None, msg_id: str | None = None) -> Signed:
        fields = {"MediaId": "media-voice-1", "Format": "amr", "MsgId": msg_id or new_msg_id()}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.push(openid, "voice", None, **fields)

    def image(self, openid: str, pic_url: str = "http://mmbiz.qpic.cn/demo/photo.jpg",
              msg_id: str | None = None) -> Signed:
        return self.push(openid, "image", PicUrl=pic_url, MediaId="media-image-1", MsgId=msg_id or new_msg_id())

    def location(self, openid: str, msg_id: str | None = None) -> Signed:
        return self.push(openid, "location", Location_X="30.27", Location_Y="120.15", Scale="15",
                         Label="杭州市西湖区", MsgId=msg_id or new_msg_id())

    def event(self, openid: str, event: str, key: str = "", create_time: int | None = None) -> Signed:
        extra = {"EventKey": key} if key else {}
        return self.push(openid, "event", create_time, Event=event, **extra)

    def reply_fields(self, body: bytes | str, query: str) -> dict[str, str]:
        """The fields of a passive reply (opened and its signature checked in safe mode)."""
        fields = xml_fields(body)
        if self.crypto is None:
            return fields
        stamp, nonce = fields["TimeStamp"], fields["Nonce"]
        assert fields["MsgSignature"] == signature_of(self.token, stamp, nonce, fields["Encrypt"]), "reply not signed"
        assert f"nonce={nonce}" in query, "the reply must carry the push's nonce"
        return xml_fields(self.crypto.open(fields["Encrypt"]))

    def reply_text(self, body: bytes | str, query: str) -> str:
        """The text a passive reply shows the user."""
        fields = self.reply_fields(body, query)
        assert fields["MsgType"] == "text", fields
        return fields["Content"]


def new_msg_id() -> str:
    return str(secrets.randbelow(10**19) + 10**18)
