# The structured view's words in English. Written from view/src/labels.rs by a test
# (TRM_WRITE_FTL=1 cargo test -p trm-view): edit the table there, not this file.
# Every other language has exactly these message ids.

## Field labels

field-ConsentRecord-given = Consent given
field-ConsentRecord-scope = Scope
field-ConsentRecord-obtained_by_role = Obtained by (role)
field-ConsentRecord-obtained_at_ms = Obtained
field-ConsentRecord-language = Explained in language
field-ConsentRecord-interpreter_used = Interpreter used
field-ConsentRecord-guardian_consent = Guardian consented
field-ConsentRecord-child_view = The child's own view
field-ConsentRecord-override_legal_basis = Legal basis without consent
field-PersonData-given_name = Given name
field-PersonData-family_name = Family name
field-PersonData-age_years = Age
field-PersonData-date_of_birth = Date of birth
field-PersonData-sex = Sex
field-PersonData-nationality = Nationality
field-PersonData-languages = Languages
field-PersonData-interpreter_needed = Interpreter needed
field-PersonData-literate = Can read and write
field-Guardian-appointed_by = Appointed by
field-Guardian-role = Role
field-Guardian-contact_via = Contact via
field-RiskAssessment-level = Risk level
field-RiskAssessment-assessed_by = Assessed by
field-RiskAssessment-assessed_at_ms = Assessed
field-RiskAssessment-summary = Summary
field-Attachment-file_name = File name
field-Attachment-media_type = Media type
field-Attachment-content = Content
field-Attachment-sha256 = SHA-256
field-Referral-victim_status = Victim status
field-Referral-status_designated_by = Status designated by
field-Referral-status_designated_at_ms = Status designated
field-Referral-exploitation_types = Exploitation
field-Referral-person = Person
field-Referral-child = Child
field-Referral-unaccompanied = Unaccompanied
field-Referral-guardian = Guardian
field-Referral-indicators = Indicators
field-Referral-indicator_list_version = Indicator list version
field-Referral-risk_assessment = Risk assessment
field-Referral-needs = Needs
field-Referral-services_given = Services already given
field-Referral-consent = Consent
field-Referral-handling_code = Handling code
field-Referral-handling_restrictions = Handling restrictions
field-Referral-cooperates_with_authorities = Cooperates with authorities (never a condition of assistance)
field-Referral-attachments = Attachments
field-Referral-notes = Notes
field-ReferralResponse-referral_message_id = Answers referral
field-ReferralResponse-decision = Decision
field-ReferralResponse-responsible_unit = Responsible unit
field-ReferralResponse-reason = Reason
field-ReferralResponse-missing_information = Missing information
field-ReferralResponse-notes = Notes
field-CourtTravelSupport-hearing_at_ms = Hearing
field-CourtTravelSupport-court = Court
field-CourtTravelSupport-video_link = Testifies by video link
field-CourtTravelSupport-tickets = Tickets
field-CourtTravelSupport-lawyer = Lawyer
field-CourtTravelSupport-met_by = Met on arrival by
field-CourtTravelSupport-accommodation = Accommodation
field-CaseUpdate-status = Status
field-CaseUpdate-services_delivered = Services delivered
field-CaseUpdate-court_date_ms = Court date
field-CaseUpdate-court_travel = Court travel
field-CaseUpdate-outcome = Outcome
field-CaseUpdate-notes = Notes
field-CaseUpdate-closed_items = Closes
field-ReferralSupplement-referral_message_id = Supplements referral
field-ReferralSupplement-answers = Information supplied
field-ReferralSupplement-attachments = Attachments
field-ReferralSupplement-notes = Notes
field-SuppliedItem-missing_information = Missing information
field-SuppliedItem-answer = Answer
field-InfoRequest-requesting_authority = Requesting authority
field-InfoRequest-legal_basis = Legal basis
field-InfoRequest-own_reference = Their reference
field-InfoRequest-purpose = Purpose
field-InfoRequest-categories = Information about
field-InfoRequest-deadline_ms = Answer by
field-InfoRequest-handling_code = Handling code
field-InfoRequest-handling_restrictions = Handling restrictions
field-InfoRequest-questions = Questions
field-InfoResponse-request_message_id = Answers request
field-InfoResponse-information = Information
field-InfoResponse-source_reliability = Source reliability
field-InfoResponse-accuracy = Accuracy
field-InfoResponse-refusal_reason = Refused because
field-InfoResponse-refusal_text = Refusal explained
field-InfoResponse-handling_code = Handling code
field-InfoResponse-handling_restrictions = Handling restrictions
field-InfoResponse-consent = Consent
field-InfoResponse-attachments = Attachments
field-Reception-met_by = Met by
field-Reception-meeting_point = Meeting point
field-Reception-services_on_arrival = Services on arrival
field-ReturnRequest-voluntary_return_consent = Consents to return
field-ReturnRequest-pre_return_risk_assessment = Pre-return risk assessment
field-ReturnRequest-travel_date_ms = Travel date
field-ReturnRequest-route = Route
field-ReturnRequest-means = Means of travel
field-ReturnRequest-escort = Escort
field-ReturnRequest-documents_status = Travel documents
field-ReturnRequest-reception_wanted = Reception wanted
field-ReturnRequest-family_assessment = Family assessment
field-ReturnRequest-child = Child
field-ReturnRequest-guardian = Guardian
field-ReturnRequest-best_interest_determination = Best-interest determination
field-ReturnRequest-consent = Consent
field-ReturnRequest-notes = Notes
field-ReturnConfirmation-return_request_message_id = Confirms return request
field-ReturnConfirmation-reception = Reception
field-ReturnConfirmation-notes = Notes
field-FollowUp-return_request_message_id = Follows up return request
field-FollowUp-months_after_return = Time after return
field-FollowUp-reintegration_status = Reintegration status
field-FollowUp-services_received = Services received
field-FollowUp-contact_maintained = Contact maintained
field-FollowUp-outcome = Outcome
field-FollowUp-notes = Notes
field-ConsentWithdrawal-withdrawn_at_ms = Withdrawn
field-ConsentWithdrawal-recorded_by_role = Recorded by (role)
field-ConsentWithdrawal-notes = Notes
field-WitnessRequest-purpose = Purpose

