# Reči strukturiranog prikaza na srpskom (latinica). Iste oznake kao en/view.ftl.
# Prevod treba da pregleda izvorni govornik.

## Field labels

field-ConsentRecord-given = Pristanak dat
field-ConsentRecord-scope = Obim
field-ConsentRecord-obtained_by_role = Pribavio (uloga)
field-ConsentRecord-obtained_at_ms = Pribavljen
field-ConsentRecord-language = Objašnjeno na jeziku
field-ConsentRecord-interpreter_used = Korišćen prevodilac
field-ConsentRecord-guardian_consent = Staratelj dao pristanak
field-ConsentRecord-child_view = Mišljenje samog deteta
field-ConsentRecord-override_legal_basis = Pravni osnov bez pristanka
field-PersonData-given_name = Ime
field-PersonData-family_name = Prezime
field-PersonData-age_years = Uzrast
field-PersonData-date_of_birth = Datum rođenja
field-PersonData-sex = Pol
field-PersonData-nationality = Državljanstvo
field-PersonData-languages = Jezici
field-PersonData-interpreter_needed = Potreban prevodilac
field-PersonData-literate = Ume da čita i piše
field-Guardian-appointed_by = Postavio
field-Guardian-role = Uloga
field-Guardian-contact_via = Kontakt preko
field-RiskAssessment-level = Nivo rizika
field-RiskAssessment-assessed_by = Procenu izvršio
field-RiskAssessment-assessed_at_ms = Procenjeno
field-RiskAssessment-summary = Sažetak
field-Attachment-file_name = Naziv datoteke
field-Attachment-media_type = Vrsta sadržaja
field-Attachment-content = Sadržaj
field-Attachment-sha256 = SHA-256
field-Referral-victim_status = Status žrtve
field-Referral-status_designated_by = Status utvrdio
field-Referral-status_designated_at_ms = Status utvrđen
field-Referral-exploitation_types = Eksploatacija
field-Referral-person = Osoba
field-Referral-child = Dete
field-Referral-unaccompanied = Bez pratnje
field-Referral-guardian = Staratelj
field-Referral-indicators = Indikatori
field-Referral-indicator_list_version = Verzija liste indikatora
field-Referral-risk_assessment = Procena rizika
field-Referral-needs = Potrebe
field-Referral-services_given = Već pružene usluge
field-Referral-consent = Pristanak
field-Referral-handling_code = Kod postupanja
field-Referral-handling_restrictions = Ograničenja postupanja
field-Referral-cooperates_with_authorities = Sarađuje sa nadležnim organima (nikada uslov za pomoć)
field-Referral-attachments = Prilozi
field-Referral-notes = Napomene
field-ReferralResponse-referral_message_id = Odgovor na upućivanje
field-ReferralResponse-decision = Odluka
field-ReferralResponse-responsible_unit = Nadležna jedinica
field-ReferralResponse-reason = Razlog
field-ReferralResponse-missing_information = Nedostajući podaci
field-ReferralResponse-notes = Napomene
field-CourtTravelSupport-hearing_at_ms = Ročište
field-CourtTravelSupport-court = Sud
field-CourtTravelSupport-video_link = Svedoči putem video-veze
field-CourtTravelSupport-tickets = Karte
field-CourtTravelSupport-lawyer = Advokat
field-CourtTravelSupport-met_by = Po dolasku dočekuje
field-CourtTravelSupport-accommodation = Smeštaj
field-CaseUpdate-status = Stanje
field-CaseUpdate-services_delivered = Pružene usluge
field-CaseUpdate-court_date_ms = Datum suđenja
field-CaseUpdate-court_travel = Put na sud
field-CaseUpdate-outcome = Ishod
field-CaseUpdate-notes = Napomene
field-CaseUpdate-closed_items = Zatvara
field-ReferralSupplement-referral_message_id = Dopunjuje upućivanje
field-ReferralSupplement-answers = Dostavljeni podaci
field-ReferralSupplement-attachments = Prilozi
field-ReferralSupplement-notes = Napomene
field-SuppliedItem-missing_information = Nedostajući podaci
field-SuppliedItem-answer = Odgovor
field-InfoRequest-requesting_authority = Organ koji traži podatke
field-InfoRequest-legal_basis = Pravni osnov
field-InfoRequest-own_reference = Njihov broj predmeta
field-InfoRequest-purpose = Svrha
field-InfoRequest-categories = Podaci o
field-InfoRequest-deadline_ms = Odgovor do
field-InfoRequest-handling_code = Kod postupanja
field-InfoRequest-handling_restrictions = Ograničenja postupanja
field-InfoRequest-questions = Pitanja
field-InfoResponse-request_message_id = Odgovor na zahtev
field-InfoResponse-information = Podaci
field-InfoResponse-source_reliability = Pouzdanost izvora
field-InfoResponse-accuracy = Tačnost informacije
field-InfoResponse-refusal_reason = Odbijeno zbog
field-InfoResponse-refusal_text = Obrazloženje odbijanja
field-InfoResponse-handling_code = Kod postupanja
field-InfoResponse-handling_restrictions = Ograničenja postupanja
field-InfoResponse-consent = Pristanak
field-InfoResponse-attachments = Prilozi
field-Reception-met_by = Dočekuje
field-Reception-meeting_point = Mesto susreta
field-Reception-services_on_arrival = Usluge po dolasku
field-ReturnRequest-voluntary_return_consent = Pristaje na povratak
field-ReturnRequest-pre_return_risk_assessment = Procena rizika pre povratka
field-ReturnRequest-travel_date_ms = Datum putovanja
field-ReturnRequest-route = Ruta
field-ReturnRequest-means = Prevozno sredstvo
field-ReturnRequest-escort = Pratnja
field-ReturnRequest-documents_status = Putne isprave
field-ReturnRequest-reception_wanted = Potreban doček
field-ReturnRequest-family_assessment = Procena porodice
field-ReturnRequest-child = Dete
field-ReturnRequest-guardian = Staratelj
field-ReturnRequest-best_interest_determination = Utvrđivanje najboljeg interesa deteta
field-ReturnRequest-consent = Pristanak
field-ReturnRequest-notes = Napomene
field-ReturnConfirmation-return_request_message_id = Potvrđuje zahtev za povratak
field-ReturnConfirmation-reception = Doček
field-ReturnConfirmation-notes = Napomene
field-FollowUp-return_request_message_id = Praćenje po zahtevu za povratak
field-FollowUp-months_after_return = Vreme od povratka
field-FollowUp-reintegration_status = Stanje reintegracije
field-FollowUp-services_received = Primljene usluge
field-FollowUp-contact_maintained = Kontakt održan
field-FollowUp-outcome = Ishod
field-FollowUp-notes = Napomene
field-ConsentWithdrawal-withdrawn_at_ms = Povučen
field-ConsentWithdrawal-recorded_by_role = Evidentirao (uloga)
field-ConsentWithdrawal-notes = Napomene
field-WitnessRequest-purpose = Svrha

