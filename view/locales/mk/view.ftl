# Зборовите на структурираниот приказ на македонски (кирилица). Исти ознаки како en/view.ftl.
# Преводот треба да го прегледа мајчин говорител.

## Field labels

field-ConsentRecord-given = Дадена согласност
field-ConsentRecord-scope = Опсег
field-ConsentRecord-obtained_by_role = Прибавена од (улога)
field-ConsentRecord-obtained_at_ms = Прибавена на
field-ConsentRecord-language = Објаснето на јазик
field-ConsentRecord-interpreter_used = Користен преведувач
field-ConsentRecord-guardian_consent = Старателот се согласи
field-ConsentRecord-child_view = Мислењето на самото дете
field-ConsentRecord-override_legal_basis = Правна основа без согласност
field-PersonData-given_name = Име
field-PersonData-family_name = Презиме
field-PersonData-age_years = Возраст
field-PersonData-date_of_birth = Датум на раѓање
field-PersonData-sex = Пол
field-PersonData-nationality = Државјанство
field-PersonData-languages = Јазици
field-PersonData-interpreter_needed = Потребен преведувач
field-PersonData-literate = Знае да чита и пишува
field-Guardian-appointed_by = Назначен од
field-Guardian-role = Улога
field-Guardian-contact_via = Контакт преку
field-RiskAssessment-level = Ниво на ризик
field-RiskAssessment-assessed_by = Проценето од
field-RiskAssessment-assessed_at_ms = Проценето на
field-RiskAssessment-summary = Краток преглед
field-Attachment-file_name = Име на датотеката
field-Attachment-media_type = Вид на содржината
field-Attachment-content = Содржина
field-Attachment-sha256 = SHA-256
field-Referral-victim_status = Статус на жртва
field-Referral-status_designated_by = Статусот го утврди
field-Referral-status_designated_at_ms = Статусот утврден на
field-Referral-exploitation_types = Експлоатација
field-Referral-person = Лице
field-Referral-child = Дете
field-Referral-unaccompanied = Без придружба
field-Referral-guardian = Старател
field-Referral-indicators = Индикатори
field-Referral-indicator_list_version = Верзија на листата индикатори
field-Referral-risk_assessment = Процена на ризик
field-Referral-needs = Потреби
field-Referral-services_given = Веќе дадени услуги
field-Referral-consent = Согласност
field-Referral-handling_code = Код за постапување
field-Referral-handling_restrictions = Ограничувања за постапување
field-Referral-cooperates_with_authorities = Соработува со надлежните органи (никогаш услов за помош)
field-Referral-attachments = Прилози
field-Referral-notes = Белешки
field-ReferralResponse-referral_message_id = Одговор на упатувањето
field-ReferralResponse-decision = Одлука
field-ReferralResponse-responsible_unit = Надлежна единица
field-ReferralResponse-reason = Причина
field-ReferralResponse-missing_information = Податоци што недостасуваат
field-ReferralResponse-notes = Белешки
field-CourtTravelSupport-hearing_at_ms = Рочиште
field-CourtTravelSupport-court = Суд
field-CourtTravelSupport-video_link = Сведочи преку видеоврска
field-CourtTravelSupport-tickets = Билети
field-CourtTravelSupport-lawyer = Адвокат
field-CourtTravelSupport-met_by = При пристигнувањето пречекува
field-CourtTravelSupport-accommodation = Сместување
field-CaseUpdate-status = Состојба
field-CaseUpdate-services_delivered = Дадени услуги
field-CaseUpdate-court_date_ms = Датум на судење
field-CaseUpdate-court_travel = Патување до судот
field-CaseUpdate-outcome = Исход
field-CaseUpdate-notes = Белешки
field-CaseUpdate-closed_items = Затвора
field-ReferralSupplement-referral_message_id = Го дополнува упатувањето
field-ReferralSupplement-answers = Доставени податоци
field-ReferralSupplement-attachments = Прилози
field-ReferralSupplement-notes = Белешки
field-SuppliedItem-missing_information = Податоци што недостасуваат
field-SuppliedItem-answer = Одговор
field-InfoRequest-requesting_authority = Орган што бара податоци
field-InfoRequest-legal_basis = Правна основа
field-InfoRequest-own_reference = Нивен број на предмет
field-InfoRequest-purpose = Цел
field-InfoRequest-categories = Податоци за
field-InfoRequest-deadline_ms = Одговор до
field-InfoRequest-handling_code = Код за постапување
field-InfoRequest-handling_restrictions = Ограничувања за постапување
field-InfoRequest-questions = Прашања
field-InfoResponse-request_message_id = Одговор на барањето
field-InfoResponse-information = Податоци
field-InfoResponse-source_reliability = Веродостојност на изворот
field-InfoResponse-accuracy = Точност на информацијата
field-InfoResponse-refusal_reason = Одбиено поради
field-InfoResponse-refusal_text = Образложение за одбивањето
field-InfoResponse-handling_code = Код за постапување
field-InfoResponse-handling_restrictions = Ограничувања за постапување
field-InfoResponse-consent = Согласност
field-InfoResponse-attachments = Прилози
field-Reception-met_by = Пречекува
field-Reception-meeting_point = Место на средба
field-Reception-services_on_arrival = Услуги при пристигнувањето
field-ReturnRequest-voluntary_return_consent = Се согласува со враќањето
field-ReturnRequest-pre_return_risk_assessment = Процена на ризикот пред враќањето
field-ReturnRequest-travel_date_ms = Датум на патувањето
field-ReturnRequest-route = Маршрута
field-ReturnRequest-means = Превозно средство
field-ReturnRequest-escort = Придружба
field-ReturnRequest-documents_status = Патни исправи
field-ReturnRequest-reception_wanted = Потребен пречек
field-ReturnRequest-family_assessment = Процена на семејството
field-ReturnRequest-child = Дете
field-ReturnRequest-guardian = Старател
field-ReturnRequest-best_interest_determination = Утврдување на најдобриот интерес на детето
field-ReturnRequest-consent = Согласност
field-ReturnRequest-notes = Белешки
field-ReturnConfirmation-return_request_message_id = Го потврдува барањето за враќање
field-ReturnConfirmation-reception = Пречек
field-ReturnConfirmation-notes = Белешки
field-FollowUp-return_request_message_id = Следење по барањето за враќање
field-FollowUp-months_after_return = Време по враќањето
field-FollowUp-reintegration_status = Состојба на реинтеграцијата
field-FollowUp-services_received = Добиени услуги
field-FollowUp-contact_maintained = Контактот е одржан
field-FollowUp-outcome = Исход
field-FollowUp-notes = Белешки
field-ConsentWithdrawal-withdrawn_at_ms = Повлечена на
field-ConsentWithdrawal-recorded_by_role = Евидентирал (улога)
field-ConsentWithdrawal-notes = Белешки
field-WitnessRequest-purpose = Цел

