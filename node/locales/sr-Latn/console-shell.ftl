# Okvir konzole: navigacija, prijava, odjava, sesija, podešavanja.

# Datum i vreme: jiff strftime obrazac, u vremenskoj zoni naloga.
shell-date-format = %d. %m. %Y. %H:%M %Z
shell-day-format = %d. %m. %Y.
shell-skip = Preskoči na sadržaj
shell-nav-label = Glavni meni
shell-nav-inbox = Prijemno sanduče
shell-nav-cases = Slučajevi
shell-nav-compose = Novo upućivanje
shell-nav-directory = Imenik
shell-nav-coordinator = Revizija
shell-nav-admin = Administracija
shell-nav-settings = Moja podešavanja
shell-sign-out = Odjavi se
shell-session-warning = Vaša sesija ističe za 2 minuta jer ništa nije urađeno. Nesačuvani unos biće izgubljen.
shell-stay-signed-in = Ostani prijavljen

shell-sign-in-title = Prijava
shell-sign-in = Prijavi se
shell-name = Ime
shell-password = Lozinka
shell-language = Jezik
shell-error-credentials = Pogrešno ime ili lozinka.
shell-error-code = Pogrešan ili već iskorišćen kod. Pokušajte sa sledećim kodom iz aplikacije.
shell-error-locked = Previše pogrešnih pokušaja: ovaj nalog je zaključan do { $until }. Obratite se administratoru ako vam treba ranije.
shell-code-title = Vaš jednokratni kod
shell-code = Jednokratni kod
shell-code-hint = 6 cifara koje vaša aplikacija za autentifikaciju sada prikazuje.
shell-start-again = Počnite ponovo sa imenom i lozinkom

shell-signed-out-title = Odjavljeni ste
shell-signed-out-text = Odjavljeni ste. Zatvorite pregledač ako je ovo zajednički računar.
shell-signed-out-idle = Odjavljeni ste jer neko vreme ništa nije urađeno.
shell-signed-out-expired = Vaša sesija je istekla. Molimo prijavite se ponovo.
shell-signed-out-password = Vaša lozinka je promenjena. Prijavite se novom lozinkom.
shell-sign-in-again = Prijavite se ponovo

shell-settings-title = Moja podešavanja
shell-settings-preferences = Jezik i vremenska zona
shell-settings-language = Jezik
shell-settings-language-default = Kako kaže moj pregledač
shell-settings-time-zone = Vremenska zona
shell-settings-time-zone-hint = Naziv kao Europe/Vienna ili Europe/Belgrade. Prazno: UTC.
shell-settings-save = Sačuvaj
shell-settings-saved = Sačuvano.
shell-settings-bad-language = Ovaj jezik nije ponuđen.
shell-settings-bad-time-zone = Ova vremenska zona nije poznata. Koristite naziv kao Europe/Vienna.
shell-settings-password = Lozinka
shell-settings-current-password = Trenutna lozinka
shell-settings-new-password = Nova lozinka
shell-settings-new-password-again = Ponovite novu lozinku
shell-settings-password-hint = Najmanje 12 znakova.
shell-settings-change-password = Promeni lozinku
shell-settings-wrong-password = Trenutna lozinka nije tačna.
shell-settings-passwords-differ = Dve nove lozinke nisu iste.
shell-settings-password-refused = Ova lozinka nije prihvaćena: { $reason }
shell-settings-totp = Drugi faktor (jednokratni kodovi)
shell-settings-totp-on = Drugi faktor je uključen: prijava traži kod iz vaše aplikacije.
shell-settings-totp-off = Drugi faktor nije podešen. Sa njim prijava traži i kod iz aplikacije za autentifikaciju.
shell-settings-totp-begin = Podesi drugi faktor
shell-settings-totp-secret = Unesite ovaj ključ u aplikaciju za autentifikaciju (ili otvorite vezu na telefonu), pa upišite kod koji ona prikazuje.
shell-settings-totp-link = Veza za aplikaciju za autentifikaciju
shell-settings-totp-confirm = Uključi
shell-settings-totp-remove = Isključi drugi faktor
shell-settings-totp-wrong = Pogrešan kod: drugi faktor nije uključen. Pokušajte ponovo sa kodom koji aplikacija sada prikazuje.
shell-settings-totp-done = Drugi faktor je uključen.
shell-settings-totp-removed = Drugi faktor je isključen.