## What codes mean

code-VictimStatus-VICTIM_STATUS_POTENTIAL = potential victim
code-VictimStatus-VICTIM_STATUS_PRESUMED = presumed victim
code-VictimStatus-VICTIM_STATUS_IDENTIFIED = identified victim
code-ExploitationType-EXPLOITATION_TYPE_SEXUAL = sexual exploitation
code-ExploitationType-EXPLOITATION_TYPE_LABOUR = labour exploitation
code-ExploitationType-EXPLOITATION_TYPE_FORCED_BEGGING = forced begging
code-ExploitationType-EXPLOITATION_TYPE_FORCED_CRIMINALITY = forced criminality
code-ExploitationType-EXPLOITATION_TYPE_FORCED_MARRIAGE = forced marriage
code-ExploitationType-EXPLOITATION_TYPE_DOMESTIC_SERVITUDE = domestic servitude
code-ExploitationType-EXPLOITATION_TYPE_ORGAN_REMOVAL = organ removal
code-ExploitationType-EXPLOITATION_TYPE_ILLEGAL_ADOPTION = illegal adoption
code-ExploitationType-EXPLOITATION_TYPE_OTHER = other exploitation
code-Need-NEED_SHELTER = shelter
code-Need-NEED_MEDICAL = medical care
code-Need-NEED_PSYCHOSOCIAL = psychosocial support
code-Need-NEED_LEGAL_AID = legal aid
code-Need-NEED_DOCUMENTS = identity or travel documents
code-Need-NEED_INTERPRETATION = interpretation
code-Need-NEED_RETURN = assisted return
code-Need-NEED_COMPENSATION_CLAIM = compensation claim
code-Need-NEED_FAMILY_ASSESSMENT = family assessment
code-RiskLevel-RISK_LEVEL_LOW = low
code-RiskLevel-RISK_LEVEL_MEDIUM = medium
code-RiskLevel-RISK_LEVEL_HIGH = high
code-Sex-SEX_FEMALE = female
code-Sex-SEX_MALE = male
code-Sex-SEX_OTHER = other
code-HandlingCode-HANDLING_CODE_H0 = H0: use only for the stated purpose
code-HandlingCode-HANDLING_CODE_H1 = H1: not to be used in judicial proceedings without the provider's permission
code-HandlingCode-HANDLING_CODE_H2 = H2: not to be passed on without the provider's permission
code-HandlingCode-HANDLING_CODE_H3 = H3: other restrictions, stated with it
code-ReferralResponse-Decision-DECISION_ACCEPTED = accepted
code-ReferralResponse-Decision-DECISION_DECLINED = declined
code-ReferralResponse-Decision-DECISION_NEEDS_INFORMATION = more information needed
code-CaseOutcome-CASE_OUTCOME_INTEGRATED_IN_DESTINATION = integrated in the country of destination
code-CaseOutcome-CASE_OUTCOME_REINTEGRATED_IN_ORIGIN = reintegrated in the country of origin
code-CaseOutcome-CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY = relocated to a third country
code-CaseOutcome-CASE_OUTCOME_CONTACT_LOST = contact lost
code-InvestigationPurpose-INVESTIGATION_PURPOSE_PRELIMINARY = preliminary investigation
code-InvestigationPurpose-INVESTIGATION_PURPOSE_CRIMINAL = criminal investigation
code-InformationCategory-INFORMATION_CATEGORY_VICTIM = the victim
code-InformationCategory-INFORMATION_CATEGORY_PERPETRATOR = the perpetrator
code-SourceReliability-SOURCE_RELIABILITY_A = A: no doubt about authenticity, trustworthiness and competence
code-SourceReliability-SOURCE_RELIABILITY_B = B: has in most instances proved reliable
code-SourceReliability-SOURCE_RELIABILITY_C = C: has in most instances proved unreliable
code-SourceReliability-SOURCE_RELIABILITY_X = X: reliability cannot be assessed
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_CONSENT = no consent
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_LEGAL_BASIS = no legal basis
code-InfoRefusalReason-INFO_REFUSAL_REASON_OTHER = another reason, explained
code-Referral-indicators-deceptive-recruitment = deceptive recruitment
code-Referral-indicators-debt-bondage = debt bondage
code-Referral-indicators-document-retention = identity or travel documents withheld
code-Referral-indicators-restricted-movement = freedom of movement restricted
code-Referral-indicators-isolation = isolation from family and others
code-Referral-indicators-physical-or-sexual-violence = physical or sexual violence
code-Referral-indicators-threats = threats against the person or their family
code-Referral-indicators-threat-of-denunciation = threatened with denunciation to the authorities
code-Referral-indicators-withheld-wages = wages withheld or not paid
code-Referral-indicators-excessive-hours = excessive working hours
code-Referral-indicators-degrading-conditions = degrading living or working conditions
code-Referral-indicators-abuse-of-vulnerability = abuse of a position of vulnerability
code-InfoResponse-accuracy-1 = 1: accuracy not in doubt
code-InfoResponse-accuracy-2 = 2: known personally to the source, not to the official passing it on
code-InfoResponse-accuracy-3 = 3: not known personally to the source, corroborated by information already held
code-InfoResponse-accuracy-4 = 4: not known personally to the source and cannot be corroborated
code-unknown = code { $n }, unknown to this version

