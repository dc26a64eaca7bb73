# Die Wörter der strukturierten Ansicht auf Deutsch. Dieselben Kennungen wie en/view.ftl.
# Übersetzung: bitte von Muttersprachler·innen prüfen lassen.

## Field labels

field-ConsentRecord-given = Einwilligung erteilt
field-ConsentRecord-scope = Umfang
field-ConsentRecord-obtained_by_role = Eingeholt von (Funktion)
field-ConsentRecord-obtained_at_ms = Eingeholt am
field-ConsentRecord-language = Erklärt in der Sprache
field-ConsentRecord-interpreter_used = Dolmetschung genutzt
field-ConsentRecord-guardian_consent = Vormund hat eingewilligt
field-ConsentRecord-child_view = Die eigene Sicht des Kindes
field-ConsentRecord-override_legal_basis = Rechtsgrundlage ohne Einwilligung
field-PersonData-given_name = Vorname
field-PersonData-family_name = Familienname
field-PersonData-age_years = Alter
field-PersonData-date_of_birth = Geburtsdatum
field-PersonData-sex = Geschlecht
field-PersonData-nationality = Staatsangehörigkeit
field-PersonData-languages = Sprachen
field-PersonData-interpreter_needed = Dolmetschung benötigt
field-PersonData-literate = Kann lesen und schreiben
field-Guardian-appointed_by = Bestellt durch
field-Guardian-role = Funktion
field-Guardian-contact_via = Kontakt über
field-RiskAssessment-level = Risikostufe
field-RiskAssessment-assessed_by = Eingeschätzt von
field-RiskAssessment-assessed_at_ms = Eingeschätzt am
field-RiskAssessment-summary = Zusammenfassung
field-Attachment-file_name = Dateiname
field-Attachment-media_type = Medientyp
field-Attachment-content = Inhalt
field-Attachment-sha256 = SHA-256
field-Referral-victim_status = Opferstatus
field-Referral-status_designated_by = Status festgestellt von
field-Referral-status_designated_at_ms = Status festgestellt am
field-Referral-exploitation_types = Ausbeutung
field-Referral-person = Person
field-Referral-child = Kind
field-Referral-unaccompanied = Unbegleitet
field-Referral-guardian = Vormund
field-Referral-indicators = Indikatoren
field-Referral-indicator_list_version = Version der Indikatorenliste
field-Referral-risk_assessment = Risikoeinschätzung
field-Referral-needs = Bedarfe
field-Referral-services_given = Bereits erbrachte Leistungen
field-Referral-consent = Einwilligung
field-Referral-handling_code = Handhabungscode
field-Referral-handling_restrictions = Handhabungsbeschränkungen
field-Referral-cooperates_with_authorities = Kooperiert mit den Behörden (nie eine Bedingung für Unterstützung)
field-Referral-attachments = Anhänge
field-Referral-notes = Anmerkungen
field-ReferralResponse-referral_message_id = Antwort auf die Zuweisung
field-ReferralResponse-decision = Entscheidung
field-ReferralResponse-responsible_unit = Zuständige Stelle
field-ReferralResponse-reason = Begründung
field-ReferralResponse-missing_information = Fehlende Angaben
field-ReferralResponse-notes = Anmerkungen
field-CourtTravelSupport-hearing_at_ms = Verhandlung
field-CourtTravelSupport-court = Gericht
field-CourtTravelSupport-video_link = Aussage per Videoverbindung
field-CourtTravelSupport-tickets = Fahrkarten
field-CourtTravelSupport-lawyer = Rechtsbeistand
field-CourtTravelSupport-met_by = Bei der Ankunft abgeholt von
field-CourtTravelSupport-accommodation = Unterkunft
field-CaseUpdate-status = Stand
field-CaseUpdate-services_delivered = Erbrachte Leistungen
field-CaseUpdate-court_date_ms = Gerichtstermin
field-CaseUpdate-court_travel = Reise zum Gericht
field-CaseUpdate-outcome = Ergebnis
field-CaseUpdate-notes = Anmerkungen
field-CaseUpdate-closed_items = Schließt ab
field-ReferralSupplement-referral_message_id = Ergänzt die Zuweisung
field-ReferralSupplement-answers = Nachgereichte Angaben
field-ReferralSupplement-attachments = Anhänge
field-ReferralSupplement-notes = Anmerkungen
field-SuppliedItem-missing_information = Fehlende Angaben
field-SuppliedItem-answer = Antwort
field-InfoRequest-requesting_authority = Ersuchende Behörde
field-InfoRequest-legal_basis = Rechtsgrundlage
field-InfoRequest-own_reference = Deren Aktenzeichen
field-InfoRequest-purpose = Zweck
field-InfoRequest-categories = Angaben über
field-InfoRequest-deadline_ms = Antwort bis
field-InfoRequest-handling_code = Handhabungscode
field-InfoRequest-handling_restrictions = Handhabungsbeschränkungen
field-InfoRequest-questions = Fragen
field-InfoResponse-request_message_id = Antwort auf das Ersuchen
field-InfoResponse-information = Auskunft
field-InfoResponse-source_reliability = Zuverlässigkeit der Quelle
field-InfoResponse-accuracy = Richtigkeit der Information
field-InfoResponse-refusal_reason = Verweigert, weil
field-InfoResponse-refusal_text = Begründung der Verweigerung
field-InfoResponse-handling_code = Handhabungscode
field-InfoResponse-handling_restrictions = Handhabungsbeschränkungen
field-InfoResponse-consent = Einwilligung
field-InfoResponse-attachments = Anhänge
field-Reception-met_by = Empfangen von
field-Reception-meeting_point = Treffpunkt
field-Reception-services_on_arrival = Leistungen bei der Ankunft
field-ReturnRequest-voluntary_return_consent = Willigt in die Rückkehr ein
field-ReturnRequest-pre_return_risk_assessment = Risikoeinschätzung vor der Rückkehr
field-ReturnRequest-travel_date_ms = Reisedatum
field-ReturnRequest-route = Reiseweg
field-ReturnRequest-means = Verkehrsmittel
field-ReturnRequest-escort = Begleitung
field-ReturnRequest-documents_status = Reisedokumente
field-ReturnRequest-reception_wanted = Empfang gewünscht
field-ReturnRequest-family_assessment = Einschätzung der Familie
field-ReturnRequest-child = Kind
field-ReturnRequest-guardian = Vormund
field-ReturnRequest-best_interest_determination = Feststellung des Kindeswohls
field-ReturnRequest-consent = Einwilligung
field-ReturnRequest-notes = Anmerkungen
field-ReturnConfirmation-return_request_message_id = Bestätigt das Rückkehrersuchen
field-ReturnConfirmation-reception = Empfang
field-ReturnConfirmation-notes = Anmerkungen
field-FollowUp-return_request_message_id = Nachbetreuung zum Rückkehrersuchen
field-FollowUp-months_after_return = Zeit nach der Rückkehr
field-FollowUp-reintegration_status = Stand der Reintegration
field-FollowUp-services_received = Erhaltene Leistungen
field-FollowUp-contact_maintained = Kontakt besteht weiter
field-FollowUp-outcome = Ergebnis
field-FollowUp-notes = Anmerkungen
field-ConsentWithdrawal-withdrawn_at_ms = Widerrufen am
field-ConsentWithdrawal-recorded_by_role = Erfasst von (Funktion)
field-ConsentWithdrawal-notes = Anmerkungen
field-WitnessRequest-purpose = Zweck

