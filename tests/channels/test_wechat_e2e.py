"""WeCom 微信客服 and the Official Account end to end: the simulator, the channels inside a
real Rasa server, the bot.

A customer message is queued in the simulator (as WeCom holds it), an encrypted
kf_msg_or_event callback is posted to the channel, the channel pulls with sync_msg and the
bot's answers arrive at the simulator's send_msg.
"""

from __future__ import annotations

import asyncio
import base64
import json
import string
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

from channels.wechat_oa import plain_signature
from channels.wecom import WeComApi
from channels.wecom_crypto import WeComCrypto

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack, free_port, rules_with_office_days  # noqa: E402

pytestmark = pytest.mark.stack

CORP = "wwsimcorp000000001"
SECRET = "sim-secret"
TOKEN = "SimToken42"
AES_KEY = (string.ascii_letters + string.digits)[:43]
KF = "wkSIMKF0001"  # handoff to the project's desk
KF_WECOM = "wkSIMKF0002"  # handoff to WeCom's own agents (WECOM_HANDOFF below)
PUSH_TOKEN = "push-token-for-tests"
OA_TOKEN = "OaToken77"
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


def http(method: str, url: str, body: Any = None, headers: Dict[str, str] | None = None,
         raw: bytes | None = None) -> tuple[int, bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(check: Any, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


class WeComWorld:
    def __init__(self, stack: Stack, sim_url: str, folder: str = "") -> None:
        self.folder = folder
        self.stack = stack
        self.sim_url = sim_url
        self.callback_url = f"{stack.rasa_url}/webhooks/wecom/"
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP, max_skew=10**9)

    def state(self) -> Dict[str, Any]:
        return json.loads(http("GET", f"{self.sim_url}/sim/state")[1])

    def upload(self, data: bytes) -> str:
        """A picture WeChat holds (what a user's photo message points at)."""
        async def go() -> str:
            api = WeComApi(self.sim_url, CORP, SECRET)
            try:
                return await api.upload_image(data, "photo.png", "image/png")
            finally:
                await api.close()

        return asyncio.run(go())

    def tracker(self, user: str) -> Dict[str, Any]:
        token = self.stack.env["RASA_API_TOKEN"]
        return json.loads(http(
            "GET", f"{self.stack.rasa_url}/conversations/{user}/tracker?token={token}")[1])

    def control(self, **body: Any) -> None:
        http("POST", f"{self.sim_url}/sim/control", body)

    def signed_callback(self, corp: str = CORP, kf: str = KF, token: str = ""
                        ) -> tuple[str, bytes]:
        inner = (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>{int(time.time())}"
                 "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]>"
                 f"</Event><Token><![CDATA[{token}]]></Token>"
                 f"<OpenKfId><![CDATA[{kf}]]></OpenKfId></xml>").encode()
        crypto = self.crypto if corp == CORP else WeComCrypto(TOKEN, AES_KEY, corp)
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        encrypted, signature = crypto.encrypt_reply(inner, timestamp, nonce)
        body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        query = f"?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
        return query, body

    def notify(self, kf: str = KF, token: str = "") -> int:
        query, body = self.signed_callback(kf=kf, token=token)
        return http("POST", self.callback_url + query, raw=body,
                    headers={"Content-Type": "text/xml"})[0]

    def enqueue(self, body: Dict[str, Any]) -> str:
        """A message WeCom holds for sync_msg; the token its callback carries."""
        return json.loads(http("POST", f"{self.sim_url}/sim/enqueue", body)[1])["token"]

    def sent_to(self, user: str) -> List[Dict[str, Any]]:
        return [message for message in self.state()["sent"] if message["touser"] == user]

    def say(self, user: str, text: str | None = None, image: bytes | None = None,
            wait: float = 60, kf: str = KF, menu_id: str | None = None) -> List[str]:
        """Queue a message, notify the channel, and return the texts the bot sent back."""
        before = len(self.sent_to(user))
        body: Dict[str, Any] = {"open_kfid": kf, "external_userid": user, "origin": 3}
        if image is not None:
            body.update(msgtype="image", image_b64=base64.b64encode(image).decode())
        else:
            body.update(msgtype="text", text={"content": text})
        if menu_id is not None:
            body["text"]["menu_id"] = menu_id
        assert self.notify(kf, self.enqueue(body)) == 200
        return self.replies(user, before, wait)

    def event(self, kf: str, event: Dict[str, Any]) -> None:
        token = self.enqueue({"open_kfid": kf, "msgtype": "event", "origin": 4, "event": event})
        assert self.notify(kf, token) == 200

    def replies(self, user: str, before: int, wait: float = 60) -> List[str]:
        deadline = time.monotonic() + wait
        seen, stable_since = before, time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.sent_to(user))
            if count != seen:
                seen, stable_since = count, time.monotonic()
            elif count > before and time.monotonic() - stable_since > 2.0:
                break
            time.sleep(0.2)
        return [_text(message) for message in self.sent_to(user)[before:]]


