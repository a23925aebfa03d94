# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Refresh ``realtor_3cx/i18n/realtor_3cx.pot`` from the code and ``es.po`` from its table.

What
    1. Exports the addon's translatable terms the way Odoo does (``odoo-bin --i18n-export``
       on a database with the addon installed) into ``realtor_3cx/i18n/realtor_3cx.pot``.
    2. Writes ``realtor_3cx/i18n/es.po``: every msgid of the pot with its Spanish from
       ``tests/i18n_es.txt``, the translation table, keyed by the English msgid.
    3. Lists the msgids the table lacks, ready to paste into it, and exits 1 if there are any.
       Table entries no msgid uses any more are listed too (delete them).

How to use
    ``python3 tests/i18n_refresh.py``: a throwaway database (as ``make test`` makes), then
    both files. ``--conf CONF --db DB`` exports from a database that has the addon installed
    (``python3 tests/devenv.py test --keep ...`` prints one); ``--po-only`` rebuilds es.po
    from the committed pot alone (after editing the table). The addon's test_i18n.py fails
    when either file is stale.

The table (``tests/i18n_es.txt``)
    One entry per msgid, in the pot's order, separated by blank lines::

        en: Call back {contact}
        es: Devolver la llamada a {contact}

    The ``en:`` line is the msgid with each run of whitespace (the indentation of a view's
    multi-line text) written as one space; ``\\n`` in an ``es:`` line is a line break. Keep
    placeholders (``%s``, ``%(name)s``, ``{contact}``) and markup exactly as in the msgid.

Caveats
    The pot is rewritten only when a msgid, a comment or a reference changed, so a refresh
    without code changes leaves both files untouched (its dates do not churn).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "realtor_3cx" / "i18n"
POT = I18N / "realtor_3cx.pot"
TABLES = {"es": Path(__file__).resolve().parent / "i18n_es.txt"}
# The header Odoo's own Spanish files carry (Transifex's, from CLDR).
LANG_METADATA = {
    "es": {
        "Language": "es",
        "Plural-Forms": "nplurals=3; plural=n == 1 ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;",
    }
}
# Lines of a pot that change on every export without the terms changing.
VOLATILE = re.compile(r'^"(POT-Creation-Date|PO-Revision-Date|Project-Id-Version): .*$', re.M)


def table_key(msgid):
    """The ``en:`` form of a msgid: whitespace runs as one space (views indent their text)."""
    return re.sub(r"\s+", " ", msgid)


def read_table(path):
    """``{key: translation}`` from a table file; raises ValueError on a malformed entry."""
    table = {}
    key = None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("en: "):
            if key is not None:
                raise ValueError(f"{path}:{lineno}: an en: line follows an en: line")
            key = line[4:]
            if key in table:
                raise ValueError(f"{path}:{lineno}: {key!r} is in the table twice")
        elif line.startswith("es: ") or line == "es:":
            if key is None:
                raise ValueError(f"{path}:{lineno}: an es: line without its en: line")
            table[key] = line[4:].replace("\\n", "\n")
            key = None
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"{path}:{lineno}: expected 'en: ', 'es: ', '#' or a blank line")
    if key is not None:
        raise ValueError(f"{path}: {key!r} has no es: line")
    return table


def stable(text):
    return VOLATILE.sub("", text)


def export_pot(conf, db):
    """Export the pot with odoo-bin; write it only when its terms changed. Returns True if so."""
    import devenv

    src = devenv.ensure_odoo()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "realtor_3cx.pot"
        devenv.sh(
            devenv.odoo_cmd(
                src, conf, "-d", db, f"--i18n-export={out}", "--modules=realtor_3cx",
                "--stop-after-init", "--log-level=warn",
            ),
            quiet=True,
        )
        text = out.read_text(encoding="utf-8")
    # The series, not this machine's nightly build: the same code gives the same file.
    text = re.sub(
        r'^"Project-Id-Version: Odoo Server (\d+\.\d+)[^\\]*\\n"$',
        r'"Project-Id-Version: Odoo Server \1\\n"',
        text,
        flags=re.M,
    )
    if POT.exists() and stable(POT.read_text(encoding="utf-8")) == stable(text):
        print(f"{POT.relative_to(ROOT)}: up to date")
        return False
    I18N.mkdir(parents=True, exist_ok=True)
    POT.write_text(text, encoding="utf-8")
    print(f"{POT.relative_to(ROOT)}: written")
    return True


