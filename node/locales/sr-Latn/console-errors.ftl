# Stranice sa greškama.
error-home = Idi na početnu stranicu
error-detail = Poruka čvora:
error-forbidden-title = Nije dozvoljeno
error-forbidden-text = Vaš nalog ne sme da otvori ovu stranicu niti da uradi ovo. Obratite se administratoru ako vam je potrebno.
error-csrf-title = Obrazac odbijen
error-csrf-text = Ovaj obrazac nije mogao biti prihvaćen: istekao je ili nije došao iz ove konzole. Ništa nije promenjeno. Vratite se, ponovo učitajte stranicu i pošaljite ga ponovo.
error-not-found-title = Stranica nije pronađena
error-not-found-text = Na ovoj adresi nema ničega.
error-bad-request-title = Zahtev nije razumljiv
error-bad-request-text = Zahtev nije mogao biti razumljen. Ništa nije promenjeno.
error-unavailable-title = Trenutno nije dostupno
error-unavailable-text = Čvor trenutno ne može da odgovori (skladište mu je zauzeto ili puno). Ništa nije promenjeno. Pokušajte kasnije i javite administratoru ako se ponavlja.
error-internal-title = Nešto nije u redu
error-internal-text = Nešto nije u redu unutar čvora. Ništa nije promenjeno. Javite administratoru.