## What codes mean

code-VictimStatus-VICTIM_STATUS_POTENTIAL = potencijalna žrtva
code-VictimStatus-VICTIM_STATUS_PRESUMED = pretpostavljena žrtva
code-VictimStatus-VICTIM_STATUS_IDENTIFIED = identifikovana žrtva
code-ExploitationType-EXPLOITATION_TYPE_SEXUAL = seksualna eksploatacija
code-ExploitationType-EXPLOITATION_TYPE_LABOUR = radna eksploatacija
code-ExploitationType-EXPLOITATION_TYPE_FORCED_BEGGING = prinudno prosjačenje
code-ExploitationType-EXPLOITATION_TYPE_FORCED_CRIMINALITY = prinudno vršenje krivičnih dela
code-ExploitationType-EXPLOITATION_TYPE_FORCED_MARRIAGE = prinudni brak
code-ExploitationType-EXPLOITATION_TYPE_DOMESTIC_SERVITUDE = služenje u domaćinstvu
code-ExploitationType-EXPLOITATION_TYPE_ORGAN_REMOVAL = uklanjanje organa
code-ExploitationType-EXPLOITATION_TYPE_ILLEGAL_ADOPTION = nezakonito usvojenje
code-ExploitationType-EXPLOITATION_TYPE_OTHER = drugi oblik eksploatacije
code-Need-NEED_SHELTER = sklonište
code-Need-NEED_MEDICAL = zdravstvena zaštita
code-Need-NEED_PSYCHOSOCIAL = psihosocijalna podrška
code-Need-NEED_LEGAL_AID = pravna pomoć
code-Need-NEED_DOCUMENTS = lična ili putna isprava
code-Need-NEED_INTERPRETATION = prevođenje
code-Need-NEED_RETURN = potpomognuti povratak
code-Need-NEED_COMPENSATION_CLAIM = zahtev za naknadu štete
code-Need-NEED_FAMILY_ASSESSMENT = procena porodice
code-RiskLevel-RISK_LEVEL_LOW = nizak
code-RiskLevel-RISK_LEVEL_MEDIUM = srednji
code-RiskLevel-RISK_LEVEL_HIGH = visok
code-Sex-SEX_FEMALE = ženski
code-Sex-SEX_MALE = muški
code-Sex-SEX_OTHER = drugo
code-HandlingCode-HANDLING_CODE_H0 = H0: koristiti samo u navedenu svrhu
code-HandlingCode-HANDLING_CODE_H1 = H1: ne koristiti u sudskom postupku bez dozvole davaoca
code-HandlingCode-HANDLING_CODE_H2 = H2: ne prosleđivati bez dozvole davaoca
code-HandlingCode-HANDLING_CODE_H3 = H3: druga ograničenja, navedena uz kod
code-ReferralResponse-Decision-DECISION_ACCEPTED = prihvaćeno
code-ReferralResponse-Decision-DECISION_DECLINED = odbijeno
code-ReferralResponse-Decision-DECISION_NEEDS_INFORMATION = potrebno je još podataka
code-CaseOutcome-CASE_OUTCOME_INTEGRATED_IN_DESTINATION = integracija u zemlji odredišta
code-CaseOutcome-CASE_OUTCOME_REINTEGRATED_IN_ORIGIN = reintegracija u zemlji porekla
code-CaseOutcome-CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY = preseljenje u treću zemlju
code-CaseOutcome-CASE_OUTCOME_CONTACT_LOST = kontakt izgubljen
code-InvestigationPurpose-INVESTIGATION_PURPOSE_PRELIMINARY = predistražni postupak
code-InvestigationPurpose-INVESTIGATION_PURPOSE_CRIMINAL = krivična istraga
code-InformationCategory-INFORMATION_CATEGORY_VICTIM = žrtva
code-InformationCategory-INFORMATION_CATEGORY_PERPETRATOR = izvršilac
code-SourceReliability-SOURCE_RELIABILITY_A = A: nema sumnje u autentičnost, pouzdanost i stručnost
code-SourceReliability-SOURCE_RELIABILITY_B = B: u većini slučajeva se pokazao pouzdanim
code-SourceReliability-SOURCE_RELIABILITY_C = C: u većini slučajeva se pokazao nepouzdanim
code-SourceReliability-SOURCE_RELIABILITY_X = X: pouzdanost se ne može proceniti
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_CONSENT = nema pristanka
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_LEGAL_BASIS = nema pravnog osnova
code-InfoRefusalReason-INFO_REFUSAL_REASON_OTHER = drugi razlog, obrazložen
code-InfoResponse-accuracy-1 = 1: tačnost nije sporna
code-InfoResponse-accuracy-2 = 2: izvoru lično poznato, ali ne i službeniku koji je prosleđuje
code-InfoResponse-accuracy-3 = 3: izvoru nije lično poznato, potvrđeno podacima koji već postoje
code-InfoResponse-accuracy-4 = 4: izvoru nije lično poznato i ne može se potvrditi
code-Referral-indicators-deceptive-recruitment = obmanjujuće vrbovanje
code-Referral-indicators-debt-bondage = dužničko ropstvo
code-Referral-indicators-document-retention = zadržana lična ili putna isprava
code-Referral-indicators-restricted-movement = ograničena sloboda kretanja
code-Referral-indicators-isolation = izolacija od porodice i drugih
code-Referral-indicators-physical-or-sexual-violence = fizičko ili seksualno nasilje
code-Referral-indicators-threats = pretnje osobi ili njenoj porodici
code-Referral-indicators-threat-of-denunciation = pretnja prijavom vlastima
code-Referral-indicators-withheld-wages = zarada zadržana ili neisplaćena
code-Referral-indicators-excessive-hours = prekomerno radno vreme
code-Referral-indicators-degrading-conditions = ponižavajući uslovi života ili rada
code-Referral-indicators-abuse-of-vulnerability = zloupotreba teškog položaja ili ranjivosti
code-unknown = kod { $n }, nepoznat ovoj verziji