## What codes mean

code-VictimStatus-VICTIM_STATUS_POTENTIAL = потенцијална жртва
code-VictimStatus-VICTIM_STATUS_PRESUMED = претпоставена жртва
code-VictimStatus-VICTIM_STATUS_IDENTIFIED = идентификувана жртва
code-ExploitationType-EXPLOITATION_TYPE_SEXUAL = сексуална експлоатација
code-ExploitationType-EXPLOITATION_TYPE_LABOUR = трудова експлоатација
code-ExploitationType-EXPLOITATION_TYPE_FORCED_BEGGING = принудно питачење
code-ExploitationType-EXPLOITATION_TYPE_FORCED_CRIMINALITY = принудно вршење кривични дела
code-ExploitationType-EXPLOITATION_TYPE_FORCED_MARRIAGE = принуден брак
code-ExploitationType-EXPLOITATION_TYPE_DOMESTIC_SERVITUDE = принудна работа во домаќинство
code-ExploitationType-EXPLOITATION_TYPE_ORGAN_REMOVAL = отстранување органи
code-ExploitationType-EXPLOITATION_TYPE_ILLEGAL_ADOPTION = незаконско посвојување
code-ExploitationType-EXPLOITATION_TYPE_OTHER = друг облик на експлоатација
code-Need-NEED_SHELTER = засолниште
code-Need-NEED_MEDICAL = здравствена заштита
code-Need-NEED_PSYCHOSOCIAL = психосоцијална поддршка
code-Need-NEED_LEGAL_AID = правна помош
code-Need-NEED_DOCUMENTS = лични или патни исправи
code-Need-NEED_INTERPRETATION = толкување
code-Need-NEED_RETURN = потпомогнато враќање
code-Need-NEED_COMPENSATION_CLAIM = барање за надомест на штета
code-Need-NEED_FAMILY_ASSESSMENT = процена на семејството
code-RiskLevel-RISK_LEVEL_LOW = низок
code-RiskLevel-RISK_LEVEL_MEDIUM = среден
code-RiskLevel-RISK_LEVEL_HIGH = висок
code-Sex-SEX_FEMALE = женски
code-Sex-SEX_MALE = машки
code-Sex-SEX_OTHER = друго
code-HandlingCode-HANDLING_CODE_H0 = H0: да се користи само за наведената цел
code-HandlingCode-HANDLING_CODE_H1 = H1: да не се користи во судска постапка без дозвола од давателот
code-HandlingCode-HANDLING_CODE_H2 = H2: да не се проследува без дозвола од давателот
code-HandlingCode-HANDLING_CODE_H3 = H3: други ограничувања, наведени со него
code-ReferralResponse-Decision-DECISION_ACCEPTED = прифатено
code-ReferralResponse-Decision-DECISION_DECLINED = одбиено
code-ReferralResponse-Decision-DECISION_NEEDS_INFORMATION = потребни се повеќе податоци
code-CaseOutcome-CASE_OUTCOME_INTEGRATED_IN_DESTINATION = интеграција во земјата на одредиште
code-CaseOutcome-CASE_OUTCOME_REINTEGRATED_IN_ORIGIN = реинтеграција во земјата на потекло
code-CaseOutcome-CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY = преселување во трета земја
code-CaseOutcome-CASE_OUTCOME_CONTACT_LOST = изгубен контакт
code-InvestigationPurpose-INVESTIGATION_PURPOSE_PRELIMINARY = претходна истрага
code-InvestigationPurpose-INVESTIGATION_PURPOSE_CRIMINAL = кривична истрага
code-InformationCategory-INFORMATION_CATEGORY_VICTIM = жртвата
code-InformationCategory-INFORMATION_CATEGORY_PERPETRATOR = сторителот
code-SourceReliability-SOURCE_RELIABILITY_A = A: нема сомнеж во автентичноста, доверливоста и стручноста
code-SourceReliability-SOURCE_RELIABILITY_B = B: во повеќето случаи се покажал како доверлив
code-SourceReliability-SOURCE_RELIABILITY_C = C: во повеќето случаи се покажал како недоверлив
code-SourceReliability-SOURCE_RELIABILITY_X = X: доверливоста не може да се процени
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_CONSENT = нема согласност
code-InfoRefusalReason-INFO_REFUSAL_REASON_NO_LEGAL_BASIS = нема правна основа
code-InfoRefusalReason-INFO_REFUSAL_REASON_OTHER = друга причина, образложена
code-InfoResponse-accuracy-1 = 1: точноста не е доведена во прашање
code-InfoResponse-accuracy-2 = 2: лично позната на изворот, но не и на службеникот што ја проследува
code-InfoResponse-accuracy-3 = 3: не е лично позната на изворот, потврдена со податоци што веќе постојат
code-InfoResponse-accuracy-4 = 4: не е лично позната на изворот и не може да се потврди
code-Referral-indicators-deceptive-recruitment = измамничко врбување
code-Referral-indicators-debt-bondage = должничко ропство
code-Referral-indicators-document-retention = задржани лични или патни документи
code-Referral-indicators-restricted-movement = ограничена слобода на движење
code-Referral-indicators-isolation = изолација од семејството и другите
code-Referral-indicators-physical-or-sexual-violence = физичко или сексуално насилство
code-Referral-indicators-threats = закани кон лицето или неговото семејство
code-Referral-indicators-threat-of-denunciation = закана со пријавување кај властите
code-Referral-indicators-withheld-wages = задржана или неисплатена плата
code-Referral-indicators-excessive-hours = прекумерно работно време
code-Referral-indicators-degrading-conditions = понижувачки услови за живот или работа
code-Referral-indicators-abuse-of-vulnerability = злоупотреба на ранлива положба
code-unknown = код { $n }, непознат за оваа верзија

