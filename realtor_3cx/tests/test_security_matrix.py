# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may do what to which record: every role against every telephony model, in one table.

Roles: a realtor, a telephony manager, a settings administrator without telephony groups, the
``admin`` user (settings administrator and telephony manager), an internal user without
telephony groups and a portal user. Each one searches, reads, writes, creates and unlinks
real records of every model, and the outcome is compared with the table below; then the
same is done across two companies. The per-model tests (test_threecx_call.py,
test_threecx_server.py, ...) cover the finer points (which fields a realtor may write); this
file is the overview that says nothing was forgotten.
"""

import contextlib
import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user

from .common import Realtor3cxCase

ROLES = ("realtor", "manager", "sysadmin", "admin", "internal", "portal")
READ, WRITE, CREATE, UNLINK = "read", "write", "create", "unlink"
ALL = {READ, WRITE, CREATE, UNLINK}
NONE = set()
T = datetime.datetime(2026, 10, 5, 15, 0, 0)

# model -> role -> (records of the role's company it finds, operations on each of them)
# "mine" is the realtor's own call (or report line), "theirs" another realtor's.
EXPECTED = {
    "threecx.server": {
        "realtor": ({"server"}, {READ}),
        "manager": ({"server"}, {READ}),
        "sysadmin": ({"server"}, ALL),
        "admin": ({"server"}, ALL),
    },
    "threecx.extension": {
        "realtor": ({"extension"}, {READ}),
        "manager": ({"extension"}, {READ}),
        "sysadmin": ({"extension"}, ALL),
        "admin": ({"extension"}, ALL),
    },
    "threecx.call": {
        "realtor": ({"mine"}, {READ, WRITE}),
        "manager": ({"mine", "theirs"}, ALL),
        # Settings administrators configure telephony; call logs are the managers'.
        "sysadmin": (None, NONE),
        "admin": ({"mine", "theirs"}, ALL),
    },
    "realtor.property": {
        "realtor": ({"property"}, {READ, WRITE, CREATE}),
        "manager": ({"property"}, ALL),
        "sysadmin": (None, NONE),
        "admin": ({"property"}, ALL),
    },
    "threecx.outcome": {
        "realtor": ({"outcome"}, {READ}),
        "manager": ({"outcome"}, ALL),
        "sysadmin": (None, NONE),
        "admin": ({"outcome"}, ALL),
    },
    # Calling rules bind every realtor: they read them, managers and admins write them.
    "threecx.calling.rule": {
        "realtor": ({"calling_rule"}, {READ}),
        "manager": ({"calling_rule"}, ALL),
        "sysadmin": ({"calling_rule"}, ALL),
        "admin": ({"calling_rule"}, ALL),
    },
    "threecx.call.report": {
        "realtor": ({"mine"}, {READ}),
        "manager": ({"mine", "theirs"}, {READ}),
        "sysadmin": (None, NONE),
        "admin": ({"mine", "theirs"}, {READ}),
    },
    # The worker's queues: written by the controllers as superuser, never by a browser.
    "threecx.dial.request": {
        "realtor": (None, NONE),
        "manager": ({"dial"}, {READ}),
        "sysadmin": ({"dial"}, ALL),
        "admin": ({"dial"}, ALL),
    },
    "threecx.softphone.session": {
        "realtor": (None, NONE),
        "manager": ({"session"}, {READ}),
        "sysadmin": ({"session"}, ALL),
        "admin": ({"session"}, ALL),
    },
    # Spoken opt-outs quote transcripts: the managers' to review, opened by the worker only.
    "threecx.optout": {
        "realtor": (None, NONE),
        "manager": ({"optout"}, {READ, WRITE}),
        "sysadmin": (None, NONE),
        "admin": ({"optout"}, {READ, WRITE}),
    },
    # A calling rule's holidays: as the rule.
    "threecx.calling.rule.holiday": {
        "realtor": ({"holiday"}, {READ}),
        "manager": ({"holiday"}, ALL),
        "sysadmin": ({"holiday"}, ALL),
        "admin": ({"holiday"}, ALL),
    },
    # 3CX's queues and ring groups come from 3CX (the settings'); a manager edits how their
    # calls are handed out, a realtor reads their teams.
    "threecx.team": {
        "realtor": ({"team"}, {READ}),
        "manager": ({"team"}, {READ, WRITE}),
        "sysadmin": ({"team"}, ALL),
        "admin": ({"team"}, ALL),
    },
    "threecx.team.rotation": {
        "realtor": ({"rotation"}, {READ}),
        "manager": ({"rotation"}, ALL),
        "sysadmin": (None, NONE),
        "admin": ({"rotation"}, ALL),
    },
    # The leads a realtor is to call back; a manager's every lead.
    "threecx.speed.to.lead.report": {
        "realtor": ({"lead_mine"}, {READ}),
        "manager": ({"lead_mine", "lead_theirs"}, {READ}),
        "sysadmin": (None, NONE),
        "admin": ({"lead_mine", "lead_theirs"}, {READ}),
    },
    # The power dialer: a realtor works their own lists (and those shared with them), a
    # manager every list; sessions are kept (no one deletes one: the report counts them).
    "threecx.dialer.list": {
        "realtor": ({"list_mine"}, ALL),
        "manager": ({"list_mine", "list_theirs"}, ALL),
        "sysadmin": (None, NONE),
        "admin": ({"list_mine", "list_theirs"}, ALL),
    },
    "threecx.dialer.entry": {
        "realtor": ({"entry_mine"}, ALL),
        "manager": ({"entry_mine", "entry_theirs"}, ALL),
        "sysadmin": (None, NONE),
        "admin": ({"entry_mine", "entry_theirs"}, ALL),
    },
    "threecx.dialer.session": {
        "realtor": ({"session_mine"}, {READ, WRITE, CREATE}),
        "manager": ({"session_mine", "session_theirs"}, {READ, WRITE, CREATE}),
        "sysadmin": (None, NONE),
        "admin": ({"session_mine", "session_theirs"}, {READ, WRITE, CREATE}),
    },
    "threecx.dialer.report": {
        "realtor": ({"dialed_mine"}, {READ}),
        "manager": ({"dialed_mine", "dialed_theirs"}, {READ}),
        "sysadmin": (None, NONE),
        "admin": ({"dialed_mine", "dialed_theirs"}, {READ}),
    },
    # The proof of the calling rules: read-only for everyone (written as superuser by the
    # check); a realtor's own refusals, the managers' report.
    "threecx.blocked.attempt": {
        "realtor": ({"attempt_mine"}, {READ}),
        "manager": ({"attempt_mine", "attempt_theirs"}, {READ}),
        "sysadmin": (None, NONE),
        "admin": ({"attempt_mine", "attempt_theirs"}, {READ}),
    },
    "threecx.compliance.report": {
        "realtor": (None, NONE),
        "manager": ({"attempt_mine", "attempt_theirs"}, {READ}),
        "sysadmin": (None, NONE),
        "admin": ({"attempt_mine", "attempt_theirs"}, {READ}),
    },
    # The consent ledger: append-only (no one writes or deletes an entry); a realtor records
    # an opt-out (a consent needs a manager: test_consent.py).
    "threecx.consent": {
        "realtor": ({"consent"}, {READ, CREATE}),
        "manager": ({"consent"}, {READ, CREATE}),
        "sysadmin": (None, NONE),
        "admin": ({"consent"}, {READ, CREATE}),
    },
    # The settings' connection test, and what the phonebook sync and the dashboard keep for
    # themselves: the settings administrators', read-only but for the test.
    "threecx.connection.test": {
        "realtor": (None, NONE),
        "manager": (None, NONE),
        "sysadmin": ({"connection_test"}, ALL),
        "admin": ({"connection_test"}, ALL),
    },
    "threecx.phonebook.entry": {
        "realtor": (None, NONE),
        "manager": (None, NONE),
        "sysadmin": ({"phonebook_entry"}, {READ}),
        "admin": ({"phonebook_entry"}, {READ}),
    },
    "threecx.phonebook.status": {
        "realtor": (None, NONE),
        "manager": (None, NONE),
        "sysadmin": ({"phonebook_status"}, {READ}),
        "admin": ({"phonebook_status"}, {READ}),
    },
}
# Models whose records belong to their creator only (transient wizards): the access rights
# per role, checked on the model (a wizard of someone else is never visible).
MODEL_RIGHTS = {
    "threecx.consent.wizard": {
        "realtor": NONE, "manager": {READ, WRITE, CREATE}, "sysadmin": NONE,
        "admin": {READ, WRITE, CREATE}, "internal": NONE, "portal": NONE,
    },
}
# The dashboard's quarter-hour roll-up is read by the settings administrators only, their
# companies' rows (the dashboard reads it as superuser, within the user's companies).
ROLLUP = "threecx.call.rollup"
# Abstract models (mixins, the caller lookup, the CRM key dialog) hold no records: nothing
# to access. Every other model of the addon must be in one of the tables above.
# The records of each model the table is about (see setUpClass).
RECORDS = {
    "threecx.server": ("server",),
    "threecx.extension": ("extension",),
    "threecx.call": ("mine", "theirs"),
    "realtor.property": ("property",),
    "threecx.outcome": ("outcome",),
    "threecx.calling.rule": ("calling_rule",),
    "threecx.call.report": ("mine", "theirs"),
    "threecx.dial.request": ("dial",),
    "threecx.softphone.session": ("session",),
    "threecx.optout": ("optout",),
    "threecx.calling.rule.holiday": ("holiday",),
    "threecx.team": ("team",),
    "threecx.team.rotation": ("rotation",),
    "threecx.speed.to.lead.report": ("lead_mine", "lead_theirs"),
    "threecx.dialer.list": ("list_mine", "list_theirs"),
    "threecx.dialer.entry": ("entry_mine", "entry_theirs"),
    "threecx.dialer.session": ("session_mine", "session_theirs"),
    "threecx.dialer.report": ("dialed_mine", "dialed_theirs"),
    "threecx.blocked.attempt": ("attempt_mine", "attempt_theirs"),
    "threecx.compliance.report": ("attempt_mine", "attempt_theirs"),
    "threecx.consent": ("consent",),
    "threecx.connection.test": ("connection_test",),
    "threecx.phonebook.entry": ("phonebook_entry",),
    "threecx.phonebook.status": ("phonebook_status",),
}
# One set of records for every company (the cross-company test skips them).
GLOBAL_MODELS = ("threecx.outcome", "threecx.calling.rule", "threecx.calling.rule.holiday")
# Internal users without a telephony group and portal users: nothing, on every model.
for _rules in EXPECTED.values():
    _rules.setdefault("internal", (None, NONE))
    _rules.setdefault("portal", (None, NONE))


class _Undo(Exception):
    """Raised inside a savepoint to undo an operation that succeeded."""


class TestSecurityMatrix(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.users = {
            "realtor": cls.realtor,
            "manager": cls.manager,
            "sysadmin": new_test_user(env, login="r3cx_sysadmin", groups="base.group_system"),
            "admin": cls.admin,
            "internal": new_test_user(env, login="r3cx_internal", groups="base.group_user"),
            "portal": new_test_user(env, login="r3cx_portal", groups="base.group_portal"),
        }
        cls.other_realtor = new_test_user(
            env, login="r3cx_matrix_other", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.main_company = env.company
        cls.other_company = env["res.company"].create({"name": "Matrix Other Brokerage"})
        cls.other_server = env["threecx.server"].create({
            "name": "Other PBX", "base_url": "https://other.example.com",
            "company_id": cls.other_company.id,
        })

        def records(server, tag, user, other_user):
            Call = env["threecx.call"]
            mine = Call.create({"server_id": server.id, "call_id": f"{tag}-mine",
                                "user_id": user.id, "direction": "inbound", "start_at": T,
                                "external_number": "+15550108601"})
            theirs = Call.create({"server_id": server.id, "call_id": f"{tag}-theirs",
                                  "user_id": other_user.id, "direction": "outbound",
                                  "start_at": T, "external_number": "+15550108602"})
            base = {"server_id": server.id, "user_id": user.id, "extension": "1" + tag[-1]}
            company = server.company_id
            extension = env["threecx.extension"].create(
                {"server_id": server.id, "number": f"7{tag[-1]}", "user_id": user.id})
            team = env["threecx.team"].create({"server_id": server.id, "number": f"8{tag[-1]}"})
            leads = {
                f"lead_{who}": Call.create({
                    "server_id": server.id, "call_id": f"{tag}-lead-{who}",
                    "direction": "inbound", "state": "missed", "start_at": T,
                    "external_number": "+15550108604", "callback_user_id": realtor.id,
                    "callback_deadline": T + datetime.timedelta(minutes=5)})
                for who, realtor in (("mine", user), ("theirs", other_user))
            }
            lists = {
                f"list_{who}": env["threecx.dialer.list"].create({
                    "name": f"{tag} {who}", "user_id": realtor.id, "company_id": company.id,
                    "res_model": "res.partner"})
                for who, realtor in (("mine", user), ("theirs", other_user))
            }
            entries = {
                f"entry_{who}": env["threecx.dialer.entry"].create({
                    "list_id": lists[f"list_{who}"].id, "phone": "+15550108605",
                    "dialed_at": T, "call_id": call.id})
                for who, call in (("mine", mine), ("theirs", theirs))
            }
            attempts = {
                f"attempt_{who}": env["threecx.blocked.attempt"].create({
                    "user_id": realtor.id, "number": "+15550108606", "path": "click_to_call",
                    "reason": "do_not_call", "company_id": company.id})
                for who, realtor in (("mine", user), ("theirs", other_user))
            }
            contact = env["res.partner"].create(
                {"name": f"{tag} contact", "company_id": company.id})
            return {
                **leads, **lists, **entries, **attempts,
                "dialed_mine": entries["entry_mine"],
                "dialed_theirs": entries["entry_theirs"],
                "session_mine": env["threecx.dialer.session"].create(
                    {"list_id": lists["list_mine"].id, "user_id": user.id}),
                "session_theirs": env["threecx.dialer.session"].create(
                    {"list_id": lists["list_theirs"].id, "user_id": other_user.id}),
                "holiday": env["threecx.calling.rule.holiday"].create({
                    "rule_id": env.ref("realtor_3cx.calling_rule_us_fl").id,
                    "date": datetime.date(2031, 1, len(tag)), "name": f"{tag} holiday"}),
                "team": team,
                "rotation": env["threecx.team.rotation"].create(
                    {"team_id": team.id, "extension_id": extension.id}),
                "consent": env["threecx.consent"].create({
                    "partner_id": contact.id, "kind": "revoked", "how": "manager",
                    "note": "Stop calling"}),
                "connection_test": env["threecx.connection.test"].create(
                    {"server_id": server.id, "user_id": user.id}),
                "phonebook_entry": env["threecx.phonebook.entry"].create(
                    {"server_id": server.id, "partner_id": contact.id, "contact_id": 7}),
                "phonebook_status": env["threecx.phonebook.status"].create(
                    {"server_id": server.id}),
                "server": server,
                "extension": extension,
                "mine": mine,
                "theirs": theirs,
                "property": env["realtor.property"].create(
                    {"name": f"{tag} listing", "company_id": server.company_id.id}),
                "outcome": env.ref("realtor_3cx.threecx_outcome_showing_booked"),
                "calling_rule": env.ref("realtor_3cx.calling_rule_us_fl"),
                "dial": env["threecx.dial.request"].create(base),
                "session": env["threecx.softphone.session"].create({**base, "offer": "v=0"}),
                "optout": env["threecx.optout"].create({
                    "call_id": mine.id,
                    "partner_id": env["res.partner"].create({"name": f"{tag} opt-out"}).id,
                    "excerpt": "Caller: stop calling me."}),
            }

        # Not in any team yet: what a new rotation line is made of.
        spare = new_test_user(
            env, login="r3cx_matrix_spare", groups="realtor_3cx.realtor_3cx_group_user")
        cls.spare_extension = env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "79", "user_id": spare.id})
        cls.here = records(cls.server, "main1", cls.realtor, cls.other_realtor)
        # The realtor's own call, but in a company they do not belong to: invisible to them.
        cls.there = records(cls.other_server, "other2", cls.realtor, cls.other_realtor)
        env.flush_all()

    # -- helpers --------------------------------------------------------------------------------

    def record(self, model, name, where):
        record = where[name]
        if model in ("threecx.call.report", "threecx.speed.to.lead.report",
                     "threecx.dialer.report"):
            # one report line per call (per dialled entry), same id
            return self.env[model].browse(record.id)
        if model == "threecx.compliance.report":
            return self.env[model].browse(record.id * 5)  # a refusal's line
        return record

    def allowed(self, operation):
        """Whether ``operation()`` passes the access rules; whatever it did is undone."""
        try:
            with self.env.cr.savepoint():
                operation()
                self.env.flush_all()
                raise _Undo()
        except _Undo:
            return True
        except AccessError:
            return False
        except UserError as exc:
            # The consent ledger refuses any edit itself, whoever asks (append-only).
            if "consent ledger cannot be edited" not in str(exc):
                raise
            return False
        finally:
            self.env.invalidate_all()

    def operations(self, model, record):
        """One harmless call per operation on ``record``, as its ``env.user``."""
        write, create = {
            "threecx.server": ({"name": "Renamed"},
                               {"name": "New", "base_url": "https://new.example.com"}),
            "threecx.extension": ({"number": "555"},
                                  {"server_id": self.server.id, "number": "556",
                                   "user_id": self.other_realtor.id}),
            "threecx.call": ({"notes": "a note"},
                             {"server_id": self.server.id, "call_id": "matrix-new"}),
            "realtor.property": ({"name": "Renamed"}, {"name": "New listing"}),
            "threecx.outcome": ({"sequence": 99}, {"name": "New outcome", "code": "m_new"}),
            "threecx.calling.rule": ({"hour_to": 19.0},
                                     {"name": "Matrix rule",
                                      "country_id": self.env.ref("base.fr").id}),
            "threecx.call.report": ({"talk_seconds": 5}, {"talk_seconds": 5}),
            "threecx.dial.request": ({"state": "failed"},
                                     {"server_id": self.server.id, "user_id": self.realtor.id,
                                      "extension": "101"}),
            "threecx.optout": ({"state": "dismissed"},
                               {"call_id": self.here["theirs"].id,
                                "partner_id": self.env.ref("base.partner_admin").id}),
            "threecx.softphone.session": ({"state": "ended"},
                                          {"server_id": self.server.id,
                                           "user_id": self.realtor.id, "extension": "101",
                                           "offer": "v=0"}),
            "threecx.calling.rule.holiday": (
                {"name": "Renamed"},
                {"rule_id": self.env.ref("realtor_3cx.calling_rule_us_fl").id,
                 "date": datetime.date(2031, 2, 1), "name": "New holiday"}),
            "threecx.team": ({"name": "Renamed"},
                             {"server_id": self.server.id, "number": "899"}),
            "threecx.team.rotation": ({"sequence": 99},
                                      {"team_id": self.here["team"].id,
                                       "extension_id": self.spare_extension.id}),
            "threecx.speed.to.lead.report": ({"leads": 2}, {"leads": 2}),
            "threecx.dialer.list": ({"name": "Renamed"},
                                    {"name": "New list", "res_model": "res.partner"}),
            "threecx.dialer.entry": ({"phone": "+15550108607"},
                                     {"list_id": self.here["list_mine"].id,
                                      "phone": "+15550108608"}),
            "threecx.dialer.session": ({"pause_seconds": 9},
                                       {"list_id": self.here["list_mine"].id}),
            "threecx.dialer.report": ({"calls": 2}, {"calls": 2}),
            "threecx.blocked.attempt": ({"message": "nothing happened"},
                                        {"number": "+15550108606", "path": "dialer",
                                         "reason": "do_not_call"}),
            "threecx.compliance.report": ({"message": "x"}, {"message": "x"}),
            "threecx.consent": ({"note": "edited"},
                                {"partner_id": self.here["consent"].partner_id.id,
                                 "kind": "revoked", "how": "realtor"}),
            "threecx.connection.test": ({"report": "ok"},
                                        {"server_id": self.server.id,
                                         "user_id": self.realtor.id}),
            "threecx.phonebook.entry": ({"contact_id": 8},
                                        {"server_id": self.server.id, "contact_id": 9}),
            "threecx.phonebook.status": ({"summary": "x"}, {"server_id": self.server.id}),
        }[model]

        def unlink():
            # Servers and outcomes referenced by calls cannot go (ondelete restrict), for
            # anyone: the right to delete is tried on a twin nothing refers to.
            if model in ("threecx.server", "threecx.outcome"):
                twin = self.env[model].create(create)
                return twin.with_user(record.env.user).unlink()
            return record.unlink()

        return {
            READ: lambda: record.read([next(iter(write))]),
            WRITE: lambda: record.write(write),
            CREATE: lambda: record.browse().create(create),
            UNLINK: unlink,
        }

    # -- the table ------------------------------------------------------------------------------

    def test_every_role_on_every_model(self):
        for model, rules in EXPECTED.items():
            names = RECORDS[model]
            candidates = {name: self.record(model, name, self.here) for name in names}
            ids = [record.id for record in candidates.values()]
            for role in ROLES:
                visible, operations = rules[role]
                user = self.users[role]
                with self.subTest(model=model, role=role):
                    Model = self.env[model].with_user(user)
                    if visible is None:
                        with self.assertRaises(AccessError):
                            Model.search([("id", "in", ids)])
                    else:
                        found = Model.search([("id", "in", ids)])
                        self.assertEqual({n for n, r in candidates.items() if r in found},
                                         visible)
                    for name, record in candidates.items():
                        # Creating does not depend on which record is at hand.
                        expected = operations if visible is None or name in visible else (
                            operations & {CREATE})
                        granted = {
                            op for op, call in self.operations(model, record.with_user(user))
                            .items() if self.allowed(call)
                        }
                        self.assertEqual(granted, expected, f"{model} {name} as {role}")

    def test_nobody_sees_another_companys_records_until_it_is_allowed(self):
        for role in ("realtor", "manager", "sysadmin", "admin"):
            user = self.users[role]
            for model, rules in EXPECTED.items():
                visible_names, _ops = rules[role]
                if visible_names is None or model in GLOBAL_MODELS:
                    continue
                with self.subTest(model=model, role=role):
                    theirs = [self.record(model, n, self.there) for n in RECORDS[model]
                              if n in visible_names]
                    ids = [r.id for r in theirs]
                    self.assertFalse(self.env[model].with_user(user).search([("id", "in", ids)]))
                    for record in theirs:
                        with self.assertRaises(AccessError):
                            record.with_user(user).read([])
        # Once a user belongs to both companies, the company they work in decides.
        both = [self.main_company.id, self.other_company.id]
        for role in ("realtor", "manager"):
            self.users[role].write({"company_ids": [Command.link(self.other_company.id)]})
            for model, rules in EXPECTED.items():
                visible_names, _ops = rules[role]
                if visible_names is None or model in GLOBAL_MODELS:
                    continue
                with self.subTest(model=model, role=role, companies="both"):
                    here = {self.record(model, n, self.here) for n in visible_names}
                    there = {self.record(model, n, self.there) for n in visible_names}
                    ids = [r.id for r in here | there]
                    Model = self.env[model].with_user(self.users[role])
                    self.assertEqual(
                        set(Model.with_context(allowed_company_ids=both).search(
                            [("id", "in", ids)])), here | there)
                    self.assertEqual(
                        set(Model.with_context(allowed_company_ids=[self.other_company.id])
                            .search([("id", "in", ids)])), there)

    def test_every_model_of_the_addon_is_in_the_table(self):
        """A new model without its line here fails: its access was never tested."""
        names = set(self.env["ir.model.data"].search(
            [("module", "=", "realtor_3cx"), ("model", "=", "ir.model")]).mapped(
            lambda data: self.env["ir.model"].browse(data.res_id).model))
        ours = {name for name in names if name in self.env
                and self.env[name]._original_module == "realtor_3cx"
                and not self.env[name]._abstract}
        self.assertIn("threecx.call", ours)
        self.assertEqual(ours - set(EXPECTED) - set(MODEL_RIGHTS) - {ROLLUP}, set())
        # and the table names no model that is not there any more
        self.assertEqual((set(EXPECTED) | set(MODEL_RIGHTS) | {ROLLUP}) - ours, set())

    def test_the_rights_of_each_role_on_the_wizards(self):
        for model, rights in MODEL_RIGHTS.items():
            for role in ROLES:
                with self.subTest(model=model, role=role):
                    Model = self.env[model].with_user(self.users[role])
                    granted = {op for op in ALL if Model.has_access(op)}
                    self.assertEqual(granted, rights[role])

    def test_the_roll_up_is_for_settings_administrators(self):
        rows = self.env[ROLLUP].search([("company_id", "=", self.main_company.id)])
        self.assertTrue(rows)
        theirs = self.env[ROLLUP].search([("company_id", "=", self.other_company.id)])
        self.assertTrue(theirs)
        for role in ROLES:
            with self.subTest(role=role):
                Model = self.env[ROLLUP].with_user(self.users[role])
                if role in ("sysadmin", "admin"):
                    # Their companies' rows only.
                    self.assertEqual(Model.search([("id", "in", (rows | theirs).ids)]), rows)
                    self.assertEqual({op for op in ALL if Model.has_access(op)}, {READ})
                else:
                    with self.assertRaises(AccessError):
                        Model.search([("id", "in", rows.ids)])

    def test_users_without_telephony_still_use_contacts(self):
        """The addon's fields on contacts and users are hidden from them, not an error."""
        partner = self.env["res.partner"].create({"name": "Plain Contact", "phone": "+15550108609"})
        self.env["threecx.call"].create({"server_id": self.server.id, "call_id": "plain-1",
                                         "partner_id": partner.id, "user_id": self.realtor.id})
        for role in ("internal", "sysadmin"):
            Partner = self.env["res.partner"].with_user(self.users[role])
            views = Partner.get_views([(False, "form"), (False, "list")])
            spec = {name: {} for name in views["models"]["res.partner"]["fields"]}
            with self.subTest(role=role):
                data = Partner.browse(partner.id).web_read(spec)[0]
                self.assertEqual(data["name"], "Plain Contact")
                self.assertNotIn("threecx_call_ids", data)
                self.assertNotIn("threecx_call_count", data)
                self.assertIn(partner, Partner.search([("phone", "=", "+15550108609")]))
        portal = self.users["portal"]
        self.assertEqual(portal.partner_id.with_user(portal).read(["name"])[0]["name"],
                         portal.name)
        with self.assertRaises(AccessError):
            portal.partner_id.with_user(portal).read(["threecx_call_ids"])

    def test_every_role_finds_by_phone_exactly_the_callers_its_rules_allow(self):
        """The caller lookup finds candidates by index for everyone, then asks the record rules
        about those ids only: each role must get exactly what searching the whole tables as
        that role gives, and what the ORM's own statement over the whole tables gave."""
        env = self.env
        number, did = "+15550108650", "+15550108651"
        Partner = env["res.partner"]
        here = Partner.create({"name": "Caller here", "phone": number,
                               "company_id": self.main_company.id})
        there = Partner.create({"name": "Caller there", "mobile": number,
                                "company_id": self.other_company.id})
        shared = Partner.create({"name": "Caller of no company", "phone": "555-010-8650"})
        Partner.create({"name": "Caller archived", "phone": number, "active": False})
        Property = env["realtor.property"]
        # A listing number belongs to one property: the other company's is the caller's own
        # number, which the lookup also looks for among listings.
        line_here, line_there = (
            Property.create({"name": name, "listing_phone": line, "company_id": company.id,
                             "listing_status": "active", "owner_ids": [Command.link(shared.id)]})
            for company, name, line in ((self.main_company, "Line here", did),
                                        (self.other_company, "Line there", number)))
        env.flush_all()
        e164, dids = number, [did, number]
        self.users["realtor"].write({"company_ids": [Command.link(self.other_company.id)]})
        cases = [(role, self.users[role], None) for role in ROLES] + [
            ("realtor", self.users["realtor"], [self.main_company.id, self.other_company.id]),
            ("realtor", self.users["realtor"], [self.other_company.id]),
        ]
        for role, user, companies in cases:
            Lookup = env["threecx.caller.lookup"].with_user(user)
            if companies:
                Lookup = Lookup.with_context(allowed_company_ids=companies)
            with self.subTest(role=role, companies=companies):
                try:
                    Lookup._query_orm(e164, dids)
                    before = Lookup._rank(env.cr.fetchall())
                except AccessError:
                    with self.assertRaises(AccessError):
                        Lookup.lookup(number, did=did)
                    continue
                result = Lookup.lookup(number, did=did)
                may_read = Partner.with_env(Lookup.env).search(
                    ["|", ("phone_e164", "=", e164), ("mobile_e164", "=", e164)])
                self.assertEqual({p["id"] for p in result["partners"]}, set(may_read.ids))
                listings = Property.with_env(Lookup.env).search(
                    [("listing_phone_e164", "in", dids)])
                self.assertEqual({p["id"] for p in result["properties"]
                                  if p["via"] == "listing_phone"}, set(listings.ids))
                self.assertEqual(Lookup._query(e164, dids), before)
        # What those rules come to for a realtor: their company's callers and listings, and
        # the contacts of no company; the other company's only once they work in it.
        Lookup = env["threecx.caller.lookup"].with_user(self.users["realtor"])
        result = Lookup.with_context(allowed_company_ids=[self.main_company.id]).lookup(
            number, did=did)
        self.assertEqual({p["id"] for p in result["partners"]}, {here.id, shared.id})
        self.assertEqual([p["id"] for p in result["properties"]], line_here.ids)
        result = Lookup.with_context(allowed_company_ids=[self.other_company.id]).lookup(
            number, did=did)
        self.assertEqual({p["id"] for p in result["partners"]}, {there.id, shared.id})
        self.assertEqual([p["id"] for p in result["properties"]], line_there.ids)