## Message kinds (lower case: the view capitalises a title)

kind-referral = upućivanje
kind-referral_response = odgovor na upućivanje
kind-information_supplied = podaci dostavljeni uz upućivanje
kind-case_update = ažuriranje slučaja
kind-info_request = zahtev za informacije
kind-info_response = odgovor na zahtev za informacije
kind-return_request = zahtev za pomoć pri povratku
kind-return_confirmation = potvrda povratka
kind-follow_up = praćenje nakon povratka
kind-consent_withdrawal = povlačenje pristanka
kind-witness_request = zahtev za overu dnevnika predaje

## Counts

unit-byte =
    { $n ->
        [one] { $n } bajt
        [few] { $n } bajta
       *[other] { $n } bajtova
    }
unit-day =
    { $n ->
        [one] { $n } dan
        [few] { $n } dana
       *[other] { $n } dana
    }
unit-hour =
    { $n ->
        [one] { $n } sat
        [few] { $n } sata
       *[other] { $n } sati
    }
unit-month =
    { $n ->
        [one] { $n } mesec
        [few] { $n } meseca
       *[other] { $n } meseci
    }
unit-year =
    { $n ->
        [one] { $n } godina
        [few] { $n } godine
       *[other] { $n } godina
    }

## Priorities

priority-routine = redovan
priority-urgent = hitan
priority-immediate = neodložan
priority-meaning = { $priority }: na upućivanje se odgovara u roku od { $span }

