# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX V20 Configuration API (XAPI, OData v4 under ``/xapi/v1``; docs/3cx-api.md §4).

Entity fields are PascalCase and are returned as 3CX sends them (dicts). Collections are read
page by page with ``$top``/``$skip`` (or ``@odata.nextLink`` when 3CX sends one), so a large
call history never lands in memory at once. Filters are built by the caller; :func:`quote`
makes string literals safe (``'O''Neil'``).
"""

import datetime
import logging
import re
from urllib.parse import quote as url_quote

import requests

from .errors import ConnectionFailed, ResponseError
from .rest import Api

_logger = logging.getLogger(__name__)

BASE = "/xapi/v1"
PAGE_SIZE = 500
DOWNLOAD_TIMEOUT = (5, 60)


def quote(value):
    """An OData string literal: ``O'Neil`` -> ``'O''Neil'``."""
    return "'" + str(value).replace("'", "''") + "'"


def _utc(value):
    """An OData DateTimeOffset literal (``2025-03-01T00:00:00Z``) from a datetime or epoch."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Xapi(Api):
    """Read-mostly access to users, calls, reports and recordings."""

    def version(self):
        """The PBX version from the ``X-3CX-Version`` header of ``GET /Defs?$select=Id``."""
        response = self.request("GET", f"{BASE}/Defs", params={"$select": "Id"})
        response.close()
        version = response.headers.get("X-3CX-Version")
        if not version:
            raise ResponseError("3CX sent no X-3CX-Version header")
        return version

    def system_status(self):
        return self._object(f"{BASE}/SystemStatus")

    def license_status(self):
        return self._object(f"{BASE}/LicenseStatus")

    def users(self, *, filter=None, select=None, orderby="Number", page_size=PAGE_SIZE):
        """Users (extensions) with the fields that give presence: ``CurrentProfileName``,
        ``IsRegistered`` and ``QueueStatus``."""
        return self.query("Users", filter=filter, select=select, orderby=orderby,
                          page_size=page_size)

    def user(self, number):
        """One user by extension number, ``None`` when there is none."""
        users = list(self.query("Users", filter=f"Number eq {quote(number)}", page_size=2))
        return users[0] if users else None

    def teams(self):
        """The queues and ring groups (the teams a call can ring), with their members' numbers:
        ``[{"number", "name", "kind": "queue" | "ring_group", "members": [numbers]}]``."""
        found = []
        for entity, kind, navigation in (("Queues", "queue", "Agents"),
                                         ("RingGroups", "ring_group", "Members")):
            for row in self.query(entity, select=("Number", "Name"), orderby="Number",
                                  expand=navigation):
                found.append({
                    "number": str(row.get("Number") or ""), "name": row.get("Name") or "",
                    "kind": kind,
                    "members": [str(m.get("Number")) for m in row.get(navigation) or ()
                                if m.get("Number")]})
        return [team for team in found if team["number"]]

    def active_calls(self):
        return self.query("ActiveCalls", orderby="Id")

    def drop_active_call(self, call_id):
        self.request("POST", f"{BASE}/ActiveCalls({int(call_id)})/Pbx.DropCall", json={})

    def call_history(self, start, end, *, filter=None, page_size=PAGE_SIZE):
        """``CallHistoryView`` segments started in [start, end)."""
        period = (f"SegmentStartTime ge {_utc(start)} and SegmentStartTime lt {_utc(end)}")
        return self.query("CallHistoryView", filter=f"{period} and ({filter})" if filter
                          else period, orderby="SegmentStartTime", page_size=page_size)

    def call_log(self, period_from, period_to, *, source_filter="", destination_filter="",
                 calls_type=0, hide_pcalls=False, filter=None, page_size=PAGE_SIZE):
        """The call-log report (``ReportCallLogData/Pbx.GetCallLogData``), one row per call."""
        args = ",".join([
            f"periodFrom={_utc(period_from)}", f"periodTo={_utc(period_to)}",
            "sourceType=0", f"sourceFilter={quote(source_filter)}",
            "destinationType=0", f"destinationFilter={quote(destination_filter)}",
            f"callsType={int(calls_type)}", "callTimeFilterType=0",
            "callTimeFilterFrom='0:00:0'", "callTimeFilterTo='0:00:0'",
            f"hidePcalls={'true' if hide_pcalls else 'false'}",
        ])
        return self.query(f"ReportCallLogData/Pbx.GetCallLogData({args})", filter=filter,
                          orderby="StartTime", page_size=page_size)

    def recordings(self, *, filter=None, page_size=PAGE_SIZE):
        return self.query("Recordings", filter=filter, orderby="Id", page_size=page_size)

    # The transcription properties of Pbx.Recording (3CX 20.0.10; docs/3cx-api.md §4).
    TRANSCRIPT_FIELDS = ("Id", "IsTranscribed", "CanBeTranscribed", "TranscriptionResult",
                         "Transcription", "Summary", "SentimentScore")

    def recording_transcript(self, recording_id):
        """The transcription properties of recording ``recording_id`` (``TRANSCRIPT_FIELDS``),
        ``None`` when 3CX does not list it."""
        rows = list(self.query("Recordings", filter=f"Id eq {int(recording_id)}",
                               select=self.TRANSCRIPT_FIELDS, page_size=2))
        return rows[0] if rows else None

    def transcribe_recordings(self, recording_ids):
        """Ask 3CX to transcribe these recordings (``Pbx.TranscribeRecordings``, 204); the
        transcripts show in ``Recordings`` once its engine has them."""
        self.request("POST", f"{BASE}/Recordings/Pbx.TranscribeRecordings",
                     json={"ids": [int(i) for i in recording_ids]})

    def call_recording_ids(self, call_id, since, until):
        """The recording ids 3CX lists for call ``call_id`` (started in [since, until]).

        ``Recordings`` rows do not name their call; the call-log report does, in
        ``Recordings[].Id`` and in ``RecordingUrl`` (``...DownloadRecording(recId=N)``). An
        empty list means none yet: 3CX lists a recording only once it has written the file.
        """
        rows = list(self.call_log(since, until, filter=f"CallId eq {int(call_id)}",
                                  page_size=5))
        ids = []
        for row in rows:
            for rec in row.get("Recordings") or ():
                if isinstance(rec, dict) and isinstance(rec.get("Id"), int):
                    ids.append(rec["Id"])
            match = RECORDING_URL.search(str(row.get("RecordingUrl") or ""))
            if match:
                ids.append(int(match.group(1)))
        return list(dict.fromkeys(ids))

    def download_recording(self, recording_id, fileobj, *, chunk_size=64 * 1024,
                           max_bytes=None):
        """Write recording ``recording_id`` to ``fileobj``; returns (bytes, content type).

        :raises errors.NotFoundError: 3CX has no such recording (or not yet)
        :raises errors.ConnectionFailed: the connection broke during the download
        :raises errors.ResponseError: fewer bytes than 3CX announced, or more than
            ``max_bytes``
        """
        response = self.request(
            "GET", f"{BASE}/Recordings/Pbx.DownloadRecording(recId={int(recording_id)})",
            stream=True, timeout=DOWNLOAD_TIMEOUT)
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=chunk_size):
                fileobj.write(chunk)
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ResponseError(f"recording {recording_id} is larger than "
                                        f"{max_bytes} bytes")
        except requests.RequestException as exc:
            # urllib3 reports a cut connection as a protocol or chunk error mid-stream.
            raise ConnectionFailed(f"download of recording {recording_id} broke off after "
                                   f"{size} bytes: {exc}", reason="download cut off") from None
        finally:
            response.close()
        expected = response.headers.get("Content-Length")
        if expected and expected.isdigit() and int(expected) != size:
            raise ResponseError(f"recording {recording_id}: {size} of {expected} bytes arrived")
        return size, response.headers.get("Content-Type", "application/octet-stream")

    # -- the company phonebook (Contacts; docs/3cx-api.md §4) -----------------------------------

    def contacts(self, *, filter=None, select=None, page_size=PAGE_SIZE):
        """Every contact of 3CX's company phonebook (``Pbx.Contact`` dicts), by ``Id``."""
        return self.query("Contacts", filter=filter, select=select, orderby="Id",
                          page_size=page_size)

    def contact(self, contact_id):
        """One contact; :class:`~.errors.NotFoundError` when 3CX has none with that id."""
        return self._object(f"{BASE}/Contacts({int(contact_id)})")

    def create_contact(self, values):
        """Add a contact (``values``: Pbx.Contact properties); returns it, with its ``Id``."""
        response = self.request("POST", f"{BASE}/Contacts", json=values)
        try:
            body = response.json()
        except ValueError:
            raise ResponseError("POST Contacts did not return JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("Id"), int):
            raise ResponseError("POST Contacts returned no contact Id")
        return body

    def update_contact(self, contact_id, values):
        """Change the properties in ``values`` (a PATCH: the others stay as they are)."""
        self.request("PATCH", f"{BASE}/Contacts({int(contact_id)})", json=values).close()

    def delete_contact(self, contact_id):
        self.request("DELETE", f"{BASE}/Contacts({int(contact_id)})").close()

    def delete_contacts(self, contact_ids):
        """Delete many contacts in one request (``Pbx.DeleteContactsById``, 3CX's one bulk
        phonebook operation)."""
        ids = [int(i) for i in contact_ids]
        if ids:
            self.request("POST", f"{BASE}/Contacts/Pbx.DeleteContactsById",
                         json={"ids": ids}).close()

    def query(self, entity, *, filter=None, select=None, orderby=None, page_size=PAGE_SIZE,
              limit=None, expand=None):
        """Iterate over every row of an OData collection, ``page_size`` rows per request."""
        params = {"$top": page_size, "$skip": 0}
        if filter:
            params["$filter"] = filter
        if select:
            params["$select"] = ",".join(select) if not isinstance(select, str) else select
        if expand:
            params["$expand"] = expand
        if orderby:
            params["$orderby"] = orderby
        path = f"{BASE}/{url_quote(entity, safe=DELIMITERS)}"
        returned = 0
        while True:
            body = self._object(path, params=params)
            rows = body.get("value")
            if not isinstance(rows, list):
                raise ResponseError(f"GET {entity} is not an OData collection")
            for row in rows:
                yield row
                returned += 1
                if limit is not None and returned >= limit:
                    return
            next_link = body.get("@odata.nextLink")
            if next_link:
                path, params = _relative(next_link), None
            elif len(rows) < page_size:
                return
            else:
                params = {**params, "$skip": params["$skip"] + page_size}

    def count(self, entity, *, filter=None):
        params = {"$top": 0, "$count": "true"}
        if filter:
            params["$filter"] = filter
        body = self._object(f"{BASE}/{url_quote(entity, safe=DELIMITERS)}", params=params)
        try:
            return int(body["@odata.count"])
        except (KeyError, TypeError, ValueError):
            raise ResponseError(f"GET {entity} returned no @odata.count") from None

    def _object(self, path, params=None):
        body = self.get_json(path, params=params)
        if not isinstance(body, dict):
            raise ResponseError(f"GET {path} did not return an object")
        return body


RECORDING_URL = re.compile(r"DownloadRecording\(recId=(\d+)\)")
# OData paths keep their punctuation: Users(Number='100'), Pbx.GetCallLogData(a=1,b='x').
DELIMITERS = "/()=,'.:-"


def _relative(link):
    """``@odata.nextLink`` may be absolute; requests wants our base-relative path."""
    if "://" in link:
        link = "/" + link.split("://", 1)[1].split("/", 1)[1]
    return link if link.startswith(BASE) else f"{BASE}/{link.lstrip('/')}"
