# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_call_report
from . import test_call_sync
from . import test_caller_identity
from . import test_caller_lookup
from . import test_click_to_call
from . import test_connection
from . import test_crm_endpoints
from . import test_crm_template
from . import test_fuzz_http
from . import test_hoot
from . import test_http_security
from . import test_i18n
from . import test_lead_workflow
from . import test_markup_injection
from . import test_outbound_block
from . import test_outcome
from . import test_realtor_property
from . import test_recordings
from . import test_res_partner
from . import test_secrets_rpc
from . import test_security_matrix
from . import test_threecx_call
from . import test_threecx_extension
from . import test_threecx_server
from . import test_ui
