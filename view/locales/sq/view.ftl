# Fjalët e pamjes së strukturuar në shqip. Të njëjtat identifikues si en/view.ftl.
# Përkthimi duhet rishikuar nga një folës amtar.

## Field labels

field-ConsentRecord-given = Pëlqimi u dha
field-ConsentRecord-scope = Fushëveprimi
field-ConsentRecord-obtained_by_role = Marrë nga (roli)
field-ConsentRecord-obtained_at_ms = Marrë më
field-ConsentRecord-language = Shpjeguar në gjuhën
field-ConsentRecord-interpreter_used = U përdor përkthyes
field-ConsentRecord-guardian_consent = Kujdestari dha pëlqimin
field-ConsentRecord-child_view = Mendimi i vetë fëmijës
field-ConsentRecord-override_legal_basis = Baza ligjore pa pëlqim
field-PersonData-given_name = Emri
field-PersonData-family_name = Mbiemri
field-PersonData-age_years = Mosha
field-PersonData-date_of_birth = Datëlindja
field-PersonData-sex = Gjinia
field-PersonData-nationality = Shtetësia
field-PersonData-languages = Gjuhët
field-PersonData-interpreter_needed = Nevojitet përkthyes
field-PersonData-literate = Di të lexojë dhe të shkruajë
field-Guardian-appointed_by = Caktuar nga
field-Guardian-role = Roli
field-Guardian-contact_via = Kontakti nëpërmjet
field-RiskAssessment-level = Niveli i rrezikut
field-RiskAssessment-assessed_by = Vlerësuar nga
field-RiskAssessment-assessed_at_ms = Vlerësuar më
field-RiskAssessment-summary = Përmbledhje
field-Attachment-file_name = Emri i skedarit
field-Attachment-media_type = Lloji i medias
field-Attachment-content = Përmbajtja
field-Attachment-sha256 = SHA-256
field-Referral-victim_status = Statusi i viktimës
field-Referral-status_designated_by = Statusi u përcaktua nga
field-Referral-status_designated_at_ms = Statusi u përcaktua më
field-Referral-exploitation_types = Shfrytëzimi
field-Referral-person = Personi
field-Referral-child = Fëmijë
field-Referral-unaccompanied = I pashoqëruar
field-Referral-guardian = Kujdestari
field-Referral-indicators = Treguesit
field-Referral-indicator_list_version = Versioni i listës së treguesve
field-Referral-risk_assessment = Vlerësimi i rrezikut
field-Referral-needs = Nevojat
field-Referral-services_given = Shërbimet e dhëna tashmë
field-Referral-consent = Pëlqimi
field-Referral-handling_code = Kodi i trajtimit
field-Referral-handling_restrictions = Kufizimet e trajtimit
field-Referral-cooperates_with_authorities = Bashkëpunon me autoritetet (kurrë kusht për ndihmën)
field-Referral-attachments = Bashkëngjitjet
field-Referral-notes = Shënime
field-ReferralResponse-referral_message_id = Përgjigje ndaj referimit
field-ReferralResponse-decision = Vendimi
field-ReferralResponse-responsible_unit = Njësia përgjegjëse
field-ReferralResponse-reason = Arsyeja
field-ReferralResponse-missing_information = Informacioni që mungon
field-ReferralResponse-notes = Shënime
field-CourtTravelSupport-hearing_at_ms = Seanca gjyqësore
field-CourtTravelSupport-court = Gjykata
field-CourtTravelSupport-video_link = Dëshmon me lidhje video
field-CourtTravelSupport-tickets = Biletat
field-CourtTravelSupport-lawyer = Avokati
field-CourtTravelSupport-met_by = Pritet në mbërritje nga
field-CourtTravelSupport-accommodation = Akomodimi
field-CaseUpdate-status = Gjendja
field-CaseUpdate-services_delivered = Shërbimet e ofruara
field-CaseUpdate-court_date_ms = Data e gjyqit
field-CaseUpdate-court_travel = Udhëtimi për në gjykatë
field-CaseUpdate-outcome = Rezultati
field-CaseUpdate-notes = Shënime
field-CaseUpdate-closed_items = Mbyll
field-ReferralSupplement-referral_message_id = Plotëson referimin
field-ReferralSupplement-answers = Informacioni i dhënë
field-ReferralSupplement-attachments = Bashkëngjitjet
field-ReferralSupplement-notes = Shënime
field-SuppliedItem-missing_information = Informacioni që mungon
field-SuppliedItem-answer = Përgjigja
field-InfoRequest-requesting_authority = Autoriteti kërkues
field-InfoRequest-legal_basis = Baza ligjore
field-InfoRequest-own_reference = Referenca e tyre
field-InfoRequest-purpose = Qëllimi
field-InfoRequest-categories = Informacion për
field-InfoRequest-deadline_ms = Përgjigje deri më
field-InfoRequest-handling_code = Kodi i trajtimit
field-InfoRequest-handling_restrictions = Kufizimet e trajtimit
field-InfoRequest-questions = Pyetjet
field-InfoResponse-request_message_id = Përgjigje ndaj kërkesës
field-InfoResponse-information = Informacioni
field-InfoResponse-source_reliability = Besueshmëria e burimit
field-InfoResponse-accuracy = Saktësia e informacionit
field-InfoResponse-refusal_reason = Refuzuar sepse
field-InfoResponse-refusal_text = Shpjegimi i refuzimit
field-InfoResponse-handling_code = Kodi i trajtimit
field-InfoResponse-handling_restrictions = Kufizimet e trajtimit
field-InfoResponse-consent = Pëlqimi
field-InfoResponse-attachments = Bashkëngjitjet
field-Reception-met_by = Pritet nga
field-Reception-meeting_point = Vendi i takimit
field-Reception-services_on_arrival = Shërbimet në mbërritje
field-ReturnRequest-voluntary_return_consent = Pranon kthimin
field-ReturnRequest-pre_return_risk_assessment = Vlerësimi i rrezikut para kthimit
field-ReturnRequest-travel_date_ms = Data e udhëtimit
field-ReturnRequest-route = Itinerari
field-ReturnRequest-means = Mjeti i udhëtimit
field-ReturnRequest-escort = Shoqërimi
field-ReturnRequest-documents_status = Dokumentet e udhëtimit
field-ReturnRequest-reception_wanted = Kërkohet pritje
field-ReturnRequest-family_assessment = Vlerësimi i familjes
field-ReturnRequest-child = Fëmijë
field-ReturnRequest-guardian = Kujdestari
field-ReturnRequest-best_interest_determination = Përcaktimi i interesit më të lartë të fëmijës
field-ReturnRequest-consent = Pëlqimi
field-ReturnRequest-notes = Shënime
field-ReturnConfirmation-return_request_message_id = Konfirmon kërkesën për kthim
field-ReturnConfirmation-reception = Pritja
field-ReturnConfirmation-notes = Shënime
field-FollowUp-return_request_message_id = Ndjekje e kërkesës për kthim
field-FollowUp-months_after_return = Koha pas kthimit
field-FollowUp-reintegration_status = Gjendja e riintegrimit
field-FollowUp-services_received = Shërbimet e marra
field-FollowUp-contact_maintained = Kontakti u ruajt
field-FollowUp-outcome = Rezultati
field-FollowUp-notes = Shënime
field-ConsentWithdrawal-withdrawn_at_ms = Tërhequr më
field-ConsentWithdrawal-recorded_by_role = Regjistruar nga (roli)
field-ConsentWithdrawal-notes = Shënime
field-WitnessRequest-purpose = Qëllimi