def _text(message: Dict[str, Any]) -> str:
    if message["msgtype"] == "text":
        return message["text"]["content"]
    if message["msgtype"] == "msgmenu":
        menu = message["msgmenu"]
        return menu.get("head_content", "") + " " + " ".join(
            item["click"]["content"] for item in menu["list"])
    return json.dumps(message, ensure_ascii=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: run `make train` first")
    folder = tmp_path_factory.mktemp("wecom")
    port = free_port()
    log = open(folder / "simulator.log", "wb")
    simulator = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "channels" / "wecom_simulator.py"),
         "--port", str(port), "--corp-id", CORP, "--secret", SECRET],
        stdout=log, stderr=subprocess.STDOUT)
    sim_url = f"http://127.0.0.1:{port}"
    stack = Stack.isolated(folder)
    stack.env.update({
        "WECOM_CORP_ID": CORP, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY, "WECOM_API_BASE": sim_url,
        "WECOM_DB_URL": f"sqlite:///{folder}/wecom.sqlite",
        "WECOM_HANDOFF": f"desk,{KF_WECOM}=wecom", "WECOM_SERVICER": "zhangsan",
        "CHANNEL_PUSH_TOKEN": PUSH_TOKEN, "WECOM_RETRY_SECONDS": "0.5",
        # The Official Account (plain mode) on the same simulator.
        "WECHAT_OA_APPID": CORP, "WECHAT_OA_SECRET": SECRET, "WECHAT_OA_TOKEN": OA_TOKEN,
        "WECHAT_OA_API_BASE": sim_url,
        # WeChat waits 5 s for a passive reply; here no bot answers within 1 ms, so every
        # Official Account answer takes the slow path (the customer-service API). The passive
        # path is tested with a stand-in bot in test_wechat_http.py.
        "WECHAT_OA_PASSIVE_SECONDS": "0.001",
        "ESCALATION_RULES": str(rules_with_office_days(folder, all_days=True)),
    })
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", f"{sim_url}/health")[0] == 200:
                    break
            except urllib.error.URLError:
                pass
            assert time.monotonic() < deadline and simulator.poll() is None, "no simulator"
            time.sleep(0.2)
        stack.start(timeout=600)
        yield WeComWorld(stack, sim_url, str(folder))
    finally:
        stack.stop()
        simulator.terminate()
        simulator.wait(10)
        log.close()


def test_url_verification(world):
    echo = "1616140317555161061"
    timestamp, nonce = str(int(time.time())), "12345"
    encrypted, signature = world.crypto.encrypt_reply(echo.encode(), timestamp, nonce)
    query = urllib.parse.urlencode({"msg_signature": signature, "timestamp": timestamp,
                                    "nonce": nonce, "echostr": encrypted})
    status, body = http("GET", f"{world.callback_url}?{query}")
    assert (status, body.decode()) == (200, echo)
    bad = query.replace(signature, "0" * 40)
    assert http("GET", f"{world.callback_url}?{bad}")[0] == 403


