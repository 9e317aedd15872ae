"""All models, imported so that SQLAlchemy's metadata (and Alembic) see every table."""
from core.models.accounts import (  # noqa: F401
    ALL_ROLES,
    FEDERATION_ROLES,
    INSTITUTION_ROLES,
    REFERRER_ROLES,
    ROLE_ADMIN,
    ROLE_AUDITOR,
    ROLE_COACH,
    ROLE_OFFICER,
    ROLE_OPERATOR,
    ROLE_REFERRER,
    ROLES,
    EmailChange,
    Institution,
    LoginAttempt,
    LoginThrottle,
    RecoveryCode,
    User,
    UserSession,
)
from core.models.audit import AuditEntry, Audited  # noqa: F401
from core.models.referrals import (  # noqa: F401
    ApiToken,
    IdempotencyRecord,
    OutboxMessage,
    Referral,
    ReferralOffer,
    Referrer,
    WebhookDelivery,
)
from core.models.people import Client, ClientExport, ClientExportChunk, ClientNote, Consent  # noqa: F401,E402
from core.models.coaching import (  # noqa: F401,E402
    AgreedAction,
    CoachingSession,
    CoachingTrack,
    Enrolment,
    Training,
)
from core.models.plugin_fields import ClientFieldValue, LoanFieldValue  # noqa: F401
from core.models.plugin_settings import PluginSetting  # noqa: F401
from core.models.compliance import (  # noqa: F401
    Answer,
    Assessment,
    Catalogue,
    CatalogueSection,
    Clause,
    ClauseComment,
    EvidenceFile,
)
from core.models.lending import ImportRun, LateNotice, LedgerEntry, Loan, ScheduleLine  # noqa: F401,E402
from core.models.positions import LoanPosition, PortfolioSnapshot  # noqa: F401,E402
from core.models.mail import MailDelivery, OutboxMail  # noqa: F401,E402
from core.models.chores import ChoreRun  # noqa: F401,E402
from core.models.money_input import StatementFile, StatementLine, SubmissionToken  # noqa: F401,E402
from core.models.notifications import Notification, NotificationPreference  # noqa: F401,E402
from core.models.self_referrals import SelfReferralRequest  # noqa: F401,E402
from core.models.impact_costs import InstitutionBudget, SocialReturnAssumption  # noqa: F401,E402
from core.models.followups import Followup  # noqa: F401,E402
from core.models.data_secrets import DataSecret  # noqa: F401,E402
from core.models.subject_keys import SubjectKey  # noqa: F401,E402
from core.models.saved_filters import SavedFilter  # noqa: F401,E402