## What codes mean

code-VictimStatus-VICTIM_STATUS_POTENTIAL = mögliches Opfer
code-VictimStatus-VICTIM_STATUS_PRESUMED = mutmaßliches Opfer
code-VictimStatus-VICTIM_STATUS_IDENTIFIED = identifiziertes Opfer
code-ExploitationType-EXPLOITATION_TYPE_SEXUAL = sexuelle Ausbeutung
code-ExploitationType-EXPLOITATION_TYPE_LABOUR = Arbeitsausbeutung
code-ExploitationType-EXPLOITATION_TYPE_FORCED_BEGGING = erzwungenes Betteln
code-ExploitationType-EXPLOITATION_TYPE_FORCED_CRIMINALITY = erzwungene strafbare Handlungen
code-ExploitationType-EXPLOITATION_TYPE_FORCED_MARRIAGE = Zwangsheirat
code-ExploitationType-EXPLOITATION_TYPE_DOMESTIC_SERVITUDE = Ausbeutung im Haushalt
code-ExploitationType-EXPLOITATION_TYPE_ORGAN_REMOVAL = Organentnahme
code-ExploitationType-EXPLOITATION_TYPE_ILLEGAL_ADOPTION = illegale Adoption
code-ExploitationType-EXPLOITATION_TYPE_OTHER = andere Ausbeutung
code-Need-NEED_SHELTER = sichere Unterbringung
code-Need-NEED_MEDICAL = medizinische Versorgung
code-Need-NEED_PSYCHOSOCIAL = psychosoziale Unterstützung
code-Need-NEED_LEGAL_AID = rechtliche Unterstützung
code-Need-NEED_DOCUMENTS = Identitäts- oder Reisedokumente
code-Need-NEED_INTERPRETATION = Dolmetschung
code-Need-NEED_RETURN = unterstützte Rückkehr
code-Need-NEED_COMPENSATION_CLAIM = Entschädigungsanspruch
code-Need-NEED_FAMILY_ASSESSMENT = Einschätzung der Familie
code-RiskLevel-RISK_LEVEL_LOW = niedrig
code-RiskLevel-RISK_LEVEL_MEDIUM = mittel
code-RiskLevel-RISK_LEVEL_HIGH = hoch
code-Sex-SEX_FEMALE = weiblich
code-Sex-SEX_MALE = männlich
code-Sex-SEX_OTHER = divers
code-HandlingCode-HANDLING_CODE_H0 = H0: nur für den angegebenen Zweck zu verwenden
code-HandlingCode-HANDLING_CODE_H1 = H1: ohne Erlaubnis der übermittelnden Stelle nicht in Gerichtsverfahren zu verwenden
code-HandlingCode-HANDLING_CODE_H2 = H2: ohne Erlaubnis der übermittelnden Stelle nicht weiterzugeben
code-HandlingCode-HANDLING_CODE_H3 = H3: andere Beschränkungen, mit angegeben
code-ReferralResponse-Decision-DECISION_ACCEPTED = angenommen
code-ReferralResponse-Decision-DECISION_DECLINED = abgelehnt
code-ReferralResponse-Decision-DECISION_NEEDS_INFORMATION = weitere Angaben nötig
code-CaseOutcome-CASE_OUTCOME_INTEGRATED_IN_DESTINATION = im Zielland integriert
code-CaseOutcome-CASE_OUTCOME_REINTEGRATED_IN_ORIGIN = im Herkunftsland reintegriert
code-CaseOutcome-CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY = in ein Drittland umgesiedelt
code-CaseOutcome-CASE_OUTCOME_CONTACT_LOST = Kontakt verloren
code-InvestigationPurpose-INVESTIGATION_PURPOSE_PRELIMINARY = Vorerhebungen
code-InvestigationPurpose-INVESTIGATION_PURPOSE_CRIMINAL = strafrechtliche Ermittlungen
code-InformationCategory-INFORMATION_CATEGORY_VICTIM = das Opfer
code-InformationCategory-INFORMATION_CATEGORY_PERPETRATOR = die tatverdächtige Person
code-SourceReliability-SOURCE_RELIABILITY_A = A: keine Zweifel an Echtheit, Vertrauenswürdigkeit und Kompetenz
code-SourceReliability-SOURCE_RELIABILITY_B = B: hat sich in den meisten Fällen als zuverlässig erwiesen
code-SourceReliability-SOURCE_RELIABILITY_C = C: hat sich in den meisten Fällen als unzuverlässig erwiesen
code-SourceReliability-SOURCE_RELIABILITY_X = X: Zuverlässigkeit kann nicht beurteilt werden
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_CONSENT = keine Einwilligung
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_LEGAL_BASIS = keine Rechtsgrundlage
code-InfoRefusalReason-INFO_REFUSAL_REASON_OTHER = ein anderer Grund, erläutert
code-InfoResponse-accuracy-1 = 1: Richtigkeit steht außer Zweifel
code-InfoResponse-accuracy-2 = 2: der Quelle persönlich bekannt, nicht aber der weitergebenden Amtsperson
code-InfoResponse-accuracy-3 = 3: der Quelle nicht persönlich bekannt, durch bereits vorliegende Informationen bestätigt
code-InfoResponse-accuracy-4 = 4: der Quelle nicht persönlich bekannt und nicht bestätigbar
code-Referral-indicators-deceptive-recruitment = täuschende Anwerbung
code-Referral-indicators-debt-bondage = Schuldknechtschaft
code-Referral-indicators-document-retention = Ausweis- oder Reisedokumente einbehalten
code-Referral-indicators-restricted-movement = Bewegungsfreiheit eingeschränkt
code-Referral-indicators-isolation = Isolation von Familie und anderen
code-Referral-indicators-physical-or-sexual-violence = körperliche oder sexuelle Gewalt
code-Referral-indicators-threats = Drohungen gegen die Person oder ihre Familie
code-Referral-indicators-threat-of-denunciation = Drohung mit einer Anzeige bei den Behörden
code-Referral-indicators-withheld-wages = Lohn einbehalten oder nicht gezahlt
code-Referral-indicators-excessive-hours = übermäßige Arbeitszeiten
code-Referral-indicators-degrading-conditions = erniedrigende Lebens- oder Arbeitsbedingungen
code-Referral-indicators-abuse-of-vulnerability = Ausnutzung einer Zwangslage oder Schutzlosigkeit
code-unknown = Code { $n }, dieser Version unbekannt