## Message kinds (lower case: the view capitalises a title)

kind-referral = упатување
kind-referral_response = одговор на упатување
kind-information_supplied = доставени податоци за упатување
kind-case_update = ажурирање на случајот
kind-info_request = барање за информации
kind-info_response = одговор на барање за информации
kind-return_request = барање за помош при враќање
kind-return_confirmation = потврда за враќање
kind-follow_up = следење по враќањето
kind-consent_withdrawal = повлекување на согласноста
kind-witness_request = барање за заверка на дневникот на предавања

## Counts

unit-byte =
    { $n ->
        [one] { $n } бајт
       *[other] { $n } бајти
    }
unit-day =
    { $n ->
        [one] { $n } ден
       *[other] { $n } дена
    }
unit-hour =
    { $n ->
        [one] { $n } час
       *[other] { $n } часа
    }
unit-month =
    { $n ->
        [one] { $n } месец
       *[other] { $n } месеци
    }
unit-year =
    { $n ->
        [one] { $n } година
       *[other] { $n } години
    }

## Priorities

priority-routine = редовен
priority-urgent = итен
priority-immediate = неодложен
priority-meaning = { $priority }: на упатувањето се одговара во рок од { $span }

## The header of a message

header-kind = Вид
header-priority = Приоритет
header-from = Од
header-to = До
header-created = Запечатено
header-case_ref = Случај
header-message_id = ИД на пораката
header-handling_notice = Постапување

