# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Team calls (3CX queues and ring groups): every member's until one answers or claims it."""

import json
import time

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user

from .common import Realtor3cxCase

CALLER = "+15550108601"
QUEUE = "800"


class TestTeamCalls(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        group = "realtor_3cx.realtor_3cx_group_user"
        cls.alex = new_test_user(cls.env, login="team_alex", groups=group)
        cls.blair = new_test_user(cls.env, login="team_blair", groups=group)
        cls.outsider = new_test_user(cls.env, login="team_outsider", groups=group)
        cls.env["threecx.extension"].create([
            {"server_id": cls.server.id, "number": "101", "user_id": cls.alex.id},
            {"server_id": cls.server.id, "number": "102", "user_id": cls.blair.id},
            {"server_id": cls.server.id, "number": "103", "user_id": cls.outsider.id},
        ])
        cls.env["threecx.team"]._apply_teams(cls.server, [
            {"number": QUEUE, "name": "Sales Team", "kind": "queue", "members": ["101", "102"]},
        ])
        cls.team = cls.env["threecx.team"].search([("number", "=", QUEUE)])
        cls.t0 = time.time() - 120

    def view(self, state, call_id="7001", **values):
        # What the worker sends for a queue call: the tracker names *an* extension (the last
        # leg it read) while every member rings.
        base = {
            "call_id": call_id, "direction": "inbound", "state": state,
            "external_number": CALLER, "external_name": "", "did_number": "",
            "extension": "102", "chain": (), "ringing": ("101", "102"), "rung": ("101", "102"),
            "queue": QUEUE, "start_at": self.t0, "answer_at": None, "end_at": None,
            "notify_ringing": [],
        }
        base.update(values)
        return base

    def sync(self, *views):
        return self.env["threecx.call"]._sync_from_3cx(self.server, list(views))

    def call(self, call_id="7001"):
        return self.env["threecx.call"].search(
            [("server_id", "=", self.server.id), ("call_id", "=", call_id)]
        )

    def bus(self, kind, user):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)])
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]

    def ringing_on_reload(self, user):
        session = self.env["threecx.call"].with_user(user).realtor_3cx_session()
        return [p["id"] for p in session["ringing"]]

    def test_the_teams_are_read_from_3cx_with_their_members(self):
        self.assertEqual(self.team.kind, "queue")
        self.assertEqual(self.team.display_name, "Sales Team (800)")
        self.assertEqual(self.team.member_ids.user_id, self.alex | self.blair)
        Team = self.env["threecx.team"]
        Team._apply_teams(self.server, [
            {"number": QUEUE, "name": "Sales", "kind": "queue", "members": ["102", "999"]},
            {"number": "810", "name": "Listings", "kind": "ring_group", "members": ["101"]},
        ])
        self.assertEqual(self.team.member_ids.user_id, self.blair)  # 999 is nobody's
        self.assertEqual(self.team.name, "Sales")
        ring_group = Team.search([("number", "=", "810")])
        self.assertEqual((ring_group.kind, ring_group.member_ids.user_id),
                         ("ring_group", self.alex))
        Team._apply_teams(self.server, [])
        self.assertFalse(self.team.active)  # 3CX dropped it: archived, its calls keep it

    def test_a_ringing_team_call_is_every_members_until_one_answers(self):
        self.sync(self.view("ringing", notify_ringing=["101", "102"]))
        call = self.call()
        self.assertEqual(call.team_id, self.team)
        self.assertFalse(call.user_id)  # not the member the tracker happened to name
        self.assertEqual(call.ringing_user_ids, self.alex | self.blair)
        for member in (self.alex, self.blair):
            pops = self.bus("realtor_3cx.call/ringing", member)
            self.assertEqual([p["id"] for p in pops], [call.id])
            self.assertFalse(pops[0]["user_id"])  # the pop-up offers Claim
            # A reload on any member's screen gets the pop-up back.
            self.assertEqual(self.ringing_on_reload(member), [call.id])
        self.assertEqual(self.ringing_on_reload(self.outsider), [])
        # Blair answers: the call is Blair's, and it pops down on Alex's screen.
        self.sync(self.view("connected", chain=("102",), ringing=(), answer_at=self.t0 + 5))
        self.assertEqual(call.user_id, self.blair)
        self.assertFalse(call.ringing_user_ids)
        for member in (self.alex, self.blair):
            answered = self.bus("realtor_3cx.call/answered", member)
            self.assertEqual([p["user_id"] for p in answered], [self.blair.id])
            self.assertEqual(self.ringing_on_reload(member), [])

    def test_one_member_declining_keeps_the_call_on_the_others(self):
        self.sync(self.view("ringing", notify_ringing=["101", "102"]))
        self.sync(self.view("ringing", ringing=("102",), extension="102"))
        self.assertEqual(self.ringing_on_reload(self.alex), [])
        self.assertEqual(self.ringing_on_reload(self.blair), [self.call().id])
        self.assertFalse(self.call().user_id)

    def test_a_claim_takes_the_call_off_the_other_members_screens(self):
        self.sync(self.view("ringing", notify_ringing=["101", "102"]))
        call = self.call()
        with self.assertRaises(UserError):
            call.with_user(self.outsider).action_claim()  # not a member
        self.assertTrue(call.with_user(self.alex).action_claim()["ok"])
        self.assertEqual(call.user_id, self.alex)
        claimed = self.bus("realtor_3cx.call/claimed", self.blair)
        self.assertEqual([p["user_id"] for p in claimed], [self.alex.id])
        self.assertEqual(self.ringing_on_reload(self.blair), [])
        self.assertEqual(self.ringing_on_reload(self.alex), [call.id])
        # The worker's next views (still ringing) keep the claim.
        self.sync(self.view("ringing"))
        self.assertEqual(call.user_id, self.alex)
        self.assertFalse(call.with_user(self.blair).action_claim()["ok"])

    def test_a_missed_team_call_is_the_teams(self):
        self.sync(self.view("ringing", notify_ringing=["101", "102"]))
        self.sync(self.view("missed", ringing=(), end_at=self.t0 + 20))
        call = self.call()
        self.assertEqual((call.team_id, call.user_id), (self.team, self.env["res.users"]))
        self.assertFalse(call.activity_ids)  # no arbitrary member is told to call back
        for member in (self.alex, self.blair):
            ended = self.bus("realtor_3cx.call/ended", member)
            self.assertEqual([p["id"] for p in ended], [call.id])
            # Every member sees it in Missed Calls, and in the report under the team.
            Call = self.env["threecx.call"].with_user(member)
            self.assertEqual(Call.search([("id", "=", call.id)]), call)
            rows = self.env["threecx.call.report"].with_user(member).search(
                [("phone_call_id", "=", call.id)])
            self.assertEqual((rows.team_id, rows.user_id, rows.calls_missed),
                             (self.team, self.env["res.users"], 1))
        with self.assertRaises(AccessError):
            call.with_user(self.outsider).read(["state"])
        # The manager's dashboard: a team row, not a realtor's.
        groups = self.env["threecx.call.report"].with_user(self.manager).read_group(
            [("phone_call_id", "=", call.id)], ["calls_missed:sum"], ["team_id", "user_id"],
            lazy=False)
        self.assertEqual([(g["team_id"][0], g["user_id"], g["calls_missed"]) for g in groups],
                         [(self.team.id, False, 1)])

    def test_claiming_a_missed_team_call_makes_its_call_back_the_claimers(self):
        self.sync(self.view("ringing"))
        self.sync(self.view("missed", ringing=(), end_at=self.t0 + 20))
        call = self.call()
        self.assertTrue(call.with_user(self.blair).action_claim()["ok"])
        self.assertEqual(call.user_id, self.blair)
        self.assertEqual(call.activity_ids.user_id, self.blair)
        self.assertFalse(call.with_user(self.alex).search([("id", "=", call.id)]))

    def test_a_members_call_back_makes_the_missed_team_call_theirs(self):
        self.sync(self.view("ringing"))
        self.sync(self.view("missed", ringing=(), end_at=self.t0 + 20))
        self.sync({
            "call_id": "7002", "direction": "outbound", "state": "dialing",
            "external_number": CALLER, "external_name": "", "did_number": "",
            "extension": "101", "chain": (), "ringing": (), "rung": (), "queue": "",
            "start_at": self.t0 + 60, "answer_at": None, "end_at": None, "notify_ringing": [],
        })
        self.assertEqual(self.call().user_id, self.alex)

    def test_a_call_through_a_team_not_read_yet_still_keeps_it(self):
        self.sync(self.view("ringing", queue="820", ringing=("101",), extension="101"))
        call = self.call()
        self.assertEqual(call.team_id.number, "820")
        self.assertFalse(call.user_id)

    def test_a_call_only_the_call_log_had_is_the_team_it_rang(self):
        # view_from_call_log: the destination DN is the queue, and nobody talked.
        self.sync(self.view("missed", queue="", extension=QUEUE, ringing=(), rung=(QUEUE,),
                            end_at=self.t0 + 20))
        call = self.call()
        self.assertEqual((call.team_id, call.user_id), (self.team, self.env["res.users"]))

    def test_the_listing_agent_of_the_dialled_line_may_claim_the_teams_call(self):
        listing = self.env["realtor.property"].create(
            {"name": "3 Team Street", "listing_phone": "+15550108690",
             "listing_agent_id": self.outsider.id})
        self.sync(self.view("ringing", did_number="+15550108690"))
        call = self.call()
        self.assertEqual(call.property_id, listing)
        self.assertTrue(call.with_user(self.outsider).action_claim()["ok"])