def test_tracking_over_wecom(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    since = len(world.state()["log"])
    assert any("订单号" in text for text in world.say(user, "快递到哪了"))
    assert any("后4位" in text for text in world.say(user, "361204587712340001"))
    answer = "\n".join(world.say(user, "5678"))
    assert "顺丰" in answer and "SF" in answer
    # The conversation and the API calls it made, for the record (pytest -s shows them;
    # docs/wecom.md quotes a run).
    print_transcript(world.state()["log"][since:], user)


def print_transcript(log: List[Dict[str, Any]], user: str) -> None:
    start = log[0]["at"] if log else 0.0
    print(f"\n--- the conversation of {user} and the WeCom API calls it made")
    for call in log:
        body = call.get("body") or {}
        if body.get("touser", user) != user or body.get("external_userid", user) != user:
            continue
        if call["api"] == "(customer)":
            line = f"WeChat user {user[:8]}… writes 「{body['text']}」 → WeCom calls back"
        elif call["api"] == "sync_msg":
            line = (f"POST /cgi-bin/kf/sync_msg       cursor={body.get('cursor')!r:<5} → "
                    f"{body.get('returned')} message(s), has_more={body.get('has_more')}")
        elif call["api"] == "send_msg":
            content = body.get("text", {}).get("content") if body.get("msgtype") == "text" \
                else json.dumps(body.get(body.get("msgtype")), ensure_ascii=False)
            line = f"POST /cgi-bin/kf/send_msg       {body.get('msgtype')}: {content}"
        elif call["api"] == "gettoken":
            line = "GET  /cgi-bin/gettoken          → access_token"
        else:
            line = f"{call['api']} {json.dumps(body, ensure_ascii=False)}"
        print(f"+{call['at'] - start:6.2f}s  {line}")


def test_damaged_item_photo_over_wecom(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    world.say(user, "收到的电饭煲外壳摔坏了")
    world.say(user, "361204587712340022")
    asked = "\n".join(world.say(user, "9966"))
    assert "照片" in asked
    done = "\n".join(world.say(user, image=PNG_1X1))
    assert "补发" in done or "售后单号" in done, done


def test_handoff_then_desk_agent_replies_through_send_msg(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    handed = "\n".join(world.say(user, "转人工"))
    assert "人工" in handed
    # While a human owns the conversation the bot says nothing.
    assert world.say(user, "还在吗", wait=6) == []
    before = len(world.sent_to(user))
    push = f"{world.stack.rasa_url}/webhooks/wecom/push"
    body = {"conversation_id": user, "kind": "agent_message",
            "agent": {"id": "a1", "name": "小王"}, "text": "您好,我是客服小王,马上为您查看"}
    assert http("POST", push, body)[0] == 401  # no token
    status, answer = http("POST", push, body, {"Authorization": f"Bearer {PUSH_TOKEN}"})
    assert status == 200 and json.loads(answer) == {"recorded": True, "delivered": 1}
    assert world.replies(user, before, wait=5) == ["您好,我是客服小王,马上为您查看"]
    token = world.stack.env["RASA_API_TOKEN"]
    tracker = json.loads(http(
        "GET", f"{world.stack.rasa_url}/conversations/{user}/tracker?token={token}")[1])
    desk_events = [event for event in tracker["events"] if event.get("event") == "bot"
                   and (event.get("metadata") or {}).get("source") == "desk"]
    assert desk_events and desk_events[-1]["metadata"]["agent_name"] == "小王"


def test_welcome_and_handoff_to_wecom_agents_then_back_to_the_bot(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    world.event(KF_WECOM, {"event_type": "enter_session", "open_kfid": KF_WECOM,
                           "external_userid": user, "welcome_code": "WELCOME-1"})
    deadline = time.monotonic() + 30
    while not any(e.get("code") == "WELCOME-1" for e in world.state()["events"]):
        assert time.monotonic() < deadline, "no welcome message"
        time.sleep(0.2)
    handed = "\n".join(world.say(user, "转人工", kf=KF_WECOM))
    # WeCom's agents take it: no desk ticket, no desk queue position.
    assert "转接人工客服" in handed and "前面还有" not in handed and "工单" not in handed
    transfers = [e for e in world.state()["events"]
                 if e["type"] == "trans" and e["external_userid"] == user]
    assert transfers == [{"type": "trans", "open_kfid": KF_WECOM, "external_userid": user,
                          "service_state": 3, "servicer_userid": "zhangsan"}]
    assert world.say(user, "还在吗", kf=KF_WECOM, wait=6) == []  # WeCom's agent has it now
    # A desk agent cannot write into a session a WeCom agent owns.
    push = f"{world.stack.rasa_url}/webhooks/wecom/push"
    status, _ = http("POST", push, {"conversation_id": user, "kind": "agent_message",
                                    "agent": {"id": "a1", "name": "小王"}, "text": "您好"},
                     {"Authorization": f"Bearer {PUSH_TOKEN}"})
    assert status == 409
    # The WeCom agent ends the session: the bot takes the conversation back.
    world.event(KF_WECOM, {"event_type": "session_status_change", "open_kfid": KF_WECOM,
                           "external_userid": user, "change_type": 3})
    time.sleep(2)
    answer = world.say(user, "包邮吗", kf=KF_WECOM)
    token = world.stack.env["RASA_API_TOKEN"]
    tracker = json.loads(http(
        "GET", f"{world.stack.rasa_url}/conversations/{user}/tracker?token={token}")[1])
    assert any("包邮" in text for text in answer), (answer, [
        (e.get("event"), e.get("name") or e.get("text")) for e in tracker["events"]][-25:])


def test_bad_callbacks_are_refused_and_nothing_is_lost(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    token = world.enqueue({"open_kfid": KF, "external_userid": user, "msgtype": "text",
                           "text": {"content": "在吗"}})
    query, body = world.signed_callback(token=token)
    bad_signature = query.replace("msg_signature=", "msg_signature=0")
    assert http("POST", world.callback_url + bad_signature, raw=body)[0] == 403
    tampered = body.replace(b"<![CDATA[", b"<![CDATA[A", 2)
    assert http("POST", world.callback_url + query, raw=tampered)[0] in (400, 403)
    wrong_corp_query, wrong_corp_body = world.signed_callback(corp="wwsomeoneelse00001")
    assert http("POST", world.callback_url + wrong_corp_query, raw=wrong_corp_body)[0] == 403
    assert http("POST", world.callback_url + query, raw=b"<xml><oops")[0] in (400, 403)
    # A duplicated callback (WeCom retries) is refused the second time and handled once.
    assert http("POST", world.callback_url + query, raw=body)[0] == 200
    assert http("POST", world.callback_url + query, raw=body)[0] == 403
    first = world.replies(user, 0)
    assert len(first) == 1
    # The API down: the message waits in WeCom; the channel pulls again by itself (with
    # backoff, no new callback needed) and answers it after the recovery.
    world.control(down=True)
    token = world.enqueue({"open_kfid": KF, "external_userid": user, "msgtype": "text",
                           "text": {"content": "包邮吗"}})
    assert world.notify(token=token) == 200
    failed_pulls = world.state()["calls"]["sync_msg"] + 2
    wait_for(lambda: world.state()["calls"]["sync_msg"] >= failed_pulls, "two failed pulls")
    assert len(world.sent_to(user)) == 1
    world.control(down=False)
    later = world.replies(user, 1)
    assert any("包邮" in text for text in later)
    log = (Path(world.folder) / "logs" / "rasa.log").read_text(encoding="utf-8")
    for line in ("wecom: callback refused: bad signature", "wecom: callback refused: wrong corp id",
                 "wecom: callback refused: replayed callback", "wecom: sync_msg failed for",
                 f"wecom: pulling {KF} again in"):
        assert line in log, line


def test_a_reply_wecom_did_not_take_arrives_after_recovery(world):
    """send_msg fails (a 5xx) while the bot answers: the turn is not run again, its reply
    waits in the channel's outbox and goes out once WeCom takes messages again."""
    user = f"wm{uuid.uuid4().hex[:12]}"
    world.control(fail={"send_msg": 500})
    sends = world.state()["calls"].get("send_msg", 0)
    token = world.enqueue({"open_kfid": KF, "external_userid": user, "msgtype": "text",
                           "text": {"content": "包邮吗"}})
    assert world.notify(token=token) == 200
    wait_for(lambda: world.state()["calls"].get("send_msg", 0) >= sends + 2,
             "a failed send and a retry")
    assert world.sent_to(user) == []
    world.control(fail={})
    answer = world.replies(user, 0)
    assert any("包邮" in text for text in answer)
    tracker = world.tracker(user)
    assert [e.get("text") for e in tracker["events"] if e.get("event") == "user"] == ["包邮吗"]


def test_a_menu_goes_out_within_limits_and_a_click_comes_back_as_its_payload(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    world.say(user, "我要退货")  # no reason given: the bot asks for it with buttons
    world.say(user, "361204587712340022")
    world.say(user, "9966")
    menus = [m for m in world.sent_to(user) if m["msgtype"] == "msgmenu"]
    assert menus, [m["msgtype"] for m in world.sent_to(user)]
    menu = menus[-1]["msgmenu"]
    assert len(menu["head_content"].encode()) <= 1024
    for item in menu["list"]:
        assert len(item["click"]["id"].encode()) <= 64
        assert len(item["click"]["content"].encode()) <= 128
    item = menu["list"][0]["click"]
    world.say(user, item["content"], menu_id=item["id"])
    tracker = world.tracker(user)
    clicked = [e for e in tracker["events"] if e.get("event") == "user"][-1]
    assert clicked["text"].startswith("/") or clicked["text"] == item["id"], clicked["text"]
    assert not [call for call in world.state()["log"] if call.get("refused") and
                (call.get("body") or {}).get("touser") == user]


def test_an_expired_access_token_is_refreshed(world):
    user = f"wm{uuid.uuid4().hex[:12]}"
    tokens_before = world.state()["calls"].get("gettoken", 0)
    world.control(expire_tokens=True)
    assert world.say(user, "你好")
    assert world.state()["calls"]["gettoken"] > tokens_before



# ------------------------------------------------------------------ Official Account


def oa_post(world: WeComWorld, openid: str, inner: str, signature: str | None = None
            ) -> tuple[int, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
    signature = signature or plain_signature(OA_TOKEN, timestamp, nonce)
    body = (f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{timestamp}</CreateTime>{inner}"
            f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>").encode()
    url = (f"{world.stack.rasa_url}/webhooks/wechat_oa/?signature={signature}"
           f"&timestamp={timestamp}&nonce={nonce}&openid={openid}")
    http("POST", f"{world.sim_url}/sim/oa_user", {"openid": openid})  # WeChat saw them write
    status, answer = http("POST", url, raw=body, headers={"Content-Type": "text/xml"})
    return status, answer.decode()


def oa_say(world: WeComWorld, openid: str, text: str = "", inner: str = "") -> str:
    """The bot's answer. No bot answers within the 1 ms passive window set above: WeChat gets
    `success` at once and the answer comes through the customer-service message API."""
    before = len(world.sent_to(openid))
    status, answer = oa_post(world, openid, inner or f"<MsgType><![CDATA[text]]></MsgType>"
                                                     f"<Content><![CDATA[{text}]]></Content>")
    assert (status, answer) == (200, "success")
    sent = world.replies(openid, before)
    assert all(m["api"] == "custom_send" for m in world.sent_to(openid)[before:])
    return "\n".join(sent)


def test_official_account_verification_and_signature(world):
    timestamp, nonce = str(int(time.time())), "42"
    signature = plain_signature(OA_TOKEN, timestamp, nonce)
    base = f"{world.stack.rasa_url}/webhooks/wechat_oa/?timestamp={timestamp}&nonce={nonce}"
    assert http("GET", f"{base}&signature={signature}&echostr=hello42") == (200, b"hello42")
    assert http("GET", f"{base}&signature={'0' * 40}&echostr=hello42")[0] == 403
    assert oa_post(world, "oOPENID1", "<MsgType><![CDATA[text]]></MsgType>"
                   "<Content><![CDATA[你好]]></Content>", signature="0" * 40)[0] == 403


def test_official_account_conversation_through_the_customer_service_api(world):
    openid = f"o{uuid.uuid4().hex[:12]}"
    assert "订单号" in oa_say(world, openid, "快递到哪了")
    assert "后4位" in oa_say(world, openid, "361204587712340001")
    answer = oa_say(world, openid, "5678")
    assert "顺丰" in answer


def test_official_account_photo_for_a_damaged_item(world):
    openid = f"o{uuid.uuid4().hex[:12]}"
    oa_say(world, openid, "收到的电饭煲外壳摔坏了")
    oa_say(world, openid, "361204587712340022")
    assert "照片" in oa_say(world, openid, "9966")
    # The photo as WeChat holds it: uploaded media, the message carries its MediaId.
    media_id = world.upload(PNG_1X1)
    done = oa_say(world, openid, inner="<MsgType><![CDATA[image]]></MsgType>"
                                       f"<MediaId><![CDATA[{media_id}]]></MediaId>")
    assert "补发" in done or "售后单号" in done, done


def test_official_account_handoff_then_a_desk_agent_replies(world):
    openid = f"o{uuid.uuid4().hex[:12]}"
    assert "人工" in oa_say(world, openid, "转人工")
    before = len(world.sent_to(openid))
    status, answer = oa_post(world, openid, "<MsgType><![CDATA[text]]></MsgType>"
                                            "<Content><![CDATA[还在吗]]></Content>")
    assert (status, answer) == (200, "success")
    push = f"{world.stack.rasa_url}/webhooks/wechat_oa/push"
    body = {"conversation_id": openid, "kind": "agent_message",
            "agent": {"id": "a1", "name": "小王"}, "text": "您好,我是客服小王"}
    status, answer = http("POST", push, body, {"Authorization": f"Bearer {PUSH_TOKEN}"})
    assert status == 200 and json.loads(answer) == {"recorded": True, "delivered": 1}
    # Only the agent's message arrived: the bot said nothing to 「还在吗」.
    assert world.replies(openid, before) == ["您好,我是客服小王"]