class TestRecordingAccess(Realtor3cxCase):
    """Recordings are attachments of their call: every role reads exactly the calls it may."""

    def test_every_role_reads_the_recordings_of_the_calls_it_may_read(self):
        env = self.env
        other = new_test_user(env, login="r3cx_rec_other",
                              groups="realtor_3cx.realtor_3cx_group_user")
        users = {
            "realtor": self.realtor,
            "manager": self.manager,
            "sysadmin": new_test_user(env, login="r3cx_rec_sysadmin", groups="base.group_system"),
            "admin": self.admin,
            "internal": new_test_user(env, login="r3cx_rec_internal", groups="base.group_user"),
            "portal": new_test_user(env, login="r3cx_rec_portal", groups="base.group_portal"),
        }
        audio, calls = {}, {}
        for tag, owner in (("mine", self.realtor), ("theirs", other)):
            call = env["threecx.call"].create({
                "server_id": self.server.id, "call_id": f"rec-{tag}", "user_id": owner.id,
                "direction": "inbound", "start_at": T, "external_number": "+15550108603"})
            audio[tag] = env["ir.attachment"].create({
                "name": f"{tag}.wav", "raw": b"RIFF....WAVE", "mimetype": "audio/wav",
                "res_model": "threecx.call", "res_id": call.id})
            call.write({"recording_state": "fetched", "recording_attachment_id": audio[tag].id})
            call._transcript_store(f"Transcript of {tag}", f"Summary of {tag}", 6)
            calls[tag] = call
        expected = {"realtor": {"mine"}, "manager": {"mine", "theirs"},
                    "admin": {"mine", "theirs"}, "sysadmin": set(), "internal": set(),
                    "portal": set()}
        for role, user in users.items():
            with self.subTest(role=role):
                readable = set()
                for tag, attachment in audio.items():
                    with contextlib.suppress(AccessError):
                        attachment.with_user(user).read(["raw"])
                        readable.add(tag)
                    env.invalidate_all()
                self.assertEqual(readable, expected[role])
                # The transcript: exactly those who may play the recording.
                transcribed = set()
                for tag, call in calls.items():
                    with contextlib.suppress(AccessError):
                        call.with_user(user).read(["transcript", "transcript_summary",
                                                   "sentiment_score"])
                        transcribed.add(tag)
                    env.invalidate_all()
                self.assertEqual(transcribed, expected[role])
                # And a search never lists what cannot be read (portal users may not search).
                try:
                    found = env["ir.attachment"].with_user(user).search(
                        [("id", "in", [a.id for a in audio.values()])])
                except AccessError:
                    found = env["ir.attachment"]
                self.assertEqual({t for t, a in audio.items() if a in found}, expected[role])


