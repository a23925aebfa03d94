# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The softphone's offer route: checked, queued once per page reference, answered later.

The worker's side (the answer on the bus, one MakeCall per offer, the age limit) runs against
the simulator in tests/test_softphone_async.py; here, what the route and the model decide.
"""

import datetime
import uuid

from odoo import fields
from odoo.tests import BaseCase, HttpCase, new_test_user, tagged

from ..tools.sdp import MAX_SDP, offer_problem
from .common import Realtor3cxCase, Realtor3cxMixin

# A browser's offer as Chromium writes it (trimmed: one codec, one candidate).
CHROMIUM_OFFER = "\r\n".join([
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS 5d2b3c",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host generation 0",
    "a=ice-ufrag:Fhz2",
    "a=ice-pwd:yH8+4mUwE1WZzvXbQcAt1Ls3",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 3C:1A:2B:44:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19:2A:3B:4C:5D:6E:"
    "7F:80:91:A2:B3:C4:D5:E6:F7:08",
    "a=setup:actpass",
    "a=mid:0",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "a=rtpmap:0 PCMU/8000",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:Fhz2",
    "a=ice-pwd:yH8+4mUwE1WZzvXbQcAt1Ls3",
    "a=mid:1",
    "a=sctp-port:5000",
    "",
])
DESTINATION = "+15550108861"


def without(sdp, prefix):
    return "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith(prefix))


class TestOfferCheck(BaseCase):
    def test_a_browsers_offer_passes(self):
        self.assertIsNone(offer_problem(CHROMIUM_OFFER))
        # Session-level ICE credentials and fingerprint do as well (RFC 8839, RFC 8122).
        moved = without(without(CHROMIUM_OFFER, "a=ice-"), "a=fingerprint:").replace(
            "t=0 0", "t=0 0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-1 0A:0B")
        self.assertIsNone(offer_problem(moved))
        self.assertIsNone(offer_problem(CHROMIUM_OFFER.replace("\r\n", "\n")))

    def test_what_the_worker_could_not_answer_is_named(self):
        cases = {
            "not an SDP description": [None, 7, "", "hello", "V=0\r\n"],
            "not an SDP line": ["v=0\r\nnot really an offer\r\n",
                                CHROMIUM_OFFER.replace("s=-", "s=-\x00")],
            "no audio section": [without(CHROMIUM_OFFER, "m=audio").replace(
                "a=rtpmap", "a=x-rtpmap")],
            "its audio is not over DTLS-SRTP": [CHROMIUM_OFFER.replace(
                "UDP/TLS/RTP/SAVPF", "RTP/AVP")],
            "no ICE user fragment": [without(CHROMIUM_OFFER, "a=ice-ufrag:")],
            "no ICE password": [without(CHROMIUM_OFFER, "a=ice-pwd:")],
            "no DTLS fingerprint": [
                without(CHROMIUM_OFFER, "a=fingerprint:"),
                CHROMIUM_OFFER.replace("a=fingerprint:sha-256 3C", "a=fingerprint:sha-256 ZZ")],
            "larger than": [CHROMIUM_OFFER + "a=x:" + "x" * MAX_SDP + "\r\n"],
        }
        for reason, offers in cases.items():
            for offer in offers:
                with self.subTest(reason=reason, offer=str(offer)[:60]):
                    self.assertIn(reason, offer_problem(offer) or "(accepted)")


@tagged("post_install", "-at_install")
class TestSoftphoneOfferRoute(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id})
        cls.colleague = new_test_user(cls.env, login="r3cx_offer_colleague",
                                      groups="realtor_3cx.realtor_3cx_group_user")
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "102", "user_id": cls.colleague.id})
        cls.Session = cls.env["threecx.softphone.session"]

    def offer(self, **params):
        return self.make_jsonrpc_request("/realtor_3cx/softphone/offer", params)

    def test_the_offer_is_queued_and_the_route_returns_with_its_session(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        ref = str(uuid.uuid4())
        result = self.offer(sdp=CHROMIUM_OFFER, destination=DESTINATION, client_ref=ref)
        self.assertEqual(set(result), {"ok", "session_id", "client_ref", "peer"})
        self.assertTrue(result["ok"])
        self.assertEqual(result["client_ref"], ref)
        self.assertEqual(result["peer"]["number"], DESTINATION)
        session = self.Session.browse(result["session_id"])
        self.assertRecordValues(session, [{
            "state": "offered", "client_ref": ref, "destination": DESTINATION,
            "user_id": self.realtor.id, "extension": "101", "offer": CHROMIUM_OFFER}])

        # The same request again (Odoo's replay, or the page's): the same session, queued once.
        again = self.offer(sdp=CHROMIUM_OFFER, destination=DESTINATION, client_ref=ref.upper())
        self.assertEqual(again["session_id"], session.id)
        self.assertEqual(self.Session.search_count([("client_ref", "=", ref)]), 1)
        # Even once the call it asked for is no longer what the checks would allow.
        session.state = "answered"
        self.assertEqual(self.offer(sdp=CHROMIUM_OFFER, call_id=999999,
                                    client_ref=ref)["session_id"], session.id)

        # Someone else's reference is not theirs to replay.
        self.authenticate("r3cx_offer_colleague", "r3cx_offer_colleague")
        stolen = self.offer(sdp=CHROMIUM_OFFER, destination=DESTINATION, client_ref=ref)
        self.assertEqual(stolen, {"ok": False, "retry": False,
                                  "message": "This browser call is not yours."})

    def test_nothing_is_queued_for_a_malformed_offer_or_a_page_without_references(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.Session.search_count([])
        for sdp in ("v=0\r\nnot really an offer\r\n", without(CHROMIUM_OFFER, "a=fingerprint:"),
                    without(CHROMIUM_OFFER, "a=ice-pwd:"), CHROMIUM_OFFER + "a=x:" + "x" * MAX_SDP):
            with self.subTest(sdp=sdp[:80]):
                self.assertEqual(
                    self.offer(sdp=sdp, destination=DESTINATION, client_ref=str(uuid.uuid4())),
                    {"ok": False, "retry": False,
                     "message": "The browser sent no valid WebRTC offer."})
        for ref in (None, "", "not-a-uuid", 42, [str(uuid.uuid4())]):
            with self.subTest(client_ref=ref):
                self.assertEqual(
                    self.offer(sdp=CHROMIUM_OFFER, destination=DESTINATION, client_ref=ref),
                    {"ok": False, "retry": False,
                     "message": "This page is out of date: reload it, then call again."})
        self.assertEqual(self.Session.search_count([]), before)

    def test_hanging_up_an_offer_cancels_it_for_the_worker(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        sessions = self.Session.browse([
            self.offer(sdp=CHROMIUM_OFFER, destination=DESTINATION,
                       client_ref=str(uuid.uuid4()))["session_id"] for _i in range(3)])
        sessions[1].state = "connecting"  # the worker is placing it
        sessions[2].state = "answered"
        for session in sessions:
            self.assertEqual(self.make_jsonrpc_request(
                "/realtor_3cx/softphone/hangup", {"session_id": session.id}), {"ok": True})
        # Not taken yet: never dialled (the worker reads "offered" only); taken: ended, the
        # worker hangs the call up.
        self.assertEqual(sessions.mapped("state"), ["failed", "ended", "ended"])
        self.assertEqual(sessions[0].message, "cancelled")


class TestSoftphoneSessionVacuum(Realtor3cxCase):
    def test_old_sessions_go_and_stale_ones_can_no_longer_be_live(self):
        Session = self.env["threecx.softphone.session"]
        base = {"server_id": self.server.id, "user_id": self.realtor.id, "extension": "101",
                "offer": CHROMIUM_OFFER}
        states = ["ended", "failed", "ended", "offered", "connecting", "answered", "answered"]
        sessions = Session.create([{**base, "state": state} for state in states])
        now = fields.Datetime.now()
        for session, age in zip(sessions, [8, 8, 1, 1, 1, 1, 0.1], strict=True):
            self.env.cr.execute(
                "UPDATE threecx_softphone_session SET create_date = %s, write_date = %s "
                "WHERE id = %s", (now - datetime.timedelta(days=age),) * 2 + (session.id,))
        Session.invalidate_model()
        Session._gc_sessions()
        kept = sessions.exists()
        self.assertEqual(kept, sessions[2:], "ended calls older than a week go")
        self.assertEqual(kept.mapped("state"), ["ended", "failed", "failed", "failed",
                                                "answered"])
        self.assertEqual(kept[1:4].mapped("message"), ["expired"] * 3)
