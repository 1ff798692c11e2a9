"""Contains all the data models used in inputs/outputs"""

from .add_participant_request import AddParticipantRequest
from .capability import Capability
from .contact_create import ContactCreate
from .contact_list import ContactList
from .contact_target import ContactTarget
from .contact_view import ContactView
from .customer_target import CustomerTarget
from .direction import Direction
from .dispatch_attempt_view import DispatchAttemptView
from .dispatch_reason import DispatchReason
from .dispatch_state import DispatchState
from .dispatch_strategy import DispatchStrategy
from .dispatch_view import DispatchView
from .dtmf_request import DtmfRequest
from .dtmf_sent import DtmfSent
from .end_reason import EndReason
from .healthz_response_healthz import HealthzResponseHealthz
from .invite_list import InviteList
from .invite_view import InviteView
from .inviter import Inviter
from .list_my_sessions_status import ListMySessionsStatus
from .list_sessions_status import ListSessionsStatus
from .member_put import MemberPut
from .member_role import MemberRole
from .member_view import MemberView
from .participant_kind import ParticipantKind
from .participant_state import ParticipantState
from .participant_view import ParticipantView
from .phone_target import PhoneTarget
from .presence_list import PresenceList
from .presence_put import PresencePut
from .presence_put_status import PresencePutStatus
from .presence_view import PresenceView
from .presence_view_status import PresenceViewStatus
from .problem_code import ProblemCode
from .problem_details import ProblemDetails
from .realtime_grant import RealtimeGrant
from .receive_livekit_webhook_body import ReceiveLivekitWebhookBody
from .recording_state import RecordingState
from .recording_view import RecordingView
from .rename_request import RenameRequest
from .ring_order import RingOrder
from .role import Role
from .route_view import RouteView
from .route_view_target import RouteViewTarget
from .session_list import SessionList
from .session_state import SessionState
from .session_view import SessionView
from .session_with_join import SessionWithJoin
from .sip_leg_operation import SipLegOperation
from .sip_leg_state import SipLegState
from .start_session_request import StartSessionRequest
from .state_reason import StateReason
from .team_list import TeamList
from .team_put import TeamPut
from .team_target import TeamTarget
from .team_view import TeamView
from .vendor_create import VendorCreate
from .vendor_update import VendorUpdate
from .vendor_user_target import VendorUserTarget
from .vendor_view import VendorView
from .voice_join_grant import VoiceJoinGrant
from .webhook_receipt import WebhookReceipt
from .when_unavailable import WhenUnavailable

__all__ = (
    "AddParticipantRequest",
    "Capability",
    "ContactCreate",
    "ContactList",
    "ContactTarget",
    "ContactView",
    "CustomerTarget",
    "Direction",
    "DispatchAttemptView",
    "DispatchReason",
    "DispatchState",
    "DispatchStrategy",
    "DispatchView",
    "DtmfRequest",
    "DtmfSent",
    "EndReason",
    "HealthzResponseHealthz",
    "InviteList",
    "InviteView",
    "Inviter",
    "ListMySessionsStatus",
    "ListSessionsStatus",
    "MemberPut",
    "MemberRole",
    "MemberView",
    "ParticipantKind",
    "ParticipantState",
    "ParticipantView",
    "PhoneTarget",
    "PresenceList",
    "PresencePut",
    "PresencePutStatus",
    "PresenceView",
    "PresenceViewStatus",
    "ProblemCode",
    "ProblemDetails",
    "RealtimeGrant",
    "ReceiveLivekitWebhookBody",
    "RecordingState",
    "RecordingView",
    "RenameRequest",
    "RingOrder",
    "Role",
    "RouteView",
    "RouteViewTarget",
    "SessionList",
    "SessionState",
    "SessionView",
    "SessionWithJoin",
    "SipLegOperation",
    "SipLegState",
    "StartSessionRequest",
    "StateReason",
    "TeamList",
    "TeamPut",
    "TeamTarget",
    "TeamView",
    "VendorCreate",
    "VendorUpdate",
    "VendorUserTarget",
    "VendorView",
    "VoiceJoinGrant",
    "WebhookReceipt",
    "WhenUnavailable",
)
