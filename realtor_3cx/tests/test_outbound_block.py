# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Do-not-call and the calling window hold on every outbound path, through one check."""

import datetime

import pytz
from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

DNC = "+15550108801"
OPEN = "+15550108802"
NOON_NY = datetime.datetime(2026, 11, 25, 17, 0)  # 12:00 in New York
NIGHT_NY = datetime.datetime(2026, 11, 26, 3, 30)  # 22:30 in New York


class TestOutboundBlock(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.dnc = cls.env["res.partner"].create(
            {"name": "Never Call", "phone": DNC, "do_not_call": True}
        )
        cls.open = cls.env["res.partner"].create(
            {"name": "Open Contact", "phone": OPEN, "tz": "America/New_York"}
        )
        cls.Partner = cls.env["res.partner"].with_user(cls.realtor)

    def test_the_check_says_why_or_returns_the_number(self):
        block = self.Partner._realtor_3cx_outbound_block
        self.assertEqual(block("(555) 010-8802", NOON_NY), (OPEN, False))
        number, reason = block(DNC, NOON_NY)
        self.assertEqual(number, DNC)
        self.assertIn("Never Call is on the do-not-call list", reason)
        _number, reason = block(OPEN, NIGHT_NY)
        self.assertIn("It is 22:30 for Open Contact (America/New_York)", reason)
        self.assertEqual(block("not a number")[0], False)
        self.assertIn("is not a phone number", block("not a number")[1])

    def test_a_contact_without_a_time_zone_is_held_to_its_numbers_region(self):
        # 22:30 in New York is 19:30 in Los Angeles and 03:30 in London. The realtor's own
        # time zone plays no part.
        self.realtor.tz = "America/Los_Angeles"
        Partner = self.env["res.partner"]
        Partner.create({"name": "Manhattan Buyer", "phone": "+1 212 555 0147"})
        Partner.create({"name": "Venice Seller", "phone": "+1 310 555 0147"})
        Partner.create({"name": "London Investor", "phone": "+44 20 7946 0958"})
        block = self.Partner._realtor_3cx_outbound_block
        number, reason = block("(212) 555-0147", NIGHT_NY)
        self.assertEqual(number, "+12125550147")
        self.assertIn("It is 22:30 for Manhattan Buyer (America/New_York, where +12125550147 "
                      "is)", reason)
        self.assertEqual(block("(212) 555-0147", NOON_NY), ("+12125550147", False))
        self.assertEqual(block("(310) 555-0147", NIGHT_NY), ("+13105550147", False))
        self.assertIn("It is 03:30 for London Investor (Europe/London",
                      block("+442079460958", NIGHT_NY)[1])
        # The contact's own time zone, when set, is what counts.
        Partner.search([("name", "=", "Venice Seller")]).tz = "America/New_York"
        self.assertIn("It is 22:30 for Venice Seller (America/New_York)",
                      block("(310) 555-0147", NIGHT_NY)[1])
        # A number whose region phonenumbers does not know (the fictional 555 range) and a
        # contact without a time zone: nothing to hold it to.
        Partner.create({"name": "Fictional", "phone": "+15550108899"})
        self.assertEqual(block("+15550108899", NIGHT_NY), ("+15550108899", False))

    def test_the_calling_window_is_the_numbers_calling_rule(self):
        # OPEN is a US number: the US rule decides, not the general default.
        self.env.ref("realtor_3cx.calling_rule_us").write({"hour_from": 9, "hour_to": 12})
        self.assertIn("between 09:00 and 12:00 in the contact's time zone (United States "
                      "(federal) (TCPA, 47 CFR 64.1200(c)(1))). Allowed again at Thursday 09:00 "
                      "their time.", self.Partner._realtor_3cx_outbound_block(OPEN, NOON_NY)[1])

    def test_the_settings_refuse_a_window_that_is_not_one(self):
        Settings = self.env["res.config.settings"]
        for bad in ("9-17", "21:00-08:00", "25:00-26:00"):
            with self.subTest(window=bad), self.assertRaises(ValidationError):
                Settings.create({"realtor_3cx_calling_window": bad})
        with self.assertRaises(ValidationError):
            Settings.create({"realtor_3cx_speed_to_lead_minutes": 0})
        Settings.create({"realtor_3cx_calling_window": "09:30-18:00",
                         "realtor_3cx_speed_to_lead_minutes": 10}).execute()
        get_param = self.env["ir.config_parameter"].get_param
        # The window is the general default calling rule's (threecx_calling_rule.py).
        default = self.env.ref("realtor_3cx.calling_rule_default")
        self.assertEqual((default.hour_from, default.hour_to), (9.5, 18.0))
        self.assertEqual(Settings.create({}).realtor_3cx_calling_window, "09:30-18:00")
        self.assertFalse(get_param("realtor_3cx.calling_window"))
        self.assertEqual(get_param("realtor_3cx.speed_to_lead_minutes"), "10")

    def test_a_contact_the_realtor_cannot_read_is_still_protected(self):
        self.dnc.company_id = self.env["res.company"].create({"name": "Other Brokerage"})
        self.assertFalse(self.Partner.search([("id", "=", self.dnc.id)]))
        self.assertIn("do-not-call", self.Partner._realtor_3cx_outbound_block(DNC, NOON_NY)[1])

    def dial(self, number, res_model, res_id, user=None):
        """The answer, and the requests it queued for the worker."""
        Request = self.env["threecx.dial.request"]
        before = Request.search([])
        # The queue commits a cursor of its own: in test mode, this test's transaction.
        self.registry.enter_test_mode(self.cr)
        try:
            result = self.env["threecx.call"].with_user(user or self.realtor).realtor_3cx_dial(
                number, res_model, res_id)
        finally:
            self.registry.leave_test_mode()
        return result, Request.search([]) - before

    @freeze_time(NOON_NY)
    def test_a_call_back_from_a_call_row_checks_that_calls_contact(self):
        # The Missed Calls list and the calls tabs dial from a call row: a do-not-call contact
        # picked on the call is protected even if the number is not on their record.
        picked = self.env["res.partner"].create({"name": "Picked Spouse", "do_not_call": True})
        missed = self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "b-1", "state": "missed",
             "user_id": self.realtor.id, "external_number": "+15550108809",
             "partner_id": picked.id}
        )
        result, queued = self.dial("+15550108809", "threecx.call", missed.id)
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("Picked Spouse is on the do-not-call list", result["message"])
        self.assertFalse(queued)
        # A colleague who may not read the call (dialling its id by RPC) gets the reason, not
        # an access error.
        colleague = self.env["res.users"].create({
            "name": "Colleague", "login": "r3cx_colleague",
            "groups_id": [(6, 0, [self.env.ref("realtor_3cx.realtor_3cx_group_user").id])],
        })
        self.env["threecx.extension"].create(
            {"server_id": self.server.id, "number": "102", "user_id": colleague.id}
        )
        result, queued = self.dial("+15550108809", "threecx.call", missed.id, colleague)
        self.assertIn("Picked Spouse is on the do-not-call list", result["message"])
        self.assertFalse(queued)
        result, queued = self.dial(OPEN, "realtor.property", 1)
        self.assertEqual(result["state"], "pending", result)
        self.assertEqual(queued.mapped("destination"), [OPEN])

    @freeze_time(NIGHT_NY)
    def test_a_browser_call_is_refused_like_a_click_to_call(self):
        Session = self.env["threecx.softphone.session"].with_user(self.realtor)
        with self.assertRaisesRegex(Exception, "do-not-call"):
            Session._start(DNC)
        with self.assertRaisesRegex(Exception, "It is 22:30 for Open Contact"):
            Session._start(OPEN)


