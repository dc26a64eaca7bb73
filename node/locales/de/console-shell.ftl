# Der Rahmen der Konsole: Navigation, Anmeldung, Abmeldung, Sitzung, Einstellungen.

# Datum und Uhrzeit: jiff-strftime-Muster, in der Zeitzone des Kontos.
shell-date-format = %d.%m.%Y %H:%M %Z
shell-day-format = %d.%m.%Y
shell-skip = Zum Inhalt springen
shell-nav-label = Hauptmenü
shell-nav-inbox = Eingang
shell-nav-cases = Fälle
shell-nav-compose = Neue Zuweisung
shell-nav-directory = Verzeichnis
shell-nav-coordinator = Prüfung
shell-nav-admin = Verwaltung
shell-nav-settings = Meine Einstellungen
shell-sign-out = Abmelden
shell-session-warning = Ihre Sitzung endet in 2 Minuten, weil nichts getan wurde. Nicht gespeicherte Eingaben gehen verloren.
shell-stay-signed-in = Angemeldet bleiben

shell-sign-in-title = Anmelden
shell-sign-in = Anmelden
shell-name = Name
shell-password = Passwort
shell-language = Sprache
shell-error-credentials = Name oder Passwort ist falsch.
shell-error-code = Falscher oder bereits verwendeter Code. Versuchen Sie den nächsten Code aus Ihrer App.
shell-error-locked = Zu viele falsche Versuche: Dieses Konto ist bis { $until } gesperrt. Wenden Sie sich an Ihre Administration, wenn Sie es früher brauchen.
shell-code-title = Ihr Einmalcode
shell-code = Einmalcode
shell-code-hint = Die 6 Ziffern, die Ihre Authenticator-App gerade anzeigt.
shell-start-again = Neu beginnen mit Name und Passwort

shell-signed-out-title = Abgemeldet
shell-signed-out-text = Sie sind abgemeldet. Schließen Sie den Browser, wenn dies ein gemeinsam genutzter Computer ist.
shell-signed-out-idle = Sie wurden abgemeldet, weil eine Zeit lang nichts getan wurde.
shell-signed-out-expired = Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.
shell-signed-out-password = Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen an.
shell-sign-in-again = Erneut anmelden

shell-settings-title = Meine Einstellungen
shell-settings-preferences = Sprache und Zeitzone
shell-settings-language = Sprache
shell-settings-language-default = Wie mein Browser es angibt
shell-settings-time-zone = Zeitzone
shell-settings-time-zone-hint = Ein Name wie Europe/Vienna oder Europe/Belgrade. Leer: UTC.
shell-settings-save = Speichern
shell-settings-saved = Gespeichert.
shell-settings-bad-language = Diese Sprache wird nicht angeboten.
shell-settings-bad-time-zone = Diese Zeitzone ist nicht bekannt. Verwenden Sie einen Namen wie Europe/Vienna.
shell-settings-password = Passwort
shell-settings-current-password = Aktuelles Passwort
shell-settings-new-password = Neues Passwort
shell-settings-new-password-again = Neues Passwort wiederholen
shell-settings-password-hint = Mindestens 12 Zeichen.
shell-settings-change-password = Passwort ändern
shell-settings-wrong-password = Das aktuelle Passwort ist falsch.
shell-settings-passwords-differ = Die beiden neuen Passwörter stimmen nicht überein.
shell-settings-password-refused = Dieses Passwort wird nicht angenommen: { $reason }
shell-settings-totp = Zweiter Faktor (Einmalcodes)
shell-settings-totp-on = Ein zweiter Faktor ist eingeschaltet: Bei der Anmeldung wird ein Code aus Ihrer App abgefragt.
shell-settings-totp-off = Kein zweiter Faktor eingerichtet. Mit einem fragt die Anmeldung zusätzlich nach einem Code aus einer Authenticator-App.
shell-settings-totp-begin = Zweiten Faktor einrichten
shell-settings-totp-secret = Geben Sie diesen Schlüssel in Ihre Authenticator-App ein (oder öffnen Sie den Link auf Ihrem Telefon) und tippen Sie dann den angezeigten Code ein.
shell-settings-totp-link = Link für eine Authenticator-App
shell-settings-totp-confirm = Einschalten
shell-settings-totp-remove = Zweiten Faktor ausschalten
shell-settings-totp-wrong = Falscher Code: Der zweite Faktor ist nicht eingeschaltet. Versuchen Sie es mit dem Code, den die App gerade anzeigt.
shell-settings-totp-done = Der zweite Faktor ist eingeschaltet.
shell-settings-totp-removed = Der zweite Faktor ist ausgeschaltet.
