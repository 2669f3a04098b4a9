"""What corporate legal notices under a mail say, by language.

Pattern text (regular-expression alternatives, matched case-insensitively against a paragraph
as a reader sees it) for handler.inbound.trim, which compiles it and decides where a notice
may stand: only in the paragraphs that end the author's text.
"""

from __future__ import annotations

# A notice's heading, a paragraph of its own ("Disclaimer", "CONFIDENTIALITY NOTICE") or the
# words its first sentence opens with.
HEADINGS = (
    r"disclaimer|legal disclaimer|legal notice|confidentiality notice|confidentiality statement|"
    r"confidential notice|important notice|email disclaimer|e-mail disclaimer|"
    r"haftungsausschluss|rechtlicher hinweis|rechtliche hinweise|vertraulichkeitshinweis|"
    r"avis de confidentialité|avis juridique|avertissement|clause de confidentialité|"
    r"aviso legal|aviso de confidencialidad|cláusula de confidencialidad|"
    r"avviso di riservatezza|avviso legale|nota di riservatezza|"
    r"vertrouwelijkheidsverklaring|vertrouwelijkheid|aviso de confidencialidade"
)
# How a notice's first sentence opens: "CONFIDENTIALITY NOTICE: ...", "This e-mail and any
# attachments are confidential ...", "The information contained in this message is intended
# only for ...", "Diese E-Mail enthält vertrauliche ...", "Ce message et toutes les pièces jointes
# sont confidentiels ...", "Este mensaje y sus anexos son confidenciales ...".
OPENERS = (
    r"confidentiality notice|confidential(?:ity)? (?:notice|statement|disclaimer)|"
    r"privileged (?:and|&) confidential|private (?:and|&) confidential|"
    r"this (?:e-?mail|message|communication|transmission|electronic mail)\b[^.]{0,120}?"
    r"\b(?:confidential|privileged|proprietary|intended (?:solely|only|exclusively))|"
    r"the information (?:contained |transmitted |included )?in this "
    r"(?:e-?mail|message|communication|transmission)|"
    r"this (?:e-?mail|message) has been (?:scanned|checked) (?:for|by)|"
    r"(?:diese|die) (?:e-?mail|nachricht)\b[^.]{0,120}?\bvertraulich|"
    r"die (?:in )?(?:dieser|der) (?:e-?mail|nachricht) enthaltenen informationen|"
    r"(?:ce|le présent) (?:message|courriel|e-?mail)\b[^.]{0,120}?\bconfidentiel|"
    r"les informations contenues dans (?:ce|le présent) (?:message|courriel|e-?mail)|"
    r"(?:este|el presente) (?:mensaje|correo(?: electrónico)?)\b[^.]{0,120}?\bconfidencial|"
    r"la información contenida en (?:este|el presente) (?:mensaje|correo)|"
    r"(?:questo|il presente) (?:messaggio|e-?mail)\b[^.]{0,120}?\b(?:riservat|confidenzial)|"
    r"le informazioni contenute (?:in questo|nel presente) (?:messaggio|e-?mail)|"
    r"(?:dit|deze) (?:e-?mail|e-?mailbericht|bericht)\b[^.]{0,120}?"
    r"\b(?:vertrouwelijk|uitsluitend bestemd)|"
    r"de informatie (?:verzonden )?in (?:dit|deze) (?:e-?mail|e-?mailbericht|bericht)|"
    r"(?:esta|a presente) (?:mensagem|e-?mail)\b[^.]{0,120}?\bconfidencia|"
    r"as informações contidas (?:nesta|neste) (?:mensagem|e-?mail)"
)
# Legal phrases no author ends a bug report with, anywhere in a paragraph.
PHRASES = (
    r"intended recipient|intended solely for|intended exclusively for|"
    r"intended only for the (?:use|person|addressee|individual)|"
    r"received this (?:e-?mail|message|communication|transmission) in error|"
    r"confidential and(?:/or)? privileged|privileged and(?:/or)? confidential|"
    r"nicht der (?:richtige|beabsichtigte|vorgesehene) (?:adressat|empfänger)|"
    r"irrtümlich erhalten|unbefugte weitergabe|"
    r"reçu ce (?:message|courriel|e-?mail) par erreur|à l'intention exclusive|"
    r"recibido este (?:mensaje|correo)[^.]{0,40}?por error|uso exclusivo del destinatario|"
    r"ricevuto (?:il presente|questo) (?:messaggio|e-?mail)[^.]{0,40}?per errore|"
    r"uitsluitend bestemd voor de geadresseerde|niet de geadresseerde|"
    r"per vergissing ontvangen|ten onrechte ontvangen|"
    r"recebeu esta mensagem por (?:engano|erro)|uso exclusivo do destinatário"
)
