# Korniza e konsolës: navigimi, hyrja, dalja, seanca, cilësimet.

# Data dhe ora: model jiff strftime, në zonën kohore të llogarisë.
shell-date-format = %d.%m.%Y %H:%M %Z
shell-day-format = %d.%m.%Y
shell-skip = Kalo te përmbajtja
shell-nav-label = Menyja kryesore
shell-nav-inbox = Kutia hyrëse
shell-nav-cases = Rastet
shell-nav-compose = Referim i ri
shell-nav-directory = Drejtoria
shell-nav-coordinator = Auditimi
shell-nav-admin = Administrimi
shell-nav-settings = Cilësimet e mia
shell-sign-out = Dil
shell-session-warning = Seanca juaj mbaron pas 2 minutash, sepse nuk u bë asgjë. Të dhënat e paruajtura do të humbasin.
shell-stay-signed-in = Qëndro i identifikuar

shell-sign-in-title = Hyrja
shell-sign-in = Hyr
shell-name = Emri
shell-password = Fjalëkalimi
shell-language = Gjuha
shell-error-credentials = Emër ose fjalëkalim i gabuar.
shell-error-code = Kod i gabuar ose i përdorur tashmë. Provoni kodin e radhës nga aplikacioni juaj.
shell-error-locked = Shumë përpjekje të gabuara: kjo llogari është e bllokuar deri më { $until }. Pyesni administratorin nëse ju duhet më herët.
shell-code-title = Kodi juaj njëpërdorimësh
shell-code = Kodi njëpërdorimësh
shell-code-hint = 6 shifrat që tregon tani aplikacioni juaj i vërtetimit.
shell-start-again = Filloni përsëri me emrin dhe fjalëkalimin

shell-signed-out-title = Keni dalë
shell-signed-out-text = Keni dalë nga llogaria. Mbyllni shfletuesin nëse ky është kompjuter i përbashkët.
shell-signed-out-idle = U nxorët nga llogaria, sepse për një kohë nuk u bë asgjë.
shell-signed-out-expired = Seanca juaj ka mbaruar. Ju lutemi hyni përsëri.
shell-signed-out-password = Fjalëkalimi juaj u ndryshua. Ju lutemi hyni me fjalëkalimin e ri.
shell-sign-in-again = Hyni përsëri

shell-settings-title = Cilësimet e mia
shell-settings-preferences = Gjuha dhe zona kohore
shell-settings-language = Gjuha
shell-settings-language-default = Siç thotë shfletuesi im
shell-settings-time-zone = Zona kohore
shell-settings-time-zone-hint = Një emër si Europe/Vienna ose Europe/Tirane. Bosh: UTC.
shell-settings-save = Ruaj
shell-settings-saved = U ruajt.
shell-settings-bad-language = Kjo gjuhë nuk ofrohet.
shell-settings-bad-time-zone = Kjo zonë kohore nuk njihet. Përdorni një emër si Europe/Vienna.
shell-settings-password = Fjalëkalimi
shell-settings-current-password = Fjalëkalimi aktual
shell-settings-new-password = Fjalëkalimi i ri
shell-settings-new-password-again = Përsëritni fjalëkalimin e ri
shell-settings-password-hint = Të paktën 12 shenja.
shell-settings-change-password = Ndrysho fjalëkalimin
shell-settings-wrong-password = Fjalëkalimi aktual është i gabuar.
shell-settings-passwords-differ = Dy fjalëkalimet e reja nuk janë të njëjta.
shell-settings-password-refused = Ky fjalëkalim nuk pranohet: { $reason }
shell-settings-totp = Faktori i dytë (kode njëpërdorimëshe)
shell-settings-totp-on = Faktori i dytë është i aktivizuar: hyrja kërkon një kod nga aplikacioni juaj.
shell-settings-totp-off = Nuk është vendosur faktor i dytë. Me të, hyrja kërkon edhe një kod nga një aplikacion vërtetimi.
shell-settings-totp-begin = Vendos faktorin e dytë
shell-settings-totp-secret = Futeni këtë çelës në aplikacionin tuaj të vërtetimit (ose hapni lidhjen në telefon), pastaj shkruani kodin që ai tregon.
shell-settings-totp-link = Lidhje për aplikacionin e vërtetimit
shell-settings-totp-confirm = Aktivizo
shell-settings-totp-remove = Çaktivizo faktorin e dytë
shell-settings-totp-wrong = Kod i gabuar: faktori i dytë nuk u aktivizua. Provoni përsëri me kodin që tregon tani aplikacioni.
shell-settings-totp-done = Faktori i dytë është i aktivizuar.
shell-settings-totp-removed = Faktori i dytë është i çaktivizuar.
