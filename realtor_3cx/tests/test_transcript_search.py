# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A word searched in the transcripts from the Calls list, on the index that keeps it fast.

``transcript`` has ``index="trigram"``: Odoo builds a pg_trgm GIN index for it when the
database has pg_trgm (Odoo's database manager creates the extension with each new
database), and none when it has not, where the search still works, scanning. The speed at
a million calls is ``make bench ONLY=transcript_search``'s.
"""

from lxml import etree

from odoo.tools import SQL

from .common import Realtor3cxCase

INDEX = "threecx_call__transcript_index"


class TestTranscriptSearch(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Call = cls.env["threecx.call"]
        cls.calls = Call.create([
            {"server_id": cls.server.id, "call_id": f"search-{n}", "transcript": text}
            for n, text in enumerate((
                "Agent: Hello.\nCaller: Is there a finished BASEMENT in the house?",
                "Agent: Hello.\nCaller: What is the asking price?",
                "Agent: Hello.\nCaller: No transcript words about that.",
            ))
        ])

    def index_definition(self):
        self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (INDEX,))
        row = self.env.cr.fetchone()
        return row and row[0]

    def test_the_calls_search_view_has_a_transcript_field_that_searches_with_ilike(self):
        arch = self.env["threecx.call"].get_views([(False, "search")])["views"]["search"]["arch"]
        fields = etree.fromstring(arch).xpath("//field[@name='transcript']")
        self.assertEqual(len(fields), 1)
        # What the search view sends for "Search Transcript for: basement" (its default
        # operator for a text field): the case does not matter, the word may be anywhere.
        found = self.env["threecx.call"].search([("transcript", "ilike", "basement")])
        self.assertEqual(found, self.calls[0])
        self.assertEqual(self.env["threecx.call"].search_count(
            [("transcript", "ilike", "price"), ("id", "in", self.calls.ids)]), 1)

    def test_with_pg_trgm_the_orm_s_search_runs_on_the_trigram_index(self):
        self.assertTrue(self.env.registry.has_trigram, "the test database has no pg_trgm")
        self.assertIn("gin_trgm_ops", self.index_definition())
        self.env.flush_all()
        query = self.env["threecx.call"]._search([("transcript", "ilike", "basement")])
        # A few rows: the planner would scan; forbidding it shows the ORM's SQL can use the
        # index (no function around the column that the index does not have).
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn(INDEX, plan)

    def test_without_pg_trgm_the_install_makes_no_index_and_the_search_still_works(self):
        """The step of an install or update that makes the fields' indexes
        (``registry.check_indexes``), on a database without pg_trgm, then with it again (an
        administrator who adds the extension and updates the addon gets the index)."""
        registry, cr = self.env.registry, self.env.cr
        self.addCleanup(setattr, registry, "has_trigram", registry.has_trigram)
        cr.execute("DROP EXTENSION pg_trgm CASCADE")  # rolled back with the test
        registry.has_trigram = False
        self.assertIsNone(self.index_definition())
        registry.check_indexes(cr, ["threecx.call"])
        self.assertIsNone(self.index_definition())
        self.env.invalidate_all()
        self.assertEqual(self.env["threecx.call"].search([("transcript", "ilike", "basement")]),
                         self.calls[0])
        cr.execute("CREATE EXTENSION pg_trgm")
        registry.has_trigram = True
        registry.check_indexes(cr, ["threecx.call"])
        self.assertIn("gin_trgm_ops", self.index_definition())

