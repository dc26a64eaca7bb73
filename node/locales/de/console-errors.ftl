# Fehlerseiten.
error-home = Zur Startseite
error-detail = Meldung des Knotens:
error-forbidden-title = Nicht erlaubt
error-forbidden-text = Ihr Konto darf diese Seite nicht öffnen oder dies nicht tun. Wenden Sie sich an Ihre Administration, wenn Sie es brauchen.
error-csrf-title = Formular abgelehnt
error-csrf-text = Dieses Formular konnte nicht angenommen werden: Es ist abgelaufen oder kam nicht von dieser Konsole. Nichts wurde geändert. Gehen Sie zurück, laden Sie die Seite neu und senden Sie es erneut.
error-not-found-title = Seite nicht gefunden
error-not-found-text = Unter dieser Adresse gibt es nichts.
error-bad-request-title = Anfrage nicht verstanden
error-bad-request-text = Die Anfrage konnte nicht verstanden werden. Nichts wurde geändert.
error-unavailable-title = Zurzeit nicht verfügbar
error-unavailable-text = Der Knoten kann gerade nicht antworten (sein Speicher ist ausgelastet oder voll). Nichts wurde geändert. Versuchen Sie es später erneut und informieren Sie Ihre Administration, wenn es anhält.
error-internal-title = Etwas ist schiefgegangen
error-internal-text = Im Knoten ist etwas schiefgegangen. Nichts wurde geändert. Informieren Sie Ihre Administration.