## What codes mean

code-VictimStatus-VICTIM_STATUS_POTENTIAL = viktimë e mundshme
code-VictimStatus-VICTIM_STATUS_PRESUMED = viktimë e supozuar
code-VictimStatus-VICTIM_STATUS_IDENTIFIED = viktimë e identifikuar
code-ExploitationType-EXPLOITATION_TYPE_SEXUAL = shfrytëzim seksual
code-ExploitationType-EXPLOITATION_TYPE_LABOUR = shfrytëzim në punë
code-ExploitationType-EXPLOITATION_TYPE_FORCED_BEGGING = lypje e detyruar
code-ExploitationType-EXPLOITATION_TYPE_FORCED_CRIMINALITY = kryerje e detyruar e veprave penale
code-ExploitationType-EXPLOITATION_TYPE_FORCED_MARRIAGE = martesë e detyruar
code-ExploitationType-EXPLOITATION_TYPE_DOMESTIC_SERVITUDE = shërbim i detyruar shtëpiak
code-ExploitationType-EXPLOITATION_TYPE_ORGAN_REMOVAL = heqje organesh
code-ExploitationType-EXPLOITATION_TYPE_ILLEGAL_ADOPTION = birësim i paligjshëm
code-ExploitationType-EXPLOITATION_TYPE_OTHER = formë tjetër shfrytëzimi
code-Need-NEED_SHELTER = strehim
code-Need-NEED_MEDICAL = kujdes mjekësor
code-Need-NEED_PSYCHOSOCIAL = mbështetje psikosociale
code-Need-NEED_LEGAL_AID = ndihmë juridike
code-Need-NEED_DOCUMENTS = dokumente identiteti ose udhëtimi
code-Need-NEED_INTERPRETATION = përkthim
code-Need-NEED_RETURN = kthim i asistuar
code-Need-NEED_COMPENSATION_CLAIM = kërkesë për dëmshpërblim
code-Need-NEED_FAMILY_ASSESSMENT = vlerësim i familjes
code-RiskLevel-RISK_LEVEL_LOW = i ulët
code-RiskLevel-RISK_LEVEL_MEDIUM = i mesëm
code-RiskLevel-RISK_LEVEL_HIGH = i lartë
code-Sex-SEX_FEMALE = femër
code-Sex-SEX_MALE = mashkull
code-Sex-SEX_OTHER = tjetër
code-HandlingCode-HANDLING_CODE_H0 = H0: të përdoret vetëm për qëllimin e deklaruar
code-HandlingCode-HANDLING_CODE_H1 = H1: të mos përdoret në procedura gjyqësore pa lejen e ofruesit
code-HandlingCode-HANDLING_CODE_H2 = H2: të mos përcillet pa lejen e ofruesit
code-HandlingCode-HANDLING_CODE_H3 = H3: kufizime të tjera, të deklaruara bashkë me të
code-ReferralResponse-Decision-DECISION_ACCEPTED = pranuar
code-ReferralResponse-Decision-DECISION_DECLINED = refuzuar
code-ReferralResponse-Decision-DECISION_NEEDS_INFORMATION = nevojitet më shumë informacion
code-CaseOutcome-CASE_OUTCOME_INTEGRATED_IN_DESTINATION = integruar në vendin e destinacionit
code-CaseOutcome-CASE_OUTCOME_REINTEGRATED_IN_ORIGIN = riintegruar në vendin e origjinës
code-CaseOutcome-CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY = zhvendosur në një vend të tretë
code-CaseOutcome-CASE_OUTCOME_CONTACT_LOST = kontakti humbi
code-InvestigationPurpose-INVESTIGATION_PURPOSE_PRELIMINARY = hetim paraprak
code-InvestigationPurpose-INVESTIGATION_PURPOSE_CRIMINAL = hetim penal
code-InformationCategory-INFORMATION_CATEGORY_VICTIM = viktima
code-InformationCategory-INFORMATION_CATEGORY_PERPETRATOR = autori
code-SourceReliability-SOURCE_RELIABILITY_A = A: asnjë dyshim për vërtetësinë, besueshmërinë dhe kompetencën
code-SourceReliability-SOURCE_RELIABILITY_B = B: në shumicën e rasteve është treguar i besueshëm
code-SourceReliability-SOURCE_RELIABILITY_C = C: në shumicën e rasteve është treguar jo i besueshëm
code-SourceReliability-SOURCE_RELIABILITY_X = X: besueshmëria nuk mund të vlerësohet
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_CONSENT = pa pëlqim
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_LEGAL_BASIS = pa bazë ligjore
code-InfoRefusalReason-INFO_REFUSAL_REASON_OTHER = arsye tjetër, e shpjeguar
code-InfoResponse-accuracy-1 = 1: saktësia nuk vihet në dyshim
code-InfoResponse-accuracy-2 = 2: e njohur personalisht nga burimi, jo nga zyrtari që e përcjell
code-InfoResponse-accuracy-3 = 3: jo e njohur personalisht nga burimi, e vërtetuar nga informacion që disponohet tashmë
code-InfoResponse-accuracy-4 = 4: jo e njohur personalisht nga burimi dhe nuk mund të vërtetohet
code-Referral-indicators-deceptive-recruitment = rekrutim mashtrues
code-Referral-indicators-debt-bondage = skllavëri për shkak të borxhit
code-Referral-indicators-document-retention = dokumente identiteti ose udhëtimi të mbajtura nga të tjerë
code-Referral-indicators-restricted-movement = liri lëvizjeje e kufizuar
code-Referral-indicators-isolation = izolim nga familja dhe të tjerët
code-Referral-indicators-physical-or-sexual-violence = dhunë fizike ose seksuale
code-Referral-indicators-threats = kërcënime ndaj personit ose familjes së tij
code-Referral-indicators-threat-of-denunciation = kërcënim me denoncim te autoritetet
code-Referral-indicators-withheld-wages = paga e mbajtur ose e papaguar
code-Referral-indicators-excessive-hours = orë pune të tepërta
code-Referral-indicators-degrading-conditions = kushte poshtëruese jetese ose pune
code-Referral-indicators-abuse-of-vulnerability = abuzim me pozitën e cenueshmërisë
code-unknown = kodi { $n }, i panjohur për këtë version