## Message kinds (lower case: the view capitalises a title)

kind-referral = referral
kind-referral_response = referral response
kind-information_supplied = information supplied for a referral
kind-case_update = case update
kind-info_request = information request
kind-info_response = information response
kind-return_request = return-assistance request
kind-return_confirmation = return confirmation
kind-follow_up = post-return follow-up
kind-consent_withdrawal = consent withdrawal
kind-witness_request = witness request

## Counts

unit-byte =
    { $n ->
        [one] { $n } byte
       *[other] { $n } bytes
    }
unit-day =
    { $n ->
        [one] { $n } day
       *[other] { $n } days
    }
unit-hour =
    { $n ->
        [one] { $n } hour
       *[other] { $n } hours
    }
unit-month =
    { $n ->
        [one] { $n } month
       *[other] { $n } months
    }
unit-year =
    { $n ->
        [one] { $n } year
       *[other] { $n } years
    }

## Priorities

priority-routine = routine
priority-urgent = urgent
priority-immediate = immediate
priority-meaning = { $priority }: a referral is answered within { $span }

## The header of a message

header-kind = Kind
header-priority = Priority
header-from = From
header-to = To
header-created = Sealed
header-case_ref = Case
header-message_id = Message id
header-handling_notice = Handling

## What a handling code asks of the reader

notice-H0 = H0: use only for the purpose it was provided for
notice-H1 = H1: NOT FOR JUDICIAL USE: not to be used in judicial proceedings without the permission of { $provider }
notice-H2 = H2: not to be passed on without the permission of { $provider }; this node refuses to send it to another organisation
notice-H3 = H3: { $restrictions }

## Case items, their states, and the steps of a sent message's evidence

item-referral = referral
item-information_request = information request
item-return = return
state-sent = sent
state-delivered =
    { $direction ->
        [outgoing] delivered to partner
       *[incoming] received, not yet answered
    }
state-rejected = rejected
state-accepted =
    { $direction ->
        [outgoing] accepted by partner
       *[incoming] accepted by you
    }
state-declined =
    { $direction ->
        [outgoing] declined by partner
       *[incoming] declined by you
    }
state-needs_information =
    { $direction ->
        [outgoing] partner needs more information
       *[incoming] you asked for more information
    }
state-information_supplied = information supplied
state-closed = closed
state-open = open
state-answered = answered
state-refused = refused
state-requested = requested
state-confirmed = confirmed
state-travelled = travelled
state-followed_up = followed up
step-submitted = sealed
step-accepted = stored
step-relayed = relayed
step-delivered = delivered
step-rejected = rejected
step-expired = expired
step-answered = answered
step-unknown = unknown

## Other words

bool-yes = yes
bool-no = no
language-not-stated = language not stated