## Message kinds (lower case: the view capitalises a title)

kind-referral = Zuweisung
kind-referral_response = Antwort auf eine Zuweisung
kind-information_supplied = nachgereichte Angaben zu einer Zuweisung
kind-case_update = Fallaktualisierung
kind-info_request = Auskunftsersuchen
kind-info_response = Antwort auf ein Auskunftsersuchen
kind-return_request = Ersuchen um Rückkehrunterstützung
kind-return_confirmation = Rückkehrbestätigung
kind-follow_up = Nachbetreuung nach der Rückkehr
kind-consent_withdrawal = Widerruf der Einwilligung
kind-witness_request = Ersuchen um Bezeugung des Übergabeprotokolls

## Counts

unit-byte =
    { $n ->
        [one] { $n } Byte
       *[other] { $n } Bytes
    }
unit-day =
    { $n ->
        [one] { $n } Tag
       *[other] { $n } Tage
    }
unit-hour =
    { $n ->
        [one] { $n } Stunde
       *[other] { $n } Stunden
    }
unit-month =
    { $n ->
        [one] { $n } Monat
       *[other] { $n } Monate
    }
unit-year =
    { $n ->
        [one] { $n } Jahr
       *[other] { $n } Jahre
    }

## Priorities

priority-routine = regulär
priority-urgent = dringend
priority-immediate = sofort
priority-meaning = { $priority }: Frist für die Antwort auf eine Zuweisung: { $span }