## Message kinds (lower case: the view capitalises a title)

kind-referral = referim
kind-referral_response = përgjigje ndaj referimit
kind-information_supplied = informacion i dhënë për referimin
kind-case_update = përditësim i rastit
kind-info_request = kërkesë për informacion
kind-info_response = përgjigje ndaj kërkesës për informacion
kind-return_request = kërkesë për ndihmë në kthim
kind-return_confirmation = konfirmim i kthimit
kind-follow_up = ndjekje pas kthimit
kind-consent_withdrawal = tërheqje e pëlqimit
kind-witness_request = kërkesë për dëshmimin e regjistrit të dorëzimeve

## Counts

unit-byte =
    { $n ->
        [one] { $n } bajt
       *[other] { $n } bajte
    }
unit-day =
    { $n ->
        [one] { $n } ditë
       *[other] { $n } ditë
    }
unit-hour =
    { $n ->
        [one] { $n } orë
       *[other] { $n } orë
    }
unit-month =
    { $n ->
        [one] { $n } muaj
       *[other] { $n } muaj
    }
unit-year =
    { $n ->
        [one] { $n } vit
       *[other] { $n } vjet
    }

## Priorities

priority-routine = rutinë
priority-urgent = urgjent
priority-immediate = i menjëhershëm
priority-meaning = { $priority }: afati i përgjigjes ndaj një referimi është { $span }

