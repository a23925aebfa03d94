# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_caller_lookup
from . import test_realtor_property
from . import test_res_partner
from . import test_threecx_call
from . import test_threecx_server
from . import test_threecx_extension
from . import test_ui
from . import test_connection
from . import test_call_sync
from . import test_hoot
from . import test_click_to_call
from . import test_recordings
from . import test_i18n