## The header of a message

header-kind = Vrsta
header-priority = Prioritet
header-from = Od
header-to = Za
header-created = Zapečaćeno
header-case_ref = Slučaj
header-message_id = ID poruke
header-handling_notice = Postupanje

## What a handling code asks of the reader

notice-H0 = H0: koristiti samo u svrhu u koju je dostavljeno
notice-H1 = H1: NIJE ZA SUDSKU UPOTREBU: ne koristiti u sudskom postupku bez dozvole organizacije { $provider }
notice-H2 = H2: ne prosleđivati bez dozvole organizacije { $provider }; ovaj čvor odbija da ga pošalje drugoj organizaciji
notice-H3 = H3: { $restrictions }

## Case items, their states, and the steps of a sent message's evidence

item-referral = upućivanje
item-information_request = zahtev za informacije
item-return = povratak
state-sent = poslato
state-delivered =
    { $direction ->
        [outgoing] dostavljeno partneru
       *[incoming] primljeno, još bez odgovora
    }
state-rejected = odbačeno
state-accepted =
    { $direction ->
        [outgoing] partner prihvatio
       *[incoming] vi ste prihvatili
    }
state-declined =
    { $direction ->
        [outgoing] partner odbio
       *[incoming] vi ste odbili
    }
state-needs_information =
    { $direction ->
        [outgoing] partneru treba još podataka
       *[incoming] tražili ste još podataka
    }
state-information_supplied = podaci dostavljeni
state-closed = zatvoreno
state-open = otvoreno
state-answered = odgovoreno
state-refused = odbijeno
state-requested = zatraženo
state-confirmed = potvrđeno
state-travelled = putovanje obavljeno
state-followed_up = praćenje obavljeno
step-submitted = zapečaćeno
step-accepted = sačuvano kod brokera
step-relayed = prosleđeno
step-delivered = dostavljeno
step-rejected = odbačeno
step-expired = isteklo
step-answered = odgovoreno
step-unknown = nepoznato

## Other words

bool-yes = da
bool-no = ne
language-not-stated = jezik nije naveden
