# Faqet e gabimeve.
error-home = Shko te faqja e parë
error-detail = Çfarë tha nyja:
error-forbidden-title = Nuk lejohet
error-forbidden-text = Llogaria juaj nuk mund ta hapë këtë faqe ose ta bëjë këtë. Pyesni administratorin nëse ju duhet.
error-csrf-title = Formulari u refuzua
error-csrf-text = Ky formular nuk mund të pranohej: ka skaduar ose nuk erdhi nga kjo konsolë. Asgjë nuk u ndryshua. Kthehuni, ringarkoni faqen dhe dërgojeni përsëri.
error-not-found-title = Faqja nuk u gjet
error-not-found-text = Në këtë adresë nuk ka asgjë.
error-bad-request-title = Kërkesa nuk u kuptua
error-bad-request-text = Kërkesa nuk mund të kuptohej. Asgjë nuk u ndryshua.
error-unavailable-title = Jo e disponueshme tani
error-unavailable-text = Nyja nuk mund të përgjigjet tani (hapësira e saj e ruajtjes është e zënë ose plot). Asgjë nuk u ndryshua. Provoni më vonë dhe njoftoni administratorin nëse vazhdon.
error-internal-title = Diçka shkoi keq
error-internal-text = Diçka shkoi keq brenda nyjës. Asgjë nuk u ndryshua. Njoftoni administratorin.