@tagged("post_install", "-at_install")
class TestOutboundBlockHttp(HttpCase, Realtor3cxMixin):
    """The softphone's JSON endpoints, as the browser calls them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.env["res.partner"].create({"name": "Never Call", "phone": DNC, "do_not_call": True})
        cls.env["res.partner"].create({"name": "Late Contact", "phone": OPEN,
                                       "tz": "America/New_York"})
        colleague = new_test_user(cls.env, login="r3cx_colleague",
                                  groups="realtor_3cx.realtor_3cx_group_user")
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "102", "user_id": colleague.id}
        )
        # An extension of another 3CX server is an unknown number on this one.
        other = cls.env["threecx.server"].create(
            {"name": "Other PBX", "base_url": "https://pbx2.example.com/", "client_id": "901",
             "api_secret": "x"}
        )
        cls.env["threecx.extension"].create(
            {"server_id": other.id, "number": "555", "user_id": cls.manager.id}
        )

    def test_the_softphone_refuses_a_do_not_call_number_before_the_worker_is_asked(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        Session = self.env["threecx.softphone.session"]
        before = Session.search_count([])
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/offer", {"sdp": "v=0\r\n", "destination": "(555) 010-8801"}
        )
        self.assertFalse(result["ok"])
        self.assertIn("Never Call is on the do-not-call list", result["message"])
        self.assertEqual(Session.search_count([]), before)  # nothing reached the worker

    def test_a_browser_call_cannot_be_transferred_to_a_do_not_call_number(self):
        session = self.env["threecx.softphone.session"].create(
            {"server_id": self.server.id, "user_id": self.realtor.id, "extension": "101",
             "offer": "v=0\r\n", "state": "answered", "call_id": "955"}
        )
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        requests_before = self.env["threecx.dial.request"].search_count([])
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/transfer", {"session_id": session.id, "destination": DNC}
        )
        self.assertFalse(result["ok"])
        self.assertIn("do-not-call", result["message"])
        self.assertEqual(self.env["threecx.dial.request"].search_count([]), requests_before)

    def transfer(self, destination):
        session = self.env["threecx.softphone.session"].create(
            {"server_id": self.server.id, "user_id": self.realtor.id, "extension": "101",
             "offer": "v=0\r\n", "state": "answered", "call_id": "956"}
        )
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/transfer",
            {"session_id": session.id, "destination": destination},
        )
        placed = self.env["threecx.dial.request"].search(
            [("action", "=", "transfer"), ("call_id", "=", "956")]
        )
        return result, placed.mapped("destination")

    def set_window(self, is_open):
        # Not freezegun: the HTTP server thread and the session would see that clock too.
        hour = datetime.datetime.now(pytz.timezone("America/New_York")).hour
        closed = "01:00-02:00" if hour >= 12 else "13:00-14:00"
        start, end = (int(part[:2]) for part in ("00:00-24:00" if is_open else closed).split("-"))
        # OPEN is a US number: the US calling rule decides.
        self.env.ref("realtor_3cx.calling_rule_us").write({"hour_from": start, "hour_to": end})

    def test_a_transfer_to_a_national_or_international_number_is_checked(self):
        self.set_window(True)
        # A US national number is 10 digits: it is a number, not an extension.
        for destination in ("5550108801", "15550108801", "+15550108801", "0015550108801"):
            with self.subTest(destination=destination):
                result, placed = self.transfer(destination)
                self.assertFalse(result["ok"])
                self.assertIn("Never Call is on the do-not-call list", result["message"])
                self.assertEqual(placed, [])
        result, placed = self.transfer("5550108802")  # allowed: dialled as E.164
        self.assertEqual(result["state"], "pending", result)  # the worker's answer: the bus
        self.assertEqual(placed, [OPEN])

    def test_a_transfer_to_a_number_outside_its_calling_window_is_refused(self):
        self.set_window(False)
        result, placed = self.transfer("5550108802")
        self.assertFalse(result["ok"])
        self.assertIn("for Late Contact (America/New_York): calls are allowed", result["message"])
        self.assertEqual(placed, [])

    def test_only_a_known_extension_of_the_calls_server_skips_the_check(self):
        # A colleague's extension: no contact rules for an internal hand-over, at any hour.
        self.set_window(False)
        result, placed = self.transfer(" 102 ")
        self.assertEqual(result["state"], "pending", result)
        self.assertEqual(placed, ["102"])
        # Short numbers that are no extension here (unmapped, another server's, a service
        # number) are outside numbers: the check refuses what 3CX should not dial.
        for destination in ("105", "555", "911", "5550108"):
            with self.subTest(destination=destination):
                result, placed = self.transfer(destination)
                self.assertFalse(result["ok"])
                self.assertIn("is not a phone number 3CX can dial", result["message"])
                self.assertEqual(placed, ["102"])
