# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A word searched in the transcripts from the Calls list, on the index that keeps it fast.

The search view's "Transcript" is ``transcript_search``: the calls whose transcript has words
starting with each word typed, answered by a GIN index on ``transcript_words`` (a tsvector
column PostgreSQL computes from the transcript itself). The speed at a million calls, beside
Odoo's own trigram way, is ``make bench ONLY=transcript_search``'s.
"""

import importlib.util

from lxml import etree

from odoo.tools import SQL, file_path

from .common import Realtor3cxCase

INDEX = "threecx_call_transcript_words_index"


class TestTranscriptSearch(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Call = cls.env["threecx.call"]
        cls.calls = Call.create([
            {"server_id": cls.server.id, "call_id": f"search-{n}", "transcript": text}
            for n, text in enumerate((
                "Agent: Hello.\nCaller: Is there a finished BASEMENT in the house?",
                "Agent: Hello.\nCaller: What is the asking price? It looks overpriced.",
                "Agent: Hola.\nCaller: ¿La habitación tiene baño? Busco algo en Oak Street.",
                "Agent: Hello.\nCaller: No transcript words about that.",
            ))
        ])

    def found(self, value, operator="ilike"):
        return self.env["threecx.call"].search(
            [("transcript_search", operator, value), ("id", "in", self.calls.ids)])

    def test_the_calls_search_view_searches_the_words_of_the_transcripts(self):
        arch = self.env["threecx.call"].get_views([(False, "search")])["views"]["search"]["arch"]
        fields = etree.fromstring(arch).xpath("//field[@name='transcript_search']")
        self.assertEqual(len(fields), 1)
        basement, price, spanish, _other = self.calls
        # What the search view sends for "Search Transcript for: ..." (ilike): any case,
        # anywhere in the transcript, a word or the start of one.
        self.assertEqual(self.found("basement"), basement)
        self.assertEqual(self.found("Basem"), basement)
        self.assertEqual(self.found("PRICE"), price)
        # A word, not a substring: "price" is not found in "overpriced" alone, "priced" not
        # in "price".
        self.assertEqual(self.found("priced"), self.env["threecx.call"])
        # Every word typed must be said, in any order; punctuation does not matter.
        self.assertEqual(self.found("house, finished"), basement)
        self.assertEqual(self.found("house price"), self.env["threecx.call"])
        # Spanish words as they are written, accents and all.
        self.assertEqual(self.found("habitación"), spanish)
        self.assertEqual(self.found("BAÑO"), spanish)
        # The exclusion the search view's "not" makes.
        self.assertEqual(self.found("hello", "not ilike"), spanish)
        # Only punctuation: no word to look for, the transcript's ilike decides.
        self.assertEqual(self.found("¿"), spanish)

    def test_what_the_user_types_is_never_tsquery_syntax(self):
        # Operators, quotes and backslashes of the tsquery language are data here.
        for value in ("price & !house", "'price'", "price:*", "price\\", "(basement | price)",
                      "basement <-> finished"):
            with self.subTest(value=value):
                self.found(value)  # no syntax error
        self.assertEqual(self.found("basement | price"), self.env["threecx.call"])

    def test_the_words_follow_the_transcript_as_it_is_written_and_deleted(self):
        call = self.calls[3]
        self.assertFalse(self.found("appraisal"))
        call.write({"transcript": "Caller: The appraisal came in low."})
        self.assertEqual(self.found("appraisal"), call)  # the search flushes the write
        call.write({"transcript": False})
        self.assertFalse(self.found("appraisal"))
        self.env.cr.execute("SELECT transcript_words FROM threecx_call WHERE id = %s",
                            [call.id])
        self.assertIsNone(self.env.cr.fetchone()[0])

    def test_the_search_runs_on_the_words_index(self):
        self.env.flush_all()
        query = self.env["threecx.call"]._search([("transcript_search", "ilike", "basement")])
        # A few rows: the planner would scan; forbidding it shows the SQL can use the index
        # (the column as the index has it, nothing around it).
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn(INDEX, plan)
        self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
        self.assertIn("USING gin (transcript_words)", self.env.cr.fetchone()[0])
        # The words stay in the row (MAIN), not in the TOAST table, as the search reads them.
        self.env.cr.execute("SELECT attstorage FROM pg_attribute WHERE attname ="
                            " 'transcript_words' AND attrelid = 'threecx_call'::regclass")
        self.assertEqual(self.env.cr.fetchone()[0], "m")

    def test_an_upgrade_makes_the_column_and_index_again_and_drops_the_trigram_one(self):
        """A database of the previous version had a trigram index on the transcript (Odoo's
        ``index="trigram"``) and no words column: the update's steps make the column (filled
        for the calls already there) and its index, and Odoo drops the old index."""
        cr, registry = self.env.cr, self.env.registry
        self.env.flush_all()
        cr.execute(f"DROP INDEX {INDEX}")
        cr.execute("ALTER TABLE threecx_call DROP COLUMN transcript_words")
        cr.execute("CREATE INDEX threecx_call__transcript_index ON threecx_call"
                   " USING gin (transcript gin_trgm_ops)")
        path = file_path("realtor_3cx/migrations/18.0.1.2.0/pre-migrate.py")
        spec = importlib.util.spec_from_file_location("realtor_3cx_pre_migrate_1_2", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(cr, "18.0.1.1.0")  # the update's steps, in Odoo's order
        self.env["threecx.call"].init()
        registry.check_indexes(cr, ["threecx.call"])
        cr.execute("SELECT indexname FROM pg_indexes WHERE indexname IN %s",
                   [(INDEX, "threecx_call__transcript_index")])
        self.assertEqual({row[0] for row in cr.fetchall()}, {INDEX})
        self.assertEqual(self.found("basement"), self.calls[0])
