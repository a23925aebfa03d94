# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The controllers refuse requests without a session and requests another site can forge.

Without a session: the softphone routes and click-to-call answer "Session expired" and no
data; the CRM template download sends the browser to the login page. From another site: a
page elsewhere can make a logged-in browser POST a form (urlencoded, multipart or
text/plain) with the realtor's cookie, but the softphone routes and JSON-RPC accept JSON
bodies only, which another origin cannot send without a CORS preflight Odoo never grants;
the CRM-template endpoints ignore the cookie altogether (the API key is their only
credential). Each refused request writes nothing.
"""

import json

from odoo.tests import HttpCase, tagged

from ..controllers.crm_template import reset_rate_limits
from .common import Realtor3cxMixin

TIMEOUT = 60
CALLER = "+15550108811"
EVIL = "https://evil.example.com"
# What a cross-site page can send without a CORS preflight.
FORGEABLE = {
    "form": ("application/x-www-form-urlencoded", "sdp=v%3D0&destination=%2B15550108811"),
    "multipart": ("multipart/form-data; boundary=x",
                  '--x\r\nContent-Disposition: form-data; name="sdp"\r\n\r\nv=0\r\n--x--\r\n'),
    "text": ("text/plain", json.dumps({"jsonrpc": "2.0", "method": "call", "params": {
        "sdp": "v=0\r\n", "destination": CALLER, "session_id": 1,
        "model": "threecx.call", "method": "realtor_3cx_dial", "args": [CALLER],
        "kwargs": {}}})),
}
JSON_ROUTES = (
    "/realtor_3cx/softphone/offer",
    "/realtor_3cx/softphone/hangup",
    "/realtor_3cx/softphone/transfer",
    "/web/dataset/call_kw/threecx.call/realtor_3cx_dial",
)


@tagged("post_install", "-at_install")
class TestHttpSecurity(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.browser_call = cls.env["threecx.softphone.session"].create({
            "server_id": cls.server.id, "user_id": cls.realtor.id, "extension": "101",
            "offer": "v=0\r\n", "state": "answered", "call_id": "77",
        })
        cls.key = cls.server.with_user(cls.admin).action_generate_crm_key()["context"][
            "default_key"
        ]

    def setUp(self):
        super().setUp()
        reset_rate_limits(self.env.cr)

    def written(self):
        cr = self.env.cr
        cr.execute("""SELECT (SELECT count(*) FROM threecx_dial_request),
                             (SELECT count(*) FROM threecx_softphone_session),
                             (SELECT string_agg(state, ',') FROM threecx_softphone_session),
                             (SELECT count(*) FROM res_partner),
                             (SELECT count(*) FROM threecx_call)""")
        return cr.fetchone()

    def post(self, route, content_type, body, origin=None):
        headers = {"Content-Type": content_type}
        if origin:
            headers["Origin"] = origin
            headers["Referer"] = f"{origin}/attack.html"
        return self.opener.post(f"{self.base_url()}{route}", data=body, headers=headers,
                                timeout=TIMEOUT, allow_redirects=False)

    def rpc(self, route, params):
        return self.post(route, "application/json", json.dumps(
            {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}))

    def test_no_session_no_data(self):
        before = self.written()
        params = {"sdp": "v=0\r\n", "destination": CALLER, "session_id": self.browser_call.id,
                  "model": "threecx.call", "method": "realtor_3cx_dial", "args": [CALLER],
                  "kwargs": {}}
        for route in JSON_ROUTES + ("/web/dataset/call_kw/threecx.server/search_read",):
            with self.subTest(route=route):
                body = self.rpc(route, {**params, "model": route.split("/")[-2],
                                        "method": route.split("/")[-1]}).json()
                self.assertNotIn("result", body)
                self.assertEqual(body["error"]["code"], 100, body)  # Odoo Session Expired
                self.assertEqual(body["error"]["data"]["name"],
                                 "odoo.http.SessionExpiredException")
        download = self.opener.get(f"{self.base_url()}/realtor_3cx/crm/{self.server.id}"
                                   "/template.xml", timeout=TIMEOUT, allow_redirects=False)
        self.assertIn(download.status_code, (302, 303))
        self.assertIn("/web/login", download.headers["Location"])
        self.assertNotIn(b"<crm", download.content.lower())
        self.assertEqual(self.written(), before)

    def test_a_realtor_with_a_session_gets_answers(self):
        """The control for the tests around it: the same requests work, sent properly."""
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        body = self.rpc("/realtor_3cx/softphone/hangup",
                        {"session_id": self.browser_call.id}).json()
        self.assertEqual(body["result"], {"ok": True})
        self.browser_call.invalidate_recordset(["state"])
        self.assertEqual(self.browser_call.state, "ended")

    def test_forged_cross_site_posts_are_refused(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.written()
        for route in JSON_ROUTES:
            for kind, (content_type, body) in FORGEABLE.items():
                with self.subTest(route=route, kind=kind):
                    response = self.post(route, content_type, body, origin=EVIL)
                    self.assertEqual(response.status_code, 400, response.text[:300])
                    self.assertNotIn("result", response.text)
        self.assertEqual(self.written(), before)
        self.browser_call.invalidate_recordset(["state"])
        self.assertEqual(self.browser_call.state, "answered")  # the forged hang-up did nothing

    def test_the_crm_endpoints_ignore_the_browser_session(self):
        """A logged-in admin's cookie is no CRM key: a forged form post creates nothing."""
        self.authenticate("admin", "admin")
        before = self.written()
        base = f"/realtor_3cx/crm/{self.server.id}"
        for path, content_type, body in (
            ("contact", "application/x-www-form-urlencoded", "first_name=Forged&number=%2B1555"),
            ("contact", "text/plain", json.dumps({"first_name": "Forged", "number": CALLER})),
            ("report_call", "text/plain", json.dumps({
                "call_type": "Outbound", "number": CALLER,
                "call_start_utc": "2026-11-25 15:00:00"})),
        ):
            with self.subTest(path=path, content_type=content_type):
                response = self.post(f"{base}/{path}", content_type, body, origin=EVIL)
                self.assertEqual(response.status_code, 401, response.text[:300])
                self.assertEqual(response.json()["error"]["code"], "missing_key")
        lookup = self.opener.get(f"{self.base_url()}{base}/lookup", params={"number": CALLER},
                                 timeout=TIMEOUT)
        self.assertEqual(lookup.status_code, 401)
        self.assertNotIn("contacts", lookup.json())
        self.assertEqual(self.written(), before)

    def test_crm_answers_are_json_a_browser_will_not_run(self):
        """A contact named like markup comes back as JSON text, never as a page."""
        payload = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script>"
        self.env["res.partner"].create({"name": payload, "phone": CALLER})
        response = self.opener.get(
            f"{self.base_url()}/realtor_3cx/crm/{self.server.id}/lookup",
            params={"number": CALLER}, headers={"X-Api-Key": self.key}, timeout=TIMEOUT)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "application/json")
        contact = response.json()["contacts"][0]
        self.assertEqual(f"{contact['first_name']} {contact['last_name']}".strip(), payload)