def write_po(lang):
    """Write ``<lang>.po`` from the pot and the table; return the msgids the table lacks."""
    import polib  # Odoo's own dependency: the virtualenv has it

    pot = polib.pofile(str(POT), wrapwidth=78)
    table = read_table(TABLES[lang])
    po = polib.POFile(wrapwidth=78)
    po.header = pot.header
    po.metadata = dict(pot.metadata)
    # The po follows its pot: the same dates, so an unchanged pot gives an unchanged po.
    po.metadata["PO-Revision-Date"] = pot.metadata.get("POT-Creation-Date", "")
    po.metadata.update(LANG_METADATA[lang])
    missing = []
    used = set()
    for entry in pot:
        key = table_key(entry.msgid)
        msgstr = table.get(key, "")
        used.add(key)
        if not msgstr:
            missing.append(key)
        elif msgstr == entry.msgid:
            # OCA's po-pretty-format wants such a msgstr empty (Odoo then shows the msgid);
            # test_i18n.py lists these msgids, so a forgotten one still fails.
            msgstr = ""
        po.append(
            polib.POEntry(
                msgid=entry.msgid,
                msgstr=msgstr,
                comment=entry.comment,
                tcomment=entry.tcomment,
                occurrences=entry.occurrences,
                flags=entry.flags,
            )
        )
    target = I18N / f"{lang}.po"
    # Written as polib reads it back: the layout OCA's po-pretty-format checks.
    text = str(polib.pofile(str(po), wrapwidth=78))
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: written")
    else:
        print(f"{target.relative_to(ROOT)}: up to date")
    unused = sorted(set(table) - used)
    if unused:
        print(f"\n{len(unused)} entries of {TABLES[lang].name} match no msgid (delete them):")
        for key in unused:
            print(f"  en: {key}")
    if missing:
        print(
            f"\n{len(missing)} msgids have no {lang} translation: add these entries to "
            f"{TABLES[lang].relative_to(ROOT)} (in the pot's order), then run "
            "`python3 tests/i18n_refresh.py --po-only`:\n"
        )
        for key in missing:
            print(f"en: {key}\n{lang}: \n")
    return missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf", help="odoo.conf of a database with realtor_3cx installed")
    parser.add_argument("--db", help="that database")
    parser.add_argument("--po-only", action="store_true", help="only rebuild the .po files")
    args = parser.parse_args(argv)
    if bool(args.conf) != bool(args.db):
        parser.error("--conf and --db go together")
    try:
        import polib  # noqa: F401
    except ImportError:
        # Run by the system python3: the virtualenv has polib (and Odoo's other dependencies).
        sys.path.insert(0, str(ROOT / "tests"))
        import devenv

        devenv.ensure_venv()
        return subprocess.run([str(devenv.venv_python()), __file__, *sys.argv[1:]]).returncode
    if not args.po_only:
        sys.path.insert(0, str(ROOT / "tests"))
        if args.conf:
            export_pot(Path(args.conf), args.db)
        else:
            export_from_throwaway_db()
    missing = [key for lang in TABLES for key in write_po(lang)]
    return 1 if missing else 0


def export_from_throwaway_db():
    """A fresh database with the addon (as ``make test`` makes one), dropped afterwards."""
    import secrets

    import devenv

    src = devenv.ensure_odoo()
    run_id = f"i18n_{secrets.token_hex(3)}"
    cluster, db = devenv.database_server(devenv.read_conf(), f"pg-{run_id}")
    dbname = f"r3cx_{run_id}"
    workdir = devenv.DATA / run_id
    conf = devenv.write_conf(
        workdir / "odoo.conf", src, db, devenv.free_port(), workdir / "filestore",
        {"db_name": dbname, "list_db": "False", "max_cron_threads": "0"},
    )
    try:
        devenv.say(f"creating the throwaway database {dbname} with realtor_3cx installed")
        devenv.load_addon(src, conf, dbname, "-i")
        export_pot(conf, dbname)
    finally:
        devenv.drop_db(conf, dbname)
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.path, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