## The header of a message

header-kind = Art
header-priority = Priorität
header-from = Von
header-to = An
header-created = Versiegelt
header-case_ref = Fall
header-message_id = Nachrichten-ID
header-handling_notice = Handhabung

## What a handling code asks of the reader

notice-H0 = H0: nur für den Zweck zu verwenden, für den es übermittelt wurde
notice-H1 = H1: NICHT FÜR GERICHTLICHE ZWECKE: ohne Erlaubnis von { $provider } nicht in Gerichtsverfahren zu verwenden
notice-H2 = H2: ohne Erlaubnis von { $provider } nicht weiterzugeben; dieser Knoten verweigert das Senden an eine andere Organisation
notice-H3 = H3: { $restrictions }

## Case items, their states, and the steps of a sent message's evidence

item-referral = Zuweisung
item-information_request = Auskunftsersuchen
item-return = Rückkehr
state-sent = gesendet
state-delivered =
    { $direction ->
        [outgoing] der Partnerorganisation zugestellt
       *[incoming] erhalten, noch nicht beantwortet
    }
state-rejected = abgewiesen
state-accepted =
    { $direction ->
        [outgoing] von der Partnerorganisation angenommen
       *[incoming] von Ihnen angenommen
    }
state-declined =
    { $direction ->
        [outgoing] von der Partnerorganisation abgelehnt
       *[incoming] von Ihnen abgelehnt
    }
state-needs_information =
    { $direction ->
        [outgoing] die Partnerorganisation braucht weitere Angaben
       *[incoming] Sie haben weitere Angaben angefordert
    }
state-information_supplied = Angaben nachgereicht
state-closed = abgeschlossen
state-open = offen
state-answered = beantwortet
state-refused = verweigert
state-requested = ersucht
state-confirmed = bestätigt
state-travelled = zurückgereist
state-followed_up = nachbetreut
step-submitted = versiegelt
step-accepted = beim Broker gespeichert
step-relayed = weitergeleitet
step-delivered = zugestellt
step-rejected = abgewiesen
step-expired = abgelaufen
step-answered = beantwortet
step-unknown = unbekannt

## Other words

bool-yes = ja
bool-no = nein
language-not-stated = Sprache nicht angegeben
