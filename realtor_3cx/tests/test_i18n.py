# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon can be used in Spanish: the pot is what the code exports, es.po translates all of it.

``python3 tests/i18n_refresh.py`` (in a checkout) refreshes both files; these tests fail when
one of them is stale, naming the msgids.
"""

import io
import os
import re
from collections import Counter

import polib

from odoo.modules.module import get_module_path
from odoo.tests import tagged
from odoo.tools.translate import code_translations, trans_export

from ..worker import pipeline
from .common import Realtor3cxCase

REFRESH = "python3 tests/i18n_refresh.py"
# msgids that read the same in Spanish: their msgstr is empty, as OCA's po-pretty-format wants
# (Odoo then shows the msgid). Any other empty msgstr is a missing translation.
SAME_IN_SPANISH = {
    "%(h)s h %(m)02d min",
    "%(what)s, %(day)s",
    "08:00-21:00",
    "3CX",
    "Audio",
    "Color",
    "Endpoint",
    "Endpoint:",
    "Error",
    "ID",
    "Neutral",
    "Softphone",
    "stun:stun.example.com:3478",
}
# What a translation must keep: printf (%s, %(name)s, %(seconds)02d), str.format ({contact},
# the outcome summaries) and the markup of view texts (its tag names).
PLACEHOLDERS = re.compile(
    r"%(?:\([^)]*\))?[#0+-]*\d*(?:\.\d+)?[sdrifxXeEgGc]|\{\w*\}|</?([a-zA-Z][\w-]*)"
)
# The comments by which Odoo tells a Python or JavaScript term from a record's.
CODE_MARKERS = ("odoo-python", "odoo-javascript")


def placeholders(text):
    return Counter(
        match.group(1) or match.group(0) for match in PLACEHOLDERS.finditer(text)
    )


def markers(entry):
    return {marker for marker in CODE_MARKERS if marker in entry.comment.split("\n")}


def describe(msgids, limit=20):
    shown = "\n".join(f"  {msgid!r}" for msgid in sorted(msgids)[:limit])
    more = f"\n  ... and {len(msgids) - limit} more" if len(msgids) > limit else ""
    return shown + more


@tagged("post_install", "-at_install")
class TestI18n(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        i18n = os.path.join(get_module_path("realtor_3cx"), "i18n")
        cls.pot = polib.pofile(os.path.join(i18n, "realtor_3cx.pot"))
        cls.es = polib.pofile(os.path.join(i18n, "es.po"))

    def test_the_pot_is_what_the_code_exports(self):
        """The committed pot has every term of the code and views, and no term they lost."""
        buffer = io.BytesIO()
        trans_export(False, ["realtor_3cx"], buffer, "po", self.env.cr)
        exported = {entry.msgid: entry for entry in polib.pofile(buffer.getvalue().decode())}
        committed = {entry.msgid: entry for entry in self.pot}
        missing = exported.keys() - committed.keys()
        extra = committed.keys() - exported.keys()
        if missing or extra:
            self.fail(
                f"realtor_3cx/i18n/realtor_3cx.pot is stale: run `{REFRESH}` and translate "
                f"the new msgids in tests/i18n_es.txt.\nMissing from the pot ({len(missing)}):"
                f"\n{describe(missing)}\nNo longer in the code ({len(extra)}):\n{describe(extra)}"
            )
        # Odoo finds a Python or JS term's translation by these comments.
        moved = [m for m in exported if markers(exported[m]) != markers(committed[m])]
        self.assertFalse(
            moved,
            f"These msgids moved between Python, JavaScript and records: run `{REFRESH}`.\n"
            f"{describe(moved)}",
        )

    def test_spanish_translates_every_msgid(self):
        """es.po has the pot's msgids, each translated, with its placeholders and markup."""
        pot = {entry.msgid: entry for entry in self.pot}
        es = {entry.msgid: entry for entry in self.es if not entry.obsolete}
        self.assertEqual(self.es.metadata.get("Language"), "es")
        stale = (pot.keys() - es.keys()) | (es.keys() - pot.keys())
        self.assertFalse(
            stale,
            f"realtor_3cx/i18n/es.po does not follow the pot: run `{REFRESH} --po-only`.\n"
            f"{describe(stale)}",
        )
        untranslated = [
            m for m, e in es.items() if not e.msgstr and m not in SAME_IN_SPANISH
        ] + [m for m, e in es.items() if "fuzzy" in e.flags]
        self.assertFalse(
            untranslated,
            f"es.po has no Spanish for {len(untranslated)} msgids: add them to "
            f"tests/i18n_es.txt and run `{REFRESH} --po-only`.\n{describe(untranslated)}",
        )
        self.assertFalse(
            [m for m in SAME_IN_SPANISH if m not in es or es[m].msgstr],
            "SAME_IN_SPANISH names a msgid that is gone or translated: update the list",
        )
        broken = [
            m for m, e in es.items() if e.msgstr and placeholders(e.msgstr) != placeholders(m)
        ]
        self.assertFalse(
            broken,
            "These translations lost or added a placeholder or a tag (fix them in "
            f"tests/i18n_es.txt):\n{describe(broken)}",
        )
        wrong_kind = [m for m, e in es.items() if markers(e) != markers(pot[m])]
        self.assertFalse(
            wrong_kind,
            f"es.po's entries must carry the pot's comments: run `{REFRESH} --po-only`.\n"
            f"{describe(wrong_kind)}",
        )

    def test_a_spanish_user_sees_the_product_in_spanish(self):
        """Loaded as Odoo loads it (Latin-American Spanish falls back on es.po)."""
        self.env["res.lang"]._activate_lang("es_419")
        self.env["ir.module.module"]._get("realtor_3cx")._update_translations(["es_419"])
        env = self.env(context=dict(self.env.context, lang="es_419"))
        # a menu, a field label, a selection value, a data record, a view's text
        self.assertEqual(env.ref("realtor_3cx.threecx_menu_root").name, "Telefonía")
        self.assertEqual(
            env["res.partner"].fields_get(["do_not_call"])["do_not_call"]["string"], "No llamar"
        )
        states = dict(env["threecx.call"].fields_get(["state"])["state"]["selection"])
        self.assertEqual(states["missed"], "Perdida")
        self.assertEqual(env.ref("realtor_3cx.threecx_outcome_no_answer").name, "Sin respuesta")
        self.assertIn("Mis llamadas", env.ref("realtor_3cx.threecx_call_view_search").arch)
        # a Python message: click-to-call refuses a do-not-call contact, in the user's language
        self.env["threecx.extension"].create(
            {"server_id": self.server.id, "number": "101", "user_id": self.realtor.id}
        )
        partner = self.env["res.partner"].create(
            {"name": "Rosa Díaz", "phone": "+15550108801", "do_not_call": True}
        )
        self.realtor.lang = "es_419"
        answer = (
            self.env["threecx.call"]
            .with_user(self.realtor)
            .with_context(lang="es_419")
            .realtor_3cx_dial("+1 555 010 8801", "res.partner", partner.id)
        )
        self.assertFalse(answer["ok"])
        self.assertEqual(
            answer["message"],
            "Rosa Díaz está en la lista de no llamar: 3CX no marcará +15550108801.",
        )
        # the browser's strings: JavaScript _t() and the OWL templates
        web = {
            message["id"]: message["string"]
            for message in code_translations.get_web_translations("realtor_3cx", "es_419")[
                "messages"
            ]
        }
        self.assertEqual(web.get("Incoming call"), "Llamada entrante")
        self.assertEqual(web.get("Who is calling?"), "¿Quién llama?")

    def test_the_worker_answers_in_the_language_of_the_user_who_asked(self):
        """The worker's answers to a click-to-call or a browser call are translated too."""
        # Message, not _(): a _() here would put this test file in the pot
        message = pipeline.Message(
            "The call no longer rings on extension %(extension)s.", extension=101
        )
        self.assertEqual(message, "The call no longer rings on extension 101.")
        self.assertEqual(message.in_lang("en_US"), "The call no longer rings on extension 101.")
        self.assertEqual(message.in_lang("es_419"), "La llamada ya no suena en la extensión 101.")
        self.assertEqual(pipeline.in_lang("", "es_419"), "")