## What a handling code asks of the reader

notice-H0 = H0: да се користи само за целта за која е доставено
notice-H1 = H1: НЕ Е ЗА СУДСКА УПОТРЕБА: да не се користи во судска постапка без дозвола од { $provider }
notice-H2 = H2: да не се проследува без дозвола од { $provider }; овој јазол одбива да го испрати до друга организација
notice-H3 = H3: { $restrictions }

## Case items, their states, and the steps of a sent message's evidence

item-referral = упатување
item-information_request = барање за информации
item-return = враќање
state-sent = испратено
state-delivered =
    { $direction ->
        [outgoing] доставено до партнерот
       *[incoming] примено, сè уште без одговор
    }
state-rejected = отфрлено
state-accepted =
    { $direction ->
        [outgoing] прифатено од партнерот
       *[incoming] прифатено од вас
    }
state-declined =
    { $direction ->
        [outgoing] одбиено од партнерот
       *[incoming] одбиено од вас
    }
state-needs_information =
    { $direction ->
        [outgoing] на партнерот му требаат повеќе податоци
       *[incoming] побаравте повеќе податоци
    }
state-information_supplied = податоците се доставени
state-closed = затворено
state-open = отворено
state-answered = одговорено
state-refused = одбиено
state-requested = побарано
state-confirmed = потврдено
state-travelled = патувањето е извршено
state-followed_up = следено
step-submitted = запечатено
step-accepted = зачувано кај брокерот
step-relayed = проследено
step-delivered = доставено
step-rejected = отфрлено
step-expired = истечено
step-answered = одговорено
step-unknown = непознато

## Other words

bool-yes = да
bool-no = не
language-not-stated = јазикот не е наведен