## The header of a message

header-kind = Lloji
header-priority = Prioriteti
header-from = Nga
header-to = Për
header-created = Vulosur
header-case_ref = Rasti
header-message_id = ID e mesazhit
header-handling_notice = Trajtimi

## What a handling code asks of the reader

notice-H0 = H0: të përdoret vetëm për qëllimin për të cilin u dha
notice-H1 = H1: JO PËR PËRDORIM GJYQËSOR: të mos përdoret në procedura gjyqësore pa lejen e { $provider }
notice-H2 = H2: të mos përcillet pa lejen e { $provider }; kjo nyje refuzon ta dërgojë te një organizatë tjetër
notice-H3 = H3: { $restrictions }

## Case items, their states, and the steps of a sent message's evidence

item-referral = referim
item-information_request = kërkesë për informacion
item-return = kthim
state-sent = dërguar
state-delivered =
    { $direction ->
        [outgoing] dorëzuar te partneri
       *[incoming] marrë, ende pa përgjigje
    }
state-rejected = hedhur poshtë
state-accepted =
    { $direction ->
        [outgoing] pranuar nga partneri
       *[incoming] pranuar nga ju
    }
state-declined =
    { $direction ->
        [outgoing] refuzuar nga partneri
       *[incoming] refuzuar nga ju
    }
state-needs_information =
    { $direction ->
        [outgoing] partneri ka nevojë për më shumë informacion
       *[incoming] kërkuat më shumë informacion
    }
state-information_supplied = informacioni u dha
state-closed = mbyllur
state-open = hapur
state-answered = përgjigjur
state-refused = refuzuar
state-requested = kërkuar
state-confirmed = konfirmuar
state-travelled = udhëtimi u krye
state-followed_up = ndjekur
step-submitted = vulosur
step-accepted = ruajtur te ndërmjetësi
step-relayed = përcjellë
step-delivered = dorëzuar
step-rejected = hedhur poshtë
step-expired = skaduar
step-answered = përgjigjur
step-unknown = e panjohur

## Other words

bool-yes = po
bool-no = jo
language-not-stated = gjuha nuk është deklaruar
