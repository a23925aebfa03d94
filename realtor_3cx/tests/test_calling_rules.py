# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Calling rules as data (threecx_calling_rule.py): the seeded rules at their edges, on every
outbound path, through the one check of res_partner_outbound.py."""

import datetime

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

FLORIDA = "+13055550147"  # Miami's area code: the geocoder says "Florida"
SAN_FRANCISCO = "+14155550147"  # "San Francisco, CA"
MANHATTAN = "+12125550147"  # "New York, NY": no state rule, the federal one
LONDON = "+442079460958"  # no rule for the UK: the general default
FL_RULE = "Florida (Fla. Stat. 501.059(8), as amended 2023)"
US_RULE = "United States (federal) (TCPA, 47 CFR 64.1200(c)(1))"


def ny(day, hour, minute=0):
    """Naive UTC of ``hour:minute`` on 2026-11-``day`` in New York (EST, UTC-5)."""
    return datetime.datetime(2026, 11, day, hour, minute) + datetime.timedelta(hours=5)


class CallingRulesCase(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        Partner = cls.env["res.partner"]
        cls.florida = Partner.create({"name": "Florida Buyer", "phone": FLORIDA})
        cls.california = Partner.create({"name": "Bay Seller", "phone": SAN_FRANCISCO})
        cls.manhattan = Partner.create({"name": "Manhattan Buyer", "phone": MANHATTAN})
        cls.london = Partner.create({"name": "London Investor", "phone": LONDON})
        cls.Partner = Partner.with_user(cls.realtor)
        cls.Rule = cls.env["threecx.calling.rule"]

    def block(self, number, when):
        return self.Partner._realtor_3cx_outbound_block(number, when)[1]

    def outbound_calls(self, number, *starts, partner=None):
        Call = self.env["threecx.call"]
        for start in starts:
            Call |= Call.create({
                "server_id": self.server.id, "call_id": f"out-{number}-{start.isoformat()}",
                "direction": "outbound", "state": "completed", "external_number": number,
                "start_at": start, "user_id": self.realtor.id,
                "partner_id": partner.id if partner else False,
            })
        return Call

    def dial(self, number, res_model="res.partner", res_id=0):
        """Click-to-call as the realtor: the answer, and the requests it queued."""
        Request = self.env["threecx.dial.request"]
        before = Request.search([])
        self.registry.enter_test_mode(self.cr)  # the queue commits a cursor of its own
        try:
            result = self.env["threecx.call"].with_user(self.realtor).realtor_3cx_dial(
                number, res_model, res_id)
        finally:
            self.registry.leave_test_mode()
        return result, Request.search([]) - before


class TestCallingRules(CallingRulesCase):
    def test_the_most_specific_rule_of_the_numbers_jurisdiction_decides(self):
        rule_for = self.Rule._realtor_3cx_rule_for_number
        self.assertEqual(rule_for(FLORIDA)["name"], "Florida")
        self.assertEqual(rule_for("+17865550100")["name"], "Florida")
        self.assertEqual(rule_for(SAN_FRANCISCO)["name"], "California")  # "City, CA"
        self.assertEqual(rule_for(MANHATTAN)["name"], "United States (federal)")
        self.assertEqual(rule_for("+15550108801")["name"], "United States (federal)")
        self.assertEqual(rule_for(LONDON)["name"], "General default")
        # Recording consent is the rule's: California is an all-party-consent state.
        self.assertTrue(rule_for(SAN_FRANCISCO)["recording_consent"])
        self.assertFalse(rule_for(FLORIDA)["recording_consent"])
        # An archived state rule hands its numbers back to the country's; without any rule,
        # the built-in default window still protects.
        self.env.ref("realtor_3cx.calling_rule_us_fl").active = False
        self.assertEqual(rule_for(FLORIDA)["name"], "United States (federal)")
        self.Rule.search([]).unlink()
        fallback = rule_for(FLORIDA)
        self.assertEqual((fallback["id"], fallback["start"], fallback["end"]),
                         (False, "08:00", "21:00"))

    def test_florida_at_the_edges_of_its_hours(self):
        reason = self.block(FLORIDA, ny(25, 7, 59))
        self.assertEqual(
            reason,
            "It is 07:59 for Florida Buyer (America/New_York, where +13055550147 is): calls "
            f"are allowed between 08:00 and 20:00 in the contact's time zone ({FL_RULE}). "
            "Allowed again at 08:00 their time.",
        )
        self.assertFalse(self.block(FLORIDA, ny(25, 8, 0)))
        self.assertFalse(self.block(FLORIDA, ny(25, 19, 59)))
        self.assertIn("It is 20:00 for Florida Buyer", self.block(FLORIDA, ny(25, 20, 0)))
        self.assertIn("Allowed again at Thursday 08:00 their time.",
                      self.block(FLORIDA, ny(25, 20, 0)))
        # New York follows the federal rule: 20:00 is fine there, 21:00 is not.
        self.assertFalse(self.block(MANHATTAN, ny(25, 20, 59)))
        self.assertIn(f"between 08:00 and 21:00 in the contact's time zone ({US_RULE})",
                      self.block(MANHATTAN, ny(25, 21, 0)))
        self.assertIn("It is 07:59 for Manhattan Buyer", self.block(MANHATTAN, ny(25, 7, 59)))
        # California's hours are the federal ones, in its own zone (3 hours behind).
        self.assertFalse(self.block(SAN_FRANCISCO, ny(25, 23, 59)))
        self.assertIn("It is 21:00 for Bay Seller (America/Los_Angeles",
                      self.block(SAN_FRANCISCO, ny(26, 0, 0)))

    def test_the_fourth_call_in_24_hours_in_florida(self):
        now = ny(25, 12, 0)
        self.outbound_calls(FLORIDA, now - datetime.timedelta(hours=25))  # out of the window
        first = self.outbound_calls(FLORIDA, now - datetime.timedelta(hours=23))
        self.outbound_calls(FLORIDA, now - datetime.timedelta(hours=5))
        self.assertFalse(self.block(FLORIDA, now))  # the 3rd call
        self.outbound_calls(FLORIDA, now - datetime.timedelta(hours=1))
        reason = self.block(FLORIDA, now)
        self.assertEqual(
            reason,
            f"This would be call 4 to Florida Buyer in 24 h: {FL_RULE} allows 3. "
            "Allowed again at 13:00 their time.",  # when the first of the three is 24 h old
        )
        restriction = self.florida._realtor_3cx_restriction(FLORIDA, now)
        self.assertEqual((restriction["kind"], restriction["allowed_at"]),
                         ("attempt_cap", first.start_at + datetime.timedelta(hours=24)))
        self.assertFalse(self.block(FLORIDA, restriction["allowed_at"]))
        # Inbound calls and other numbers do not count; a call to the contact on another of
        # their numbers does.
        first.direction = "inbound"
        self.outbound_calls(MANHATTAN, now - datetime.timedelta(hours=2))
        self.assertFalse(self.block(FLORIDA, now))
        self.outbound_calls("+13055550999", now - datetime.timedelta(hours=3),
                            partner=self.florida)
        self.assertIn("This would be call 4", self.block(FLORIDA, now))
        # The federal rule has no cap.
        self.outbound_calls(MANHATTAN, *(now - datetime.timedelta(minutes=m) for m in (1, 2, 3)))
        self.assertFalse(self.block(MANHATTAN, now))

    def test_a_cap_that_frees_up_after_hours_waits_for_the_next_morning(self):
        now = ny(25, 19, 30)
        self.outbound_calls(FLORIDA, *(now - datetime.timedelta(hours=h) for h in (23, 2, 1)))
        # The oldest is 24 h old at 20:30, after Florida's 20:00: the next morning, then.
        self.assertIn("Allowed again at Thursday 08:00 their time.", self.block(FLORIDA, now))

    def test_a_holiday_and_a_day_without_calls(self):
        us = self.env.ref("realtor_3cx.calling_rule_us")
        us.holiday_ids = [(0, 0, {"date": "2026-11-26", "name": "Thanksgiving"})]
        self.assertEqual(
            self.block(MANHATTAN, ny(26, 12, 0)),
            "It is Thanksgiving for Manhattan Buyer (America/New_York, where +12125550147 "
            f"is): {US_RULE} allows no calls that day. Allowed again at Friday 08:00 their "
            "time.",
        )
        self.assertFalse(self.block(MANHATTAN, ny(25, 20, 59)))  # the eve is a normal day
        self.assertIn("Allowed again at Friday 08:00", self.block(MANHATTAN, ny(25, 21, 0)))
        self.assertFalse(self.block(MANHATTAN, ny(27, 8, 0)))
        # The holiday is the callee's day: 23:30 in Los Angeles on the 25th is already the 26th
        # in New York, but not there.
        self.env.ref("realtor_3cx.calling_rule_us_ca").holiday_ids = [
            (0, 0, {"date": "2026-11-26", "name": "Thanksgiving"})]
        self.assertFalse(self.block(SAN_FRANCISCO, ny(25, 23, 30)))
        # No calls on Sundays (2026-11-29).
        us.day_sun = False
        self.assertEqual(
            self.block(MANHATTAN, ny(29, 12, 0)),
            "It is Sunday for Manhattan Buyer (America/New_York, where +12125550147 is): "
            f"{US_RULE} allows no calls that day. Allowed again at Monday 08:00 their time.",
        )
        self.assertIn("Allowed again at Monday 08:00", self.block(MANHATTAN, ny(28, 21, 0)))

    def test_the_general_default_governs_other_countries(self):
        london_0759 = datetime.datetime(2026, 11, 25, 7, 59)  # London's winter time is UTC
        self.assertIn("It is 07:59 for London Investor (Europe/London",
                      self.block(LONDON, london_0759))
        self.assertIn("(General default (Brokerage policy))", self.block(LONDON, london_0759))
        self.assertFalse(self.block(LONDON, london_0759 + datetime.timedelta(minutes=1)))

    @freeze_time(ny(25, 7, 59))
    def test_click_to_call_at_0759_and_0800_in_florida(self):
        result, queued = self.dial(FLORIDA, "res.partner", self.florida.id)
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("It is 07:59 for Florida Buyer", result["message"])
        self.assertIn("Allowed again at 08:00 their time.", result["message"])
        self.assertFalse(queued)
        with freeze_time(ny(25, 8, 0)):
            result, queued = self.dial("(305) 555-0147")
            self.assertEqual(result["state"], "pending", result)
            self.assertEqual(queued.mapped("destination"), [FLORIDA])

    @freeze_time(ny(25, 12, 0))
    def test_click_to_call_refuses_the_fourth_call_and_a_holiday(self):
        hour = datetime.timedelta(hours=1)
        self.outbound_calls(FLORIDA, *(ny(25, 12, 0) - n * hour for n in (3, 2, 1)))
        result, queued = self.dial(FLORIDA, "res.partner", self.florida.id)
        self.assertEqual(result["state"], "refused")
        self.assertIn("This would be call 4 to Florida Buyer in 24 h", result["message"])
        self.assertIn("Allowed again at Thursday 09:00 their time.", result["message"])
        self.assertFalse(queued)
        self.env.ref("realtor_3cx.calling_rule_us").holiday_ids = [
            (0, 0, {"date": "2026-11-25", "name": "Office closure"})]
        result, queued = self.dial(MANHATTAN)
        self.assertIn("It is Office closure for Manhattan Buyer", result["message"])
        self.assertFalse(queued)

    @freeze_time(ny(25, 7, 59))
    def test_browser_calls_and_their_transfers_at_0759_and_0800(self):
        Session = self.env["threecx.softphone.session"].with_user(self.realtor)
        Call = self.env["threecx.call"].with_user(self.realtor)
        with self.assertRaisesRegex(UserError, "It is 07:59 for Florida Buyer"):
            Session._start(FLORIDA)
        with self.assertRaisesRegex(UserError, "Allowed again at 08:00 their time"):
            Call._dial_transfer_target(self.server, "3055550147")
        self.assertEqual(Call._dial_transfer_target(self.server, "101"), "101")  # a colleague
        with freeze_time(ny(25, 8, 0)):
            self.assertEqual(Session._start(FLORIDA)[1], FLORIDA)
            self.assertEqual(Call._dial_transfer_target(self.server, "3055550147"), FLORIDA)

    def test_a_call_3cx_placed_beyond_the_cap_is_flagged(self):
        now = ny(25, 12, 0)
        self.outbound_calls(FLORIDA, *(now - datetime.timedelta(hours=h) for h in (3, 2, 1)))
        fourth = self.outbound_calls(FLORIDA, now)
        fourth._crm_flag_compliance(self.florida, FLORIDA)
        self.assertEqual(fourth.compliance_issue, "attempt_cap")
        self.assertIn("This would be call 4 to Florida Buyer", fourth.compliance_note)
        # The third call itself (judged when it started) was within the cap.
        third = self.env["threecx.call"].search([("start_at", "=", now - datetime.timedelta(
            hours=1))])
        third._crm_flag_compliance(self.florida, FLORIDA)
        self.assertFalse(third.compliance_issue)

    def test_the_cap_is_one_query(self):
        now = ny(25, 12, 0)
        self.outbound_calls(FLORIDA, *(now - datetime.timedelta(hours=h) for h in (3, 2, 1)))
        partners = self.florida
        # Once warm (the rules are cached, the company's country read), two queries: Odoo's
        # phone blacklist (do-not-call too), then the cap.
        self.assertEqual(partners._realtor_3cx_restriction(FLORIDA, now)["kind"], "attempt_cap")
        with self.assertQueryCount(2):
            self.assertEqual(partners._realtor_3cx_restriction(FLORIDA, now)["kind"],
                             "attempt_cap")


class TestCallingRuleData(CallingRulesCase):
    def test_realtors_read_the_rules_and_only_managers_change_them(self):
        florida = self.env.ref("realtor_3cx.calling_rule_us_fl")
        self.assertEqual(florida.with_user(self.realtor).attempt_limit, 3)
        for operation in (
            lambda rule: rule.write({"hour_to": 23}),
            lambda rule: rule.unlink(),
            lambda rule: rule.create({"name": "Mine", "country_id": self.env.ref("base.fr").id}),
            lambda rule: rule.holiday_ids.create(
                {"rule_id": rule.id, "date": "2026-12-25", "name": "Christmas"}),
        ):
            with self.assertRaises(AccessError):
                operation(florida.with_user(self.realtor))
        as_manager = florida.with_user(self.manager)
        as_manager.holiday_ids = [(0, 0, {"date": "2026-12-25", "name": "Christmas"})]
        france = as_manager.create(
            {"name": "France", "country_id": self.env.ref("base.fr").id,
             "hour_from": 10, "hour_to": 20, "day_sat": False, "day_sun": False,
             "source": "Code de la consommation, L. 223-1",
             "source_url": "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000047865245"}
        )
        self.assertEqual(self.Rule._realtor_3cx_rule_for_number("+33142685300")["id"], france.id)
        self.assertIn("Christmas", self.Rule._realtor_3cx_rule_for_number(FLORIDA)[
            "holidays"].values())
        # The rules' menu is for managers and admins.
        menu = self.env.ref("realtor_3cx.threecx_calling_rule_menu")
        self.assertEqual(menu.groups_id, self.env.ref("realtor_3cx.realtor_3cx_group_manager")
                         | self.env.ref("base.group_system"))
        self.assertTrue(self.manager.groups_id & menu.groups_id)
        self.assertFalse(self.realtor.groups_id & menu.groups_id)

    def test_rules_that_cannot_be_applied_are_refused(self):
        us = self.env.ref("base.us")
        for values in (
            {"hour_from": 21, "hour_to": 8},
            {"hour_from": 8, "hour_to": 25},
            {"day_mon": False, "day_tue": False, "day_wed": False, "day_thu": False,
             "day_fri": False, "day_sat": False, "day_sun": False},
            {"attempt_limit": -1},
            {"attempt_limit": 2, "attempt_window_hours": 0},
            {"country_id": us.id},  # the federal rule already governs the US
            {"country_id": self.env.ref("base.fr").id,
             "state_id": self.env.ref("base.state_us_10").id},  # Florida is not in France
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError), \
                    self.cr.savepoint():
                self.Rule.create({"name": "Bad", "country_id": self.env.ref("base.de").id,
                                  **values})
        # A second rule for a jurisdiction is fine once the first is archived.
        self.env.ref("realtor_3cx.calling_rule_us").active = False
        self.Rule.create({"name": "US, ours", "country_id": us.id, "hour_from": 9,
                          "hour_to": 20})
        self.assertEqual(self.Rule._realtor_3cx_rule_for_number(MANHATTAN)["name"], "US, ours")

    def test_the_old_calling_window_setting_moves_into_the_rules(self):
        Param = self.env["ir.config_parameter"]
        Param.set_param("realtor_3cx.calling_window", "09:00-17:00")
        self.Rule._realtor_3cx_migrate_calling_window()
        hours = {rule.name: (rule.hour_from, rule.hour_to) for rule in self.Rule.search([])}
        # It applied to everyone: the default takes it, and no rule allows more than it did.
        self.assertEqual(hours["General default"], (9.0, 17.0))
        self.assertEqual(hours["United States (federal)"], (9.0, 17.0))
        self.assertEqual(hours["Florida"], (9.0, 17.0))
        self.assertFalse(Param.get_param("realtor_3cx.calling_window"))
        self.assertIn("It is 08:30 for Florida Buyer", self.block(FLORIDA, ny(25, 8, 30)))
        self.Rule._realtor_3cx_migrate_calling_window()  # once only
        self.assertEqual(self.env.ref("realtor_3cx.calling_rule_us_fl").hour_from, 9.0)
        # The old default, or something unreadable: the rules keep their own hours.
        Param.set_param("realtor_3cx.calling_window", "08:00-21:00")
        self.Rule._realtor_3cx_migrate_calling_window()
        self.assertFalse(Param.get_param("realtor_3cx.calling_window"))
        Param.set_param("realtor_3cx.calling_window", "all day")
        with self.assertLogs("odoo.addons.realtor_3cx.models.threecx_calling_rule", "WARNING"):
            self.Rule._realtor_3cx_migrate_calling_window()
        self.assertFalse(Param.get_param("realtor_3cx.calling_window"))
        self.assertEqual(self.env.ref("realtor_3cx.calling_rule_us_fl").hour_from, 9.0)

    def test_settings_edit_the_general_default(self):
        Settings = self.env["res.config.settings"]
        self.assertEqual(Settings.create({}).realtor_3cx_calling_window, "08:00-21:00")
        Settings.create({"realtor_3cx_calling_window": "10:00-19:30"}).execute()
        self.assertIn("between 10:00 and 19:30", self.block(LONDON, datetime.datetime(
            2026, 11, 25, 9, 0)))
        self.assertFalse(self.block(MANHATTAN, ny(25, 9, 0)))  # the US rule is unchanged
        self.env.ref("realtor_3cx.calling_rule_default").unlink()
        Settings.create({"realtor_3cx_calling_window": "09:00-18:00"}).execute()
        self.assertEqual(self.Rule._realtor_3cx_rule_for_number(LONDON)["start"], "09:00")


@tagged("post_install", "-at_install")
class TestCallingRulesHttp(HttpCase, Realtor3cxMixin):
    """The softphone's endpoints, as the browser calls them (the cap does not depend on the
    hour: the real clock serves)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.florida = cls.env["res.partner"].create({"name": "Florida Buyer", "phone": FLORIDA})
        # Any hour of the day, so that only the cap decides.
        cls.env.ref("realtor_3cx.calling_rule_us_fl").write({"hour_from": 0, "hour_to": 24})

    def setUp(self):
        super().setUp()
        now = datetime.datetime.now().replace(microsecond=0)
        for n, hours in enumerate((23, 2, 1)):
            self.env["threecx.call"].create({
                "server_id": self.server.id, "call_id": f"fl-{n}", "direction": "outbound",
                "state": "completed", "external_number": FLORIDA, "partner_id": self.florida.id,
                "start_at": now - datetime.timedelta(hours=hours),
            })
        self.authenticate("r3cx_realtor", "r3cx_realtor")

    def test_a_browser_call_is_the_fourth_call(self):
        sessions = self.env["threecx.softphone.session"].search_count([])
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/offer", {"sdp": "v=0\r\n", "destination": "(305) 555-0147"})
        self.assertFalse(result["ok"])
        self.assertIn("This would be call 4 to Florida Buyer in 24 h", result["message"])
        self.assertIn("Allowed again at", result["message"])
        self.assertEqual(self.env["threecx.softphone.session"].search_count([]), sessions)

    def test_a_transfer_is_the_fourth_call_until_the_oldest_is_a_day_old(self):
        session = self.env["threecx.softphone.session"].create(
            {"server_id": self.server.id, "user_id": self.realtor.id, "extension": "101",
             "offer": "v=0\r\n", "state": "answered", "call_id": "957"}
        )

        def transfer():
            result = self.make_jsonrpc_request(
                "/realtor_3cx/softphone/transfer",
                {"session_id": session.id, "destination": "3055550147"})
            placed = self.env["threecx.dial.request"].search(
                [("action", "=", "transfer"), ("call_id", "=", "957")])
            return result, placed.mapped("destination")

        result, placed = transfer()
        self.assertFalse(result["ok"])
        self.assertIn("This would be call 4 to Florida Buyer", result["message"])
        self.assertEqual(placed, [])
        self.env["threecx.call"].search([("call_id", "=", "fl-0")]).start_at -= (
            datetime.timedelta(hours=2))
        result, placed = transfer()
        self.assertEqual(result["state"], "pending", result)
        self.assertEqual(placed, [FLORIDA])