class TestContactRights(Realtor3cxCase):
    """Contacts stay under Odoo's own Contact Creation group (base.group_partner_manager).

    The Realtor group implies no Odoo core group: an administrator who takes Contact Creation
    away from a realtor takes away creating and editing contacts (what Odoo's own
    auth_signup test ``test_compute_signup_url`` checks on Marc Demo, a realtor in the demo),
    while the realtor keeps their telephony work on those contacts.
    """

    NUMBER = "+1 555 010 8640"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contact_creation = cls.env.ref("base.group_partner_manager")
        # A realtor as an administrator makes one: Odoo's new internal users get Contact
        # Creation from its default user template, then the admin ticks Realtor.
        cls.agent = new_test_user(
            cls.env, login="r3cx_contacts_agent",
            groups="realtor_3cx.realtor_3cx_group_user,base.group_partner_manager",
        )
        cls.contact = cls.env["res.partner"].create({"name": "Rights Caller"})

    def call_of(self, user, call_id, **values):
        return self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": call_id, "user_id": user.id,
            "direction": "inbound", "state": "completed", "start_at": T,
            "external_number": "+15550108640", **values})

    def test_the_realtor_groups_imply_no_contact_rights(self):
        for xmlid in ("realtor_3cx.realtor_3cx_group_user",
                      "realtor_3cx.realtor_3cx_group_manager"):
            group = self.env.ref(xmlid)
            with self.subTest(group=xmlid):
                self.assertNotIn(self.contact_creation, group.trans_implied_ids)
                # Nothing beyond what every internal user has, but the telephony groups.
                internal = self.env.ref("base.group_user")
                beyond = group.trans_implied_ids - internal - internal.trans_implied_ids
                self.assertEqual(set(beyond.get_external_id().values())
                                 - {"realtor_3cx.realtor_3cx_group_user"}, set())
        # What Odoo gives every new internal user, and so a new realtor, by default.
        self.assertIn(self.contact_creation, self.env["res.users"]._default_groups())

    def test_a_realtor_with_contact_creation_creates_the_caller_from_the_popup(self):
        call = self.call_of(self.agent, "rights-popup")
        # The pop-up's "Create contact" opens a contact form with the caller's number.
        form = Form(self.env["res.partner"].with_user(self.agent).with_context(
            default_phone=call.external_number, default_name=""))
        form.name = "New Caller"
        partner = form.save()
        self.assertEqual(partner.phone_e164, "+15550108640")
        self.assertEqual(partner.create_uid, self.agent)
        partner.with_user(self.agent).write({"do_not_call": True, "email": "new@example.com"})
        self.assertTrue(partner.do_not_call)
        # The next call from that number finds them.
        found = self.env["threecx.caller.lookup"].with_user(self.agent).lookup(self.NUMBER)
        self.assertEqual([p["id"] for p in found["partners"]], partner.ids)
        call.with_user(self.agent).write({"partner_id": partner.id})
        self.assertEqual(call.partner_id, partner)

    def test_an_admin_takes_contact_creation_away(self):
        agent = self.agent.with_user(self.admin)
        agent.write({"groups_id": [Command.unlink(self.contact_creation.id)]})
        self.assertFalse(self.agent.has_group("base.group_partner_manager"))
        self.assertTrue(self.agent.has_group("realtor_3cx.realtor_3cx_group_user"))
        Partner = self.env["res.partner"].with_user(self.agent)
        # The same check as Odoo's auth_signup test_compute_signup_url.
        with self.assertRaises(AccessError):
            Partner.check_access("write")
        with self.assertRaises(AccessError):
            Partner.create({"name": "Not Allowed", "phone": self.NUMBER})
        with self.assertRaises(AccessError):
            self.contact.with_user(self.agent).write({"do_not_call": True})
        self.assertEqual(self.contact.with_user(self.agent).read(["name"])[0]["name"],
                         "Rights Caller")
        # The telephony work goes on: the realtor settles their call on the contact and logs
        # its outcome, and the follow-up it plans lands on the contact, theirs to close.
        call = self.call_of(self.agent, "rights-outcome")
        showing = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        call.with_user(self.agent).write(
            {"partner_id": self.contact.id, "outcome_id": showing.id, "notes": "Sat 10:00"})
        activity = self.contact.activity_ids
        self.assertEqual(activity.activity_type_id,
                         self.env.ref("realtor_3cx.mail_activity_type_showing"))
        self.assertEqual((activity.user_id, activity.create_uid), (self.agent, self.agent))
        activity.with_user(self.agent).action_feedback(feedback="Booked")
        self.assertFalse(self.contact.activity_ids)
        self.assertIn("Booked", self.contact.message_ids[0].body)
